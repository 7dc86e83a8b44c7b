"""PlatformIO test runner for mcukit's firmware self-tests (`test_framework = custom` in platformio.ini).

PlatformIO loads this file for `pio test` and instantiates `CustomTestRunner`. The firmware (test/test_*/ with
firmware/src/selftest/mk_test.c) prints one line per test and a summary, and exits with its failure count:

    SELFTEST BEGIN <suite> board=<board>
    TEST <name> PASS
    TEST <name> FAIL <file>:<line> <check> (<details>)
    SELFTEST END suite=<suite> tests=<n> failures=<f>

Emulated boards (the mcukit-qemu platform): the program is built, then run here in qemu-system-arm (machine and
CPU from the board manifest, the env's `upload_flags` appended, `custom_qemu_timeout` seconds, default 60), its
UART read from stdout. Nothing is "uploaded". A crash, a hang, a missing summary or an exit status that disagrees
with the reported failures is an ERRORED case, so a broken program never passes.

Real boards (nano33, ...): PlatformIO's usual flow -- build, upload, read the serial port until the summary line.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import threading
import time

import click
from platformio.test.exception import UnitTestSuiteError
from platformio.test.result import TestCase, TestStatus
from platformio.test.runners.base import TestRunnerBase

EMULATED_PLATFORM = "mcukit-qemu"
TEST_RE = re.compile(r"^TEST (\S+) (PASS|FAIL|SKIP)(?: (.*))?$")
END_RE = re.compile(r"^SELFTEST END suite=(\S*) tests=(\d+) failures=(\d+)")
FAULT_RE = re.compile(r"^HARDFAULT\b.*")
STATUS = {"PASS": TestStatus.PASSED, "FAIL": TestStatus.FAILED, "SKIP": TestStatus.SKIPPED}


class SelftestError(Exception):
    """The test program did not complete properly (crash, hang, missing summary, inconsistent exit status)."""


class CustomTestRunner(TestRunnerBase):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._summary: tuple[int, int] | None = None  # (tests, failures) from the END line
        self._cases = 0
        self._failures = 0

    # ---- which flow ---------------------------------------------------------------------------------------------

    @property
    def _env_section(self) -> str:
        return f"env:{self.test_suite.env_name}"

    def _emulated(self) -> bool:
        return self.platform.name == EMULATED_PLATFORM

    # ---- stages -------------------------------------------------------------------------------------------------

    def stage_building(self):
        if not self._emulated():
            return super().stage_building()
        if self.options.without_building:
            return None
        click.secho("Building...", bold=True)
        try:
            return self.run_project_targets(["__test", "checkprogsize"])
        except Exception as exc:  # ReturnErrorCode from `pio run`
            raise UnitTestSuiteError("Building stage has failed, see errors above. "
                                     "Use `pio test -vvv` option to enable verbose output.") from exc

    def stage_uploading(self):
        if self._emulated():
            return None  # the program runs in QEMU during the testing stage
        return super().stage_uploading()

    def stage_testing(self):
        if self.options.without_testing:
            return None
        if not self._emulated() or self.project_config.get(self._env_section, "test_testing_command"):
            result = super().stage_testing()
            self._check_summary(exit_status=None)
            return result
        click.secho("Testing...", bold=True)
        status = self._run_in_qemu()
        self._check_summary(exit_status=status)
        return None

    # ---- running the program in QEMU ----------------------------------------------------------------------------

    def _qemu_command(self) -> list[str]:
        options = self.project_config.items(env=self.test_suite.env_name, as_dict=True)
        board = self.platform.board_config(options["board"])
        mk = board.get("build.mcukit")
        build_dir = self.project_config.get("platformio", "build_dir")
        elf = os.path.join(build_dir, self.test_suite.env_name, "firmware.elf")
        if not os.path.isfile(elf):
            raise UnitTestSuiteError(f"the test program {elf} was not built")
        cmd = ["qemu-system-arm", "-machine", mk["machine"], "-cpu", board.get("build.cpu"), "-kernel", elf,
               "-display", "none", "-monitor", "none", "-serial", "stdio",
               "-semihosting-config", "enable=on,target=native"]
        flags = options.get("upload_flags") or []
        for flag in [flags] if isinstance(flags, str) else flags:
            cmd += shlex.split(flag)
        return cmd

    def _run_in_qemu(self) -> int:
        cmd = self._qemu_command()
        timeout = float(self.project_config.get(self._env_section, "custom_qemu_timeout", 60) or 0) or None
        if self.options.verbose:
            click.echo(" ".join(shlex.quote(c) for c in cmd))
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
        except FileNotFoundError as exc:
            raise UnitTestSuiteError("qemu-system-arm not found; install the Debian/Ubuntu package "
                                     "qemu-system-arm") from exc
        timed_out = threading.Event()

        def stop() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, stop) if timeout else None
        start = time.monotonic()
        if timer:
            timer.start()
        try:
            assert proc.stdout is not None
            for chunk in iter(lambda: proc.stdout.read1(4096), b""):
                self.on_testing_data_output(chunk)
            status = proc.wait()
        finally:
            if timer:
                timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if self._testing_output_buffer:  # a last line without a newline
            self.on_testing_line_output(self._testing_output_buffer + "\n")
            self._testing_output_buffer = ""
        if timed_out.is_set():
            self._error(f"the program did not exit within {timeout:.0f} s (QEMU stopped after "
                        f"{time.monotonic() - start:.1f} s)")
        return status

    # ---- parsing ------------------------------------------------------------------------------------------------

    def on_testing_line_output(self, line):
        click.echo(line, nl=False)
        text = line.strip()
        match = TEST_RE.match(text)
        if match:
            name, verdict, detail = match.groups()
            self._cases += 1
            self._failures += verdict == "FAIL"
            self.test_suite.add_case(TestCase(name=name, status=STATUS[verdict], message=detail,
                                              stdout=text))
            return
        match = END_RE.match(text)
        if match:
            self._summary = (int(match.group(2)), int(match.group(3)))
            self.test_suite.on_finish()  # also ends the serial reader on real boards
            return
        if FAULT_RE.match(text):
            self._error(f"the program crashed: {text}")
            self.test_suite.on_finish()

    def _error(self, message: str) -> None:
        name = f"{self.test_suite.env_name}:{self.test_suite.test_name}"
        click.secho(message, fg="red", err=True)
        self.test_suite.add_case(TestCase(name=name, status=TestStatus.ERRORED, message=message,
                                          exception=SelftestError(message)))

    def _check_summary(self, exit_status: int | None) -> None:
        """The summary must exist and agree with the cases seen and (emulated) with the exit status."""
        if any(c.status == TestStatus.ERRORED for c in self.test_suite.cases):
            return  # already explained
        if self._summary is None:
            how = f" (exit status {exit_status})" if exit_status is not None else ""
            self._error(f"the program ended without its summary line{how}; it crashed or was cut short")
            return
        tests, failures = self._summary
        if tests != self._cases or failures != self._failures:
            self._error(f"summary says {tests} tests / {failures} failures but {self._cases} / "
                        f"{self._failures} were reported")
        elif exit_status is not None and exit_status != min(failures, 100):
            self._error(f"exit status {exit_status} does not match the {failures} failures reported")
        elif tests == 0:
            self._error("the program ran no tests")
