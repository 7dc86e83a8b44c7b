"""Hardware-in-the-loop testing for CI: `mcukit test` runs models on boards and checks budgets.

    from mcukit.hil import load_config, run_tests, RunOptions
    report = run_tests(load_config("mcukit.toml"), RunOptions(jobs=2))
    report.exit_code          # 0 all pass, 1 a check failed, 2 something could not be run
    write_junit(Path("report.xml"), report.junit_suites())

See docs/ci.md for the config format and the CI workflows.
"""

from mcukit.hil.baseline import load_baseline, save_baseline
from mcukit.hil.checks import CheckResult, check_names, evaluate
from mcukit.hil.config import (
    BoardSettings,
    Budgets,
    Case,
    HilConfig,
    Latency,
    ModelSpec,
    find_config,
    load_config,
    make_cases,
    parse_config,
)
from mcukit.hil.junit import junit_xml, write_junit
from mcukit.hil.ports import PortSelector, parse_selector, select_port
from mcukit.hil.runner import CaseOutcome, RunOptions, RunReport, run_tests

__all__ = [
    "BoardSettings",
    "Budgets",
    "Case",
    "CaseOutcome",
    "CheckResult",
    "HilConfig",
    "Latency",
    "ModelSpec",
    "PortSelector",
    "RunOptions",
    "RunReport",
    "check_names",
    "evaluate",
    "find_config",
    "junit_xml",
    "load_baseline",
    "load_config",
    "make_cases",
    "parse_config",
    "parse_selector",
    "run_tests",
    "save_baseline",
    "select_port",
    "write_junit",
]
