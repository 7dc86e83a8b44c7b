"""The runner's control flow with a fake pipeline: verdicts, retries, hung boards, exit codes, JUnit and baseline.

The fake stands in for `deploy` only where a real board cannot be made to misbehave on demand (a flaky first
handshake, a board that never answers); tests/target/test_hil_cli.py runs the same paths with the real pipeline
on emulated boards.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mcukit.device.errors import DeviceTimeout
from mcukit.errors import CompileError
from mcukit.hil import RunOptions, junit_xml, load_baseline, load_config, run_tests

RESULTS = {
    "model": {"sha256": "ab"},
    "memory": {"flash_bytes": 10_000, "ram_bytes": 4_000, "arena_bytes": 600},
    "latency": {"unit": "instructions", "median": 50_000.0, "ms": None},
    "validation": {"bit_exact": True, "samples": 4, "mismatches": 0, "elements": 40, "reference": "tflm"},
}


def config(tmp_path: Path, extra: str = "", boards: str = '["qemu-m4"]') -> Path:
    (tmp_path / "m.tflite").write_bytes(b"fake")
    (tmp_path / "mcukit.toml").write_text(f"""
boards = {boards}
retries = 2
timeout = 2
[[model]]
path = "m.tflite"
[model.budgets]
max_flash_bytes = 12_000
max_latency = "60_000 instructions"
max_energy_uj = 1.0
max_regression_pct = 5
{extra}
""", encoding="utf-8")
    return tmp_path / "mcukit.toml"


class FakeDeploy:
    """Returns RESULTS (optionally changed), after raising the queued errors one per call."""

    def __init__(self, errors: list[Exception] | None = None, results: dict | None = None,
                 block: threading.Event | None = None) -> None:
        self.errors = list(errors or [])
        self.results = results or RESULTS
        self.calls = 0
        self.block = block

    def __call__(self, model_path, opts) -> dict:
        self.calls += 1
        if self.block is not None:
            self.block.wait()
        if self.errors:
            raise self.errors.pop(0)
        return self.results


def run(cfg_path: Path, fake: FakeDeploy, **kw):
    return run_tests(load_config(cfg_path), RunOptions(deploy_fn=fake, **kw))


def verdicts(report) -> dict[str, str]:
    return {c.check: c.verdict for c in report.checks}


def test_passing_case_and_energy_not_measured_is_skipped(tmp_path: Path) -> None:
    report = run(config(tmp_path), FakeDeploy())
    assert verdicts(report) == {"flash": "pass", "latency": "pass", "energy": "skipped", "bit_exact": "pass",
                                "regression_latency": "skipped", "regression_flash": "skipped",
                                "regression_ram": "skipped"}
    assert report.exit_code == 0


def test_energy_from_estimated_cycles_is_checked(tmp_path: Path) -> None:
    results = {**RESULTS, "latency": {**RESULTS["latency"], "estimated_cycles": {"total": 1e9}}}
    report = run(config(tmp_path), FakeDeploy(results=results))
    energy = next(c for c in report.checks if c.check == "energy")
    assert energy.verdict == "fail" and "modeled" in energy.measured  # 1e9 cycles are far more than 1 uJ
    assert report.exit_code == 1


def test_failed_budget_gives_measured_and_allowed(tmp_path: Path) -> None:
    results = {**RESULTS, "memory": {**RESULTS["memory"], "flash_bytes": 12_345}}
    report = run(config(tmp_path), FakeDeploy(results=results))
    flash = next(c for c in report.checks if c.check == "flash")
    assert flash.verdict == "fail" and "12,345 bytes" in flash.message and "12,000 bytes" in flash.message
    assert report.exit_code == 1
    root = ET.fromstring(junit_xml(report.junit_suites()))
    (failure,) = root.iter("failure")
    assert "12,345" in failure.get("message", "") and root.get("failures") == "1"


def test_flaky_handshake_is_retried(tmp_path: Path) -> None:
    fake = FakeDeploy(errors=[DeviceTimeout("no answer to HELLO", "retry")])
    report = run(config(tmp_path), fake)
    assert fake.calls == 2 and report.outcomes[0].attempts == 2 and report.exit_code == 0


def test_retries_are_bounded_and_end_in_error(tmp_path: Path) -> None:
    fake = FakeDeploy(errors=[DeviceTimeout("no answer", "x") for _ in range(10)])
    report = run(config(tmp_path), fake)
    assert fake.calls == 3  # 1 + retries
    assert set(verdicts(report).values()) == {"error"} and report.exit_code == 2
    assert "after 3 attempts" in (report.outcomes[0].error or "")


def test_build_failure_is_an_error_without_retry(tmp_path: Path) -> None:
    fake = FakeDeploy(errors=[CompileError("building failed: x.c:1: error: boom", "fix it")])
    report = run(config(tmp_path), fake)
    assert fake.calls == 1 and report.exit_code == 2
    root = ET.fromstring(junit_xml(report.junit_suites()))
    assert root.get("errors") == str(len(report.checks)) and "boom" in next(root.iter("error")).get("message", "")


def test_hung_board_is_an_error_within_the_timeout(tmp_path: Path) -> None:
    never = threading.Event()
    start = time.monotonic()
    report = run(config(tmp_path), FakeDeploy(block=never))
    assert time.monotonic() - start < 10
    assert report.exit_code == 2 and "did not finish within 2 s" in (report.outcomes[0].error or "")
    never.set()


def test_jobs_run_cases_concurrently(tmp_path: Path) -> None:
    """Two cases that each wait for the other can only finish if they run at the same time."""
    barrier = threading.Barrier(2, timeout=5)

    def meet(model_path, opts) -> dict:
        barrier.wait()
        return RESULTS

    cfg = config(tmp_path, boards='["qemu-m4", "qemu-m7"]')
    report = run_tests(load_config(cfg), RunOptions(deploy_fn=meet, jobs=2))
    assert report.exit_code == 0 and len(report.outcomes) == 2


def test_baseline_update_then_regression(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    report = run(cfg, FakeDeploy(), update_baseline=True)
    assert report.baseline_updated and "regression_latency" in verdicts(report)
    assert load_baseline(tmp_path / "mcukit-baseline.json")["m@qemu-m4"]["latency"]["median"] == 50_000.0
    slower = {**RESULTS, "latency": {**RESULTS["latency"], "median": 53_000.0}}  # +6 % > 5 %
    report = run(cfg, FakeDeploy(results=slower))
    v = verdicts(report)
    assert v["regression_latency"] == "fail" and v["regression_flash"] == "pass" and report.exit_code == 1
    msg = next(c.message for c in report.checks if c.check == "regression_latency")
    assert "53,000" in msg and "50,000" in msg and "+6.0 %" in msg
    within = {**RESULTS, "latency": {**RESULTS["latency"], "median": 52_000.0}}  # +4 %
    assert run(cfg, FakeDeploy(results=within)).exit_code == 0


def test_corrupt_baseline_is_a_usage_error(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    (tmp_path / "mcukit-baseline.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(Exception, match="not readable JSON"):
        run(cfg, FakeDeploy())
