"""The firmware self-tests through PlatformIO (`pio test`, top-level platformio.ini + test/), offline.

The repository's platformio.ini, test/, firmware/ and local platform are copied into a temporary folder (so the
test neither writes .pio/ into the checkout nor depends on where the checkout is: the copy must work through
${PROJECT_DIR} alone) and `pio test` runs there with the session's offline PlatformIO core (a proxy that refuses
connections). Then copies with a deliberately broken kernel, a broken requantization helper, a crashing test and a
hanging test must fail, naming what failed.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from mcukit.build import PioCore
from mcukit.build.pio import run_pio
from mcukit.paths import data_dir

REPO = Path(__file__).resolve().parents[2]
EMULATED_ENVS = ("qemu_m4", "qemu_m3", "qemu_m7", "qemu_m55")
SUITES = ("test_framing", "test_kernels", "test_requant")

pytestmark = pytest.mark.skipif(not (REPO / "platformio.ini").is_file() or not (REPO / "test").is_dir(),
                                reason="needs a checkout with platformio.ini and test/")


def _copy_project(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", ".pio", "*.pyc")
    shutil.copy2(REPO / "platformio.ini", dest / "platformio.ini")
    shutil.copytree(REPO / "test", dest / "test", ignore=ignore)
    shutil.copytree(data_dir("firmware"), dest / "firmware", ignore=ignore)
    platform = data_dir("boards") / "platform-mcukit-qemu"
    shutil.copytree(platform, dest / "boards" / "platform-mcukit-qemu", ignore=ignore)
    return dest


def _pio_test(project: Path, core: PioCore, *args: str) -> tuple[int, str]:
    result = run_pio(["test", "-d", str(project), *args], core, timeout=300)
    return result.returncode, result.stdout


def _summary_status(output: str, env: str, suite: str) -> str | None:
    match = re.search(rf"^{re.escape(env)}\s+{re.escape(suite)}\s+(\w+)", output, re.MULTILINE)
    return match.group(1) if match else None


def _break(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name} changed: cannot find {old!r} to break it; update this test"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_selftests_pass_on_every_emulated_board(tmp_path: Path, pio_core: PioCore) -> None:
    project = _copy_project(tmp_path)
    status, out = _pio_test(project, pio_core)  # default_envs: every emulated board
    assert status == 0, out[-4000:]
    for env in EMULATED_ENVS:
        for suite in SUITES:
            assert _summary_status(out, env, suite) == "PASSED", f"{env} {suite}\n{out[-4000:]}"
    ends = re.findall(r"^SELFTEST END suite=(\w+) tests=(\d+) failures=(\d+)", out, re.MULTILINE)
    assert len(ends) == len(EMULATED_ENVS) * len(SUITES)
    assert all(int(tests) > 0 and failures == "0" for _, tests, failures in ends)
    # every board ran the same tests, and each one reported PASS
    names = re.findall(r"^TEST (\S+) PASS$", out, re.MULTILINE)
    assert len(names) == sum(int(tests) for _, tests, _ in ends)
    assert "FAIL" not in "".join(re.findall(r"^TEST .*$", out, re.MULTILINE))


def test_broken_kernel_fails_and_is_named(tmp_path: Path, pio_core: PioCore) -> None:
    project = _copy_project(tmp_path)
    # ADD's output zero point off by one: every add case must fail, the other families must still pass.
    _break(project / "firmware" / "src" / "kernels" / "mk_add_s8.c",
           "p->output_shift) + p->output_offset;", "p->output_shift) + p->output_offset + 1;")
    status, out = _pio_test(project, pio_core, "-e", "qemu_m4", "-f", "test_kernels")
    assert status != 0, out[-4000:]
    assert _summary_status(out, "qemu_m4", "test_kernels") == "FAILED"
    failed = re.findall(r"^TEST (\S+) FAIL (.*)$", out, re.MULTILINE)
    assert failed, out[-4000:]
    assert {name for name, _ in failed} == set(re.findall(r"^TEST (add_\d+) ", out, re.MULTILINE))
    assert all("bytes differ" in detail for _, detail in failed)
    assert re.search(r"^TEST conv_\d+ PASS$", out, re.MULTILINE)
    # PlatformIO's own report lists the failing cases too
    assert "qemu_m4:test_kernels" in out


def test_broken_requantization_fails_and_is_named(tmp_path: Path, pio_core: PioCore) -> None:
    project = _copy_project(tmp_path)
    # Drop the INT32_MIN * INT32_MIN saturation: the product then wraps to INT32_MIN.
    _break(project / "firmware" / "include" / "mcukit" / "mk_requant.h",
           "if (a == b && a == INT32_MIN) {", "if (a == b && a == INT32_MIN && 0) {")
    status, out = _pio_test(project, pio_core, "-e", "qemu_m4", "-f", "test_requant")
    assert status != 0, out[-4000:]
    assert re.search(r"^TEST srdhm_int32_min_squared_saturates FAIL \S+:\d+ .*\(got -2147483648, want 2147483647\)",
                     out, re.MULTILINE), out[-4000:]
    assert re.search(r"^TEST rdbpot_ties_both_signs PASS$", out, re.MULTILINE)


def test_crash_and_hang_are_errors(tmp_path: Path, pio_core: PioCore) -> None:
    project = _copy_project(tmp_path)
    shutil.rmtree(project / "test" / "test_kernels")
    shutil.rmtree(project / "test" / "test_requant")
    _break(project / "platformio.ini", "custom_qemu_timeout = 60", "custom_qemu_timeout = 3")
    for name, body in (("test_crash", '__asm volatile("udf #0");'), ("test_hang", "for (;;) {}")):
        (project / "test" / name).mkdir()
        (project / "test" / name / "test_main.c").write_text(
            '#include "mcukit/mk_hal.h"\n#include "mk_test.h"\n'
            "static void passes(void) { MK_CHECK(1); }\n"
            "int mk_main(void) {\n    mk_hal_init();\n    mk_test_begin(\"broken\");\n    MK_RUN(passes);\n"
            f"    {body}\n    return mk_test_end();\n}}\n",
            encoding="utf-8",
        )
    status, out = _pio_test(project, pio_core, "-e", "qemu_m4")
    assert status != 0, out[-4000:]
    assert _summary_status(out, "qemu_m4", "test_framing") == "PASSED", out[-4000:]
    assert _summary_status(out, "qemu_m4", "test_crash") == "ERRORED", out[-4000:]
    assert _summary_status(out, "qemu_m4", "test_hang") == "ERRORED", out[-4000:]
    assert "HARDFAULT" in out and "the program crashed" in out
    assert "did not exit within 3 s" in out
