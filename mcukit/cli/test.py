"""`mcukit test [CONFIG]`: run the models of mcukit.toml on boards, check budgets, write JUnit XML for CI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mcukit.errors import McukitError


class ChecksFailed(McukitError):
    """At least one budget check failed (exit status 1)."""

    exit_code = 1


class ChecksErrored(McukitError):
    """At least one case could not be run: build failure, unreachable or hung board (exit status 2)."""

    exit_code = 2


@click.command("test")
@click.argument("config", required=False, type=click.Path(path_type=Path))
@click.option("--junit", "junit_path", type=click.Path(path_type=Path), default=None,
              help="Write a JUnit XML report here (one testcase per model x board x check).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="Write every case's checks and results as JSON here ('-' prints it).")
@click.option("-b", "--board", "boards", multiple=True,
              help="Run on this board instead of the config's boards (repeatable).")
@click.option("--port", default=None,
              help="Serial port of the real board: a path, usb:VVVV:PPPP, serial:NUMBER or socket://HOST:PORT.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run this many model x board cases at once (emulated boards scale with cores).")
@click.option("--update-baseline", is_flag=True,
              help="Record this run's latency and sizes as the baseline for max_regression_pct.")
@click.option("--results-dir", type=click.Path(path_type=Path), default=None,
              help="Keep each case's results JSON here (default: discarded after the run).")
@click.option("--quiet", is_flag=True, help="Only the final table.")
def test(config: Path | None, junit_path: Path | None, json_path: Path | None, boards: tuple[str, ...],
         port: str | None, jobs: int, update_baseline: bool, results_dir: Path | None, quiet: bool) -> None:
    """Run every model of CONFIG on its boards and check its budgets: flash, RAM, arena, latency, energy,
    bit-exactness or accuracy, and regressions against a stored baseline.

    CONFIG defaults to ./mcukit.toml, then ./pyproject.toml ([tool.mcukit]). See docs/ci.md.

    \b
    Examples:
      mcukit test --board qemu-m4 --junit report.xml      # emulated board, any CI runner
      mcukit test --board nano33 --port usb:2341:805a     # a real board on a self-hosted runner
      mcukit test --update-baseline                       # accept this run as the regression baseline

    Exit status: 0 every check passed, 1 a check failed, 2 a case could not be run (configuration, build,
    unreachable or hung board)."""
    from rich.console import Console

    from mcukit.hil import RunOptions, load_config, run_tests, write_junit
    from mcukit.hil.report import case_line, notes, summary_table

    to_stdout = json_path is not None and str(json_path) == "-"
    stream = sys.stderr if to_stdout else sys.stdout
    # CI logs are not terminals: rich would wrap the table at 80 columns.
    out = Console(file=stream, width=None if stream.isatty() else 160)
    cfg = load_config(config)

    def on_case(outcome) -> None:
        if not quiet:
            out.print(case_line(outcome))

    report = run_tests(cfg, RunOptions(boards=boards, port=port, jobs=jobs, update_baseline=update_baseline,
                                       results_dir=results_dir, on_case=on_case))
    if junit_path is not None:
        write_junit(junit_path, report.junit_suites())
    if json_path is not None:
        text = json.dumps(report.as_json(), indent=2, default=str)
        if to_stdout:
            click.echo(text)
        else:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(text + "\n", encoding="utf-8")
    out.print(summary_table(report))
    for line in notes(report):
        out.print(line)
    if report.baseline_updated:
        out.print(f"baseline written to {report.baseline}")
    code = report.exit_code
    if code == 2:
        errors = [o for o in report.outcomes if o.error]
        first = errors[0].error if errors else next(c.message for c in report.checks if c.verdict == "error")
        raise ChecksErrored(f"{len(errors) or report.count('error')} case(s) could not be run; first: {first}",
                            "see the table above; configuration and environment problems exit with status 2")
    if code == 1:
        failed = [c for c in report.checks if c.verdict == "fail"]
        raise ChecksFailed(f"{len(failed)} check(s) failed: " + "; ".join(f"{c.case} {c.message}" for c in failed[:3]),
                           "tighten the model, or relax the budget in mcukit.toml if the change is intended")
