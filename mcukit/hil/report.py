"""Rendering a RunReport for people: one line per finished case, and the final table of every check."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from mcukit.hil.runner import CaseOutcome, RunReport

STYLES = {"pass": "green", "fail": "bold red", "error": "bold magenta", "skipped": "yellow"}
LABELS = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skipped": "SKIP"}


def case_line(o: CaseOutcome) -> Text:
    counts = {v: sum(c.verdict == v for c in o.checks) for v in LABELS}
    verdict = "error" if o.error or counts["error"] else "fail" if counts["fail"] else "pass"
    line = Text()
    line.append(f"{LABELS[verdict]:<5}", style=STYLES[verdict])
    line.append(f" {o.case.key}  ")
    line.append(", ".join(f"{n} {LABELS[v].lower()}" for v, n in counts.items() if n))
    line.append(f"  ({o.seconds:.1f} s" + (f", {o.attempts} attempts)" if o.attempts > 1 else ")"))
    if o.error:
        line.append(f"\n      {o.error}", style="magenta")
    return line


def summary_table(report: RunReport) -> Table:
    title = (f"mcukit test: {report.count('pass')} passed, {report.count('fail')} failed, "
             f"{report.count('error')} errors, {report.count('skipped')} skipped in {report.seconds:.1f} s")
    table = Table(title=title, title_justify="left")
    table.add_column("case", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("measured", justify="right")
    table.add_column("allowed", justify="right")
    table.add_column("verdict")
    for o in report.outcomes:
        for k, c in enumerate(o.checks):
            verdict = Text(LABELS[c.verdict], style=STYLES[c.verdict])
            measured = c.measured or ("not measured" if c.verdict == "skipped" else "-")
            table.add_row(c.case if k == 0 else "", c.check, measured, c.allowed, verdict,
                          end_section=k == len(o.checks) - 1)
    return table


def notes(report: RunReport) -> list[Text]:
    """One line per check that did not pass, saying why (measured vs allowed for failures)."""
    lines = []
    for c in report.checks:
        if c.verdict != "pass" and c.message:
            line = Text(f"{LABELS[c.verdict]:<5} ", style=STYLES[c.verdict])
            line.append(f"{c.case} {c.check}: {c.message.removeprefix(c.check + ': ')}")
            lines.append(line)
    return lines
