"""Run every model x board case of a config through the deploy pipeline and check the budgets.

Each case is one `deploy` (build cached by content, run, compare with the reference) in a worker thread; `jobs`
cases run at once. Emulated boards each get their own QEMU on a free port; builds of one project folder are
serialized by a lock in the pipeline, so concurrent cases (and concurrent `mcukit test` processes sharing a cache)
never build in the same folder at the same time.

Device errors (a flaky first handshake, a board still re-enumerating) are retried up to `retries` times, picking
the port again each time. A board that stops answering makes the device layer time out (invoke/handshake
timeouts); as a last resort a watchdog gives up on a case after `timeout` seconds. Either way the case ends as an
ERROR, never as a pass and never as a hang.
"""

from __future__ import annotations

import json
import logging
import queue
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcukit.errors import DeviceError, McukitError
from mcukit.hil.baseline import load_baseline, save_baseline
from mcukit.hil.checks import CheckResult, check_names, error_results, evaluate
from mcukit.hil.config import Case, HilConfig, make_cases
from mcukit.hil.data import pack_folder
from mcukit.hil.ports import parse_selector, select_port

log = logging.getLogger(__name__)

SCHEMA = "mcukit.test/1"
DeployFn = Callable[[Path, Any], dict]  # (model path, DeployOptions) -> results dict (mcukit.pipeline.deploy)


@dataclass(frozen=True)
class CaseOutcome:
    case: Case
    checks: tuple[CheckResult, ...]
    results: dict[str, Any] | None  # the deploy results (partial after an error), None if nothing was measured
    error: str | None  # why the case could not be completed
    attempts: int
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {"case": self.case.key, "model": self.case.model.name, "board": self.case.board.name,
                "seconds": round(self.seconds, 3), "attempts": self.attempts, "error": self.error,
                "checks": [c.as_json() for c in self.checks], "results": self.results}


@dataclass(frozen=True)
class RunReport:
    config: Path
    outcomes: tuple[CaseOutcome, ...]
    baseline: Path
    baseline_updated: bool = False
    seconds: float = 0.0

    @property
    def checks(self) -> list[CheckResult]:
        return [c for o in self.outcomes for c in o.checks]

    def count(self, verdict: str) -> int:
        return sum(c.verdict == verdict for c in self.checks)

    @property
    def exit_code(self) -> int:
        """2 if anything could not be run (environment, build, board), else 1 if a check failed, else 0."""
        if self.count("error") or any(o.error for o in self.outcomes):
            return 2
        return 1 if self.count("fail") else 0

    def as_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "config": str(self.config), "exit_code": self.exit_code,
                "seconds": round(self.seconds, 3), "baseline": str(self.baseline),
                "baseline_updated": self.baseline_updated,
                "counts": {v: self.count(v) for v in ("pass", "fail", "error", "skipped")},
                "cases": [o.as_json() for o in self.outcomes]}

    def junit_suites(self) -> list[tuple[str, dict[str, str], list[CheckResult], float]]:
        suites = []
        for o in self.outcomes:
            props = {"model": str(o.case.model.path), "board": o.case.board.name, "attempts": str(o.attempts)}
            if o.error:
                props["error"] = o.error
            suites.append((o.case.key, props, list(o.checks), o.seconds))
        return suites


@dataclass
class RunOptions:
    boards: tuple[str, ...] = ()  # --board: replaces the config's boards
    port: str | None = None  # --port: for the real board(s)
    jobs: int = 1
    update_baseline: bool = False
    results_dir: Path | None = None  # per-case results JSON (default: a temporary folder)
    port_wait: float = 10.0  # seconds to wait for a real board's port to appear (re-enumeration)
    on_case: Callable[[CaseOutcome], None] | None = None
    deploy_fn: DeployFn | None = None  # tests pass a fake; default mcukit.pipeline.deploy.deploy


def run_tests(cfg: HilConfig, opts: RunOptions | None = None) -> RunReport:
    """Run all cases; never raises for a case's failure (it becomes an error/failed check). Raises UsageError
    for configuration mistakes found before anything runs."""
    opts = opts or RunOptions()
    start = time.monotonic()
    cases = make_cases(cfg, opts.boards)
    baseline = load_baseline(cfg.baseline)
    with tempfile.TemporaryDirectory(prefix="mcukit-test-") as tmp:
        work = Path(opts.results_dir) if opts.results_dir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        setup_error = _prepare(cases, opts, work)
        runner = _CaseRunner(cfg, opts, baseline, work, setup_error)
        outcomes = runner.run_all(cases)
    updated = False
    if opts.update_baseline:
        fresh = {o.case.key: o.results for o in outcomes if o.results is not None and not o.error}
        if fresh:
            save_baseline(cfg.baseline, fresh)
            updated = True
    return RunReport(cfg.path, tuple(outcomes), cfg.baseline, updated, time.monotonic() - start)


def _prepare(cases: list[Case], opts: RunOptions, work: Path) -> dict[str, str]:
    """Work done once, before cases run concurrently: the PlatformIO core (its first set-up is not safe to run
    twice at once) and each model's conversion (TensorFlow once per model, not once per board and thread).
    Returns model name -> error message for models that cannot be loaded; a broken core errors every case."""
    errors: dict[str, str] = {}
    if opts.deploy_fn is not None:
        return errors  # a fake pipeline needs neither
    from mcukit.build import prepare_core
    from mcukit.pipeline.firmware import load_model

    try:
        prepare_core()
    except McukitError as err:
        return {c.model.name: _text(err) for c in cases}
    seen: set[str] = set()
    for case in cases:
        m = case.model
        if m.name in seen:
            continue
        seen.add(m.name)
        try:
            data = _test_data(case, work)
            calibration = str(m.calibration) if m.calibration else None
            if m.path.suffix.lower() != ".tflite" and calibration is None and len(data) == 1:
                calibration = data[0]  # what deploy calibrates with, so its cache lookup hits
            load_model(m.path, calibration)
        except McukitError as err:
            errors[m.name] = _text(err)
    return errors


def _test_data(case: Case, work: Path) -> tuple[str, ...]:
    paths = case.model.test_data
    if len(paths) == 1 and paths[0].is_dir():
        return (str(pack_folder(paths[0], work / "data")),)
    return tuple(str(p) for p in paths)


def _text(err: McukitError) -> str:
    return f"{err.message} (fix: {err.hint})" if err.hint else err.message


def _retryable(err: McukitError) -> bool:
    from mcukit.device.errors import DeviceReportedError, DeviceVersionMismatch

    return isinstance(err, DeviceError) and not isinstance(err, (DeviceReportedError, DeviceVersionMismatch))


class _CaseRunner:
    def __init__(self, cfg: HilConfig, opts: RunOptions, baseline: dict[str, Any], work: Path,
                 setup_errors: dict[str, str]) -> None:
        self.cfg, self.opts, self.baseline, self.work, self.setup_errors = cfg, opts, baseline, work, setup_errors
        self.lock = threading.Lock()

    def run_all(self, cases: list[Case]) -> list[CaseOutcome]:
        results: list[CaseOutcome | None] = [None] * len(cases)
        todo: queue.Queue[int] = queue.Queue()
        for i in range(len(cases)):
            todo.put(i)

        def supervisor() -> None:
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                outcome = self.run_watched(cases[i])
                results[i] = outcome
                if self.opts.on_case is not None:
                    with self.lock:
                        self.opts.on_case(outcome)

        workers = [threading.Thread(target=supervisor, daemon=True, name=f"mcukit-test-{k}")
                   for k in range(max(1, min(self.opts.jobs, len(cases))))]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return [r for r in results if r is not None]

    def run_watched(self, case: Case) -> CaseOutcome:
        """run_case in its own daemon thread, abandoned (reported as an error) after cfg.timeout seconds."""
        box: list[CaseOutcome] = []
        start = time.monotonic()
        worker = threading.Thread(target=lambda: box.append(self.run_case(case)), daemon=True,
                                  name=f"mcukit-case-{case.key}")
        worker.start()
        worker.join(self.cfg.timeout)
        if box:
            return box[0]
        message = (f"{case.key} did not finish within {self.cfg.timeout:g} s: the board or the build hangs "
                   "(raise `timeout` in mcukit.toml if it is only slow)")
        return CaseOutcome(case, tuple(error_results(case, message)), None, message, 0, time.monotonic() - start)

    def run_case(self, case: Case) -> CaseOutcome:
        start = time.monotonic()
        if case.model.name in self.setup_errors:
            message = self.setup_errors[case.model.name]
            return CaseOutcome(case, tuple(error_results(case, message)), None, message, 0, 0.0)
        from mcukit.pipeline.deploy import DeployOptions

        deploy_fn = self.opts.deploy_fn
        if deploy_fn is None:
            from mcukit.pipeline.deploy import deploy as deploy_fn
        json_path = self.work / f"{case.key}.json"
        attempts = 0
        last: McukitError | None = None
        try:
            data = _test_data(case, self.work)
            port_text = self.opts.port or case.settings.port
            selector = parse_selector(port_text, None if self.opts.port else case.settings.serial_number)
        except McukitError as err:
            return self._failed(case, err, json_path, 0, start)
        for attempt in range(1 + max(0, self.cfg.retries)):
            attempts = attempt + 1
            try:
                port = None
                if not case.board.emulated:
                    port = select_port(case.board, selector, wait=self.opts.port_wait)
                options = DeployOptions(
                    board=case.board, reference=case.model.reference, test_data=data, samples=case.model.samples,
                    calibration=str(case.model.calibration) if case.model.calibration else None, port=port,
                    json_path=str(json_path), invoke_timeout=self.cfg.invoke_timeout,
                    build_flags=case.model.build_flags)
                results = deploy_fn(case.model.path, options)
            except McukitError as err:
                last = err
                if _retryable(err) and attempt < self.cfg.retries:
                    log.warning("%s: attempt %d failed (%s); retrying", case.key, attempts, err.message)
                    continue
                return self._failed(case, err, json_path, attempts, start)
            except Exception as err:  # noqa: BLE001 - a bug: keep its traceback in the log, still report the rest
                log.error("%s: internal error\n%s", case.key, traceback.format_exc())
                message = f"internal error: {type(err).__name__}: {err} (please report it; rerun with --debug)"
                return CaseOutcome(case, tuple(error_results(case, message)), None, message, attempts,
                                   time.monotonic() - start)
            checks = evaluate(case, results, self.baseline.get(case.key), update_baseline=self.opts.update_baseline)
            return CaseOutcome(case, tuple(checks), results, None, attempts, time.monotonic() - start)
        assert last is not None  # the loop always returns
        return self._failed(case, last, json_path, attempts, start)

    def _failed(self, case: Case, err: McukitError, json_path: Path, attempts: int, start: float) -> CaseOutcome:
        """Checks that the partial results still answer (sizes after a failed run) keep their verdict; the rest
        are errors carrying the failure."""
        what = f"{_text(err)}" + (f" (after {attempts} attempts)" if attempts > 1 else "")
        partial = None
        if json_path.is_file():
            try:
                partial = json.loads(json_path.read_text(encoding="utf-8"))
            except ValueError:
                partial = None
        if partial is None:
            return CaseOutcome(case, tuple(error_results(case, what)), None, what, attempts, time.monotonic() - start)
        checks = []
        for c in evaluate(case, partial, self.baseline.get(case.key), update_baseline=self.opts.update_baseline):
            if c.verdict in ("pass", "fail") and not c.check.startswith("regression_"):
                checks.append(c)
            else:
                checks.extend(error_results(case, what, [c.check]))
        assert [c.check for c in checks] == check_names(case.budgets)
        return CaseOutcome(case, tuple(checks), partial, what, attempts, time.monotonic() - start)
