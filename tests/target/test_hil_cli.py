"""`mcukit test` end to end on emulated boards: exit codes, JUnit XML parsed back, each budget failing alone,
a latency regression from a slower (-O0) build, build failures and timeouts as errors, two suites at once.

The model is tests/data/golden/fc_stack.tflite (no TensorFlow). Its test data carries labels: the reference's
top-1 for half the samples and a wrong class for the other half, so board accuracy is 50 % when the board is
bit-exact. Budgets are derived from a first measured run, never hard-coded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from mcukit.__main__ import main
from mcukit.build import PioCore

pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parents[1] / "data" / "golden"


@pytest.fixture(scope="module")
def env(pio_core: PioCore, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A private mcukit cache and the offline PlatformIO core from conftest (network refused by a dead proxy)."""
    cache = tmp_path_factory.mktemp("hil-cache")
    offline = {k: v for k, v in pio_core.env.items() if k.lower().endswith("proxy")}
    return {"MCUKIT_CACHE_DIR": str(cache), "MCUKIT_PIO_CORE_DIR": str(pio_core.core_dir), **offline}


@pytest.fixture
def use_env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hil-project")
    shutil.copy(GOLDEN / "fc_stack.tflite", root / "fc_stack.tflite")
    golden = np.load(GOLDEN / "fc_stack.npz")
    x = golden["input_0"]
    labels = golden["tflm_0"].reshape(len(x), -1).argmax(axis=1)
    labels[::2] = (labels[::2] + 1) % golden["tflm_0"].shape[-1]
    np.savez(root / "fc_test.npz", x=x, y=labels)
    return root


def write_config(folder: Path, budgets: dict[str, object], *, boards: tuple[str, ...] = ("qemu-m4",),
                 build_flags: tuple[str, ...] = (), extra: str = "") -> Path:
    lines = [f"boards = {json.dumps(list(boards))}", "retries = 1", extra, "[[model]]", 'path = "fc_stack.tflite"',
             'test_data = "fc_test.npz"', f"build_flags = {json.dumps(list(build_flags))}", "[model.budgets]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in budgets.items()]
    path = folder / "mcukit.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_cli(*args: str) -> int:
    return main(["test", *args])


def parse_junit(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert suites and all(s.get("tests") == str(len(s.findall("testcase"))) for s in suites)
    return {f"{s.get('name')}/{c.get('name')}": c for s in suites for c in s.findall("testcase")}


@pytest.fixture(scope="module")
def measured(project: Path, env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A first run with loose budgets: what the board measures, used to derive every budget below."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        out = tmp_path_factory.mktemp("hil-measured")
        write_config(project, {"max_latency": "100000000 instructions", "min_accuracy": 0.0, "bit_exact": True})
        assert run_cli(str(project / "mcukit.toml"), "--json", str(out / "r.json"), "--quiet") == 0
        (case,) = json.loads((out / "r.json").read_text())["cases"]
        return case["results"]
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def loose_budgets(m: dict) -> dict[str, object]:
    return {
        "max_flash_bytes": m["memory"]["flash_bytes"] + 1000,
        "max_ram_bytes": m["memory"]["ram_bytes"] + 1000,
        "max_arena_bytes": m["memory"]["arena_bytes"] + 100,
        "max_latency": f"{int(m['instructions']['median'] * 1.5)} instructions",
        "bit_exact": True,
        "min_accuracy": round(m["accuracy"]["board_top1"] - 0.1, 3),
    }


def test_passing_config_exits_0_with_valid_junit(project: Path, measured: dict, use_env: None,
                                                 tmp_path: Path) -> None:
    assert measured["validation"]["bit_exact"] and measured["accuracy"]["board_top1"] == 0.5
    write_config(project, {**loose_budgets(measured), "max_energy_uj": 1000.0})  # checked: modeled energy
    junit = tmp_path / "report.xml"
    assert run_cli(str(project / "mcukit.toml"), "--junit", str(junit)) == 0
    cases = parse_junit(junit)
    names = {k.split("/")[1] for k in cases}
    assert names == {"flash", "ram", "arena", "latency", "energy", "bit_exact", "accuracy"}
    for key, case in cases.items():
        assert case.find("failure") is None and case.find("error") is None and case.find("skipped") is None, key


TIGHTEN = {
    "max_flash_bytes": lambda m: m["memory"]["flash_bytes"] - 1,
    "max_ram_bytes": lambda m: m["memory"]["ram_bytes"] - 1,
    "max_arena_bytes": lambda m: m["memory"]["arena_bytes"] - 1,
    "max_latency": lambda m: f"{int(m['instructions']['median'] * 0.9)} instructions",
    "min_accuracy": lambda m: round(m["accuracy"]["board_top1"] + 0.1, 3),
}
CHECK = {"max_flash_bytes": "flash", "max_ram_bytes": "ram", "max_arena_bytes": "arena", "max_latency": "latency",
         "min_accuracy": "accuracy"}


@pytest.mark.parametrize("budget", list(TIGHTEN))
def test_tightening_one_budget_fails_exactly_that_check(budget: str, project: Path, measured: dict, use_env: None,
                                                        tmp_path: Path) -> None:
    budgets = loose_budgets(measured)
    budgets[budget] = TIGHTEN[budget](measured)
    write_config(project, budgets)
    junit = tmp_path / "report.xml"
    assert run_cli(str(project / "mcukit.toml"), "--junit", str(junit), "--quiet") == 1
    cases = parse_junit(junit)
    failed = {k for k, c in cases.items() if c.find("failure") is not None}
    assert failed == {f"fc_stack@qemu-m4/{CHECK[budget]}"}
    assert not any(c.find("error") is not None for c in cases.values())
    message = cases[f"fc_stack@qemu-m4/{CHECK[budget]}"].find("failure").get("message", "")
    assert "measured" in message and "allowed" in message
    limit = budgets[budget]
    shown = f"{limit:,}" if isinstance(limit, int) else (f"{limit:.1%}" if isinstance(limit, float)
                                                          else f"{int(limit.split()[0]):,}")
    assert shown in message, message


def test_modeled_energy_and_estimated_cycles_are_checked_and_labelled(project: Path, measured: dict, use_env: None,
                                                                     tmp_path: Path) -> None:
    """On an emulated board max_energy_uj is checked against MODELED energy and a latency budget in cycles against
    ESTIMATED cycles: loose budgets pass, tight ones fail (exit 1) with messages that say what the figures are."""
    assert measured["energy"]["source"] == "modeled" and measured["latency"]["unit"] == "estimated_cycles"
    uj, cycles = measured["energy"]["uj_per_inference"], measured["latency"]["median"]
    base = {k: v for k, v in loose_budgets(measured).items() if k != "max_latency"}
    write_config(project, {**base, "max_energy_uj": uj * 1.5, "max_latency": f"{int(cycles * 1.5)} cycles"})
    out = tmp_path / "loose.json"
    assert run_cli(str(project / "mcukit.toml"), "--json", str(out), "--quiet") == 0
    (case,) = json.loads(out.read_text())["cases"]
    checks = {c["check"]: c for c in case["checks"]}
    assert checks["energy"]["verdict"] == "pass" and "modeled" in checks["energy"]["measured"]
    assert checks["energy"]["measured_value"] == pytest.approx(uj)
    assert checks["latency"]["verdict"] == "pass" and "estimated" in checks["latency"]["measured"]

    write_config(project, {**base, "max_energy_uj": uj * 0.9, "max_latency": f"{int(cycles * 0.9)} cycles"})
    junit = tmp_path / "tight.xml"
    assert run_cli(str(project / "mcukit.toml"), "--junit", str(junit), "--quiet") == 1
    cases = parse_junit(junit)
    failed = {k for k, c in cases.items() if c.find("failure") is not None}
    assert failed == {"fc_stack@qemu-m4/energy", "fc_stack@qemu-m4/latency"}
    energy = cases["fc_stack@qemu-m4/energy"].find("failure").get("message", "")
    assert "modeled" in energy and "allowed" in energy and "measured" not in energy.split("[")[0], energy
    latency = cases["fc_stack@qemu-m4/latency"].find("failure").get("message", "")
    assert "estimated" in latency and f"{int(cycles * 0.9):,} cycles" in latency, latency


def test_slower_build_fails_the_latency_regression(project: Path, measured: dict, use_env: None,
                                                   tmp_path: Path) -> None:
    budgets = {**loose_budgets(measured), "max_latency": "100000000 instructions", "max_flash_bytes": 10**7,
               "max_regression_pct": 10}
    cfg = write_config(project, budgets, extra=f'baseline = "{tmp_path / "baseline.json"}"')
    assert run_cli(str(cfg), "--update-baseline", "--quiet") == 0
    assert run_cli(str(cfg), "--quiet") == 0  # same build: within 10 % of itself
    write_config(project, budgets, build_flags=("-O0",), extra=f'baseline = "{tmp_path / "baseline.json"}"')
    junit = tmp_path / "report.xml"
    assert run_cli(str(cfg), "--junit", str(junit), "--quiet") == 1
    cases = parse_junit(junit)
    failure = cases["fc_stack@qemu-m4/regression_latency"].find("failure")
    assert failure is not None, "the -O0 build was not slower"
    assert "against the baseline" in failure.get("message", "")
    assert cases["fc_stack@qemu-m4/bit_exact"].find("failure") is None  # slower, still right


def test_build_failure_and_timeout_are_errors_with_exit_2(project: Path, measured: dict, use_env: None,
                                                          tmp_path: Path) -> None:
    budgets = loose_budgets(measured)
    write_config(project, budgets, build_flags=("-Werror=mcukit-no-such-warning",))
    junit = tmp_path / "build.xml"
    assert run_cli(str(project / "mcukit.toml"), "--junit", str(junit), "--quiet") == 2
    errors = [c.find("error") for c in parse_junit(junit).values()]
    assert all(e is not None for e in errors) and "building" in errors[0].get("message", "")

    # A board that does not answer an inference in time (here: a deadline no board can meet) is an ERROR after
    # the bounded retries, and its sizes are still checked.
    write_config(project, budgets, extra="invoke_timeout = 0.000001")
    junit = tmp_path / "timeout.xml"
    assert run_cli(str(project / "mcukit.toml"), "--junit", str(junit), "--quiet") == 2
    cases = parse_junit(junit)
    assert cases["fc_stack@qemu-m4/flash"].find("failure") is None
    assert cases["fc_stack@qemu-m4/flash"].find("error") is None
    err = cases["fc_stack@qemu-m4/latency"].find("error")
    assert err is not None and "after 2 attempts" in err.get("message", "")


def test_two_suites_in_parallel_share_the_cache_without_clashes(project: Path, measured: dict, env: dict[str, str],
                                                                tmp_path_factory: pytest.TempPathFactory) -> None:
    """Two `mcukit test --jobs 2` processes over two boards at once, on a fresh cache: four QEMUs, and both
    processes build the same two projects at the same time (serialized by the project lock)."""
    work = tmp_path_factory.mktemp("hil-parallel")
    for name in ("fc_stack.tflite", "fc_test.npz"):
        shutil.copy(project / name, work / name)
    budgets = {**loose_budgets(measured), "max_latency": "100000000 instructions"}  # measured on the M4 only
    cfg = write_config(work, budgets, boards=("qemu-m4", "qemu-m3"))
    fresh = {**os.environ, **env, "MCUKIT_CACHE_DIR": str(work / "cache")}
    cmd = [sys.executable, "-m", "mcukit", "test", str(cfg), "--jobs", "2", "--quiet"]
    procs = [subprocess.Popen([*cmd, "--junit", str(work / f"r{i}.xml")], env=fresh, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for i in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out
    assert len(list((work / "cache" / "projects").glob("*.lock"))) == 2  # one build lock per project folder
    for i in range(2):
        cases = parse_junit(work / f"r{i}.xml")
        assert {k.split("/")[0] for k in cases} == {"fc_stack@qemu-m4", "fc_stack@qemu-m3"}
        assert all(c.find("failure") is None and c.find("error") is None for c in cases.values())
