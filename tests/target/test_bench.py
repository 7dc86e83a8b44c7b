"""`mcukit bench` end to end on the emulated Cortex-M4 with examples/kws.h5: JSON fields and labels, per-layer
instruction counts against the inference total, repeatability, CSV, PNG, and the HTML report in headless Chromium
(driven over the DevTools protocol: console messages, exceptions, failed loads and every request are checked, and
a screenshot is saved).
"""

from __future__ import annotations

import base64
import csv
import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mcukit.boards import get_board
from mcukit.cli import cli
from mcukit.measure.bench import INVOKE_OVERHEAD, LAYER_OVERHEAD_PER_LAYER

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "examples" / "kws.h5"
RUNS, INPUTS = 4, 2  # runs r and r + 2 use the same input
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class BenchRun:
    out: Path
    stdout: str
    result: dict[str, Any]


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory, arm_tools: None) -> BenchRun:
    out = tmp_path_factory.mktemp("bench")
    args = ["bench", str(MODEL), "--board", "qemu-m4", "--runs", str(RUNS), "--inputs", str(INPUTS), "--quiet",
            "--json", str(out / "bench.json"), "--csv", str(out / "layers.csv"), "--plot", str(out / "layers.png"),
            "--html", str(out / "report.html")]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return BenchRun(out, res.output, json.loads((out / "bench.json").read_text()))


def test_json_has_the_labelled_fields(bench_run: BenchRun) -> None:
    from mcukit.ir.counts import model_stats
    from mcukit.pipeline.firmware import load_model

    r = bench_run.result
    board = get_board("qemu-m4")
    assert r["schema"] == "mcukit.results/1" and r["command"] == "bench" and r["status"] == "ok"
    assert r["board"]["emulated"] is True

    lat = r["latency"]
    assert lat["unit"] == "estimated_cycles" and lat["estimate"] is True
    assert lat["min"] <= lat["median"] <= lat["p90"] <= lat["max"]
    assert lat["ms"] == pytest.approx(lat["median"] / board.clock_hz * 1e3)
    assert lat["low"] <= lat["median"] <= lat["high"] or lat["low"] <= lat["high"]
    assert lat["timing_model"].startswith(board.core)
    assert lat["samples"] == RUNS

    ins = r["instructions"]
    assert ins["unit"] == "instructions" and ins["exact"] is True
    assert 0 < ins["min"] <= ins["median"] <= ins["max"]
    assert lat["median"] > ins["min"] * 0.5  # the same inference, in another unit

    stats = model_stats(load_model(MODEL).graph)
    layers = r["layers"]
    assert [x["index"] for x in layers] == list(range(len(stats.layers)))
    for x, s in zip(layers, stats.layers, strict=True):
        assert {"index", "op", "name", "macs", "cost", "unit", "share"} <= set(x)
        assert x["op"] == s.kind and x["macs"] == s.macs
        assert x["unit"] == "estimated_cycles" and x["estimate"] is True
        assert x["cost"] > 0 and 0 < x["share"] < 1
        if x["macs"]:
            assert x["macs_per_cycle"] == pytest.approx(x["macs"] / x["cost"])
    assert sum(x["share"] for x in layers) == pytest.approx(1.0, abs=0.01)

    energy = r["energy"]
    assert energy["source"] == "modeled"
    assert energy["uj_per_inference"] > 0 and energy["mean_current_ma"] > 0 and energy["basis"]
    # E = V x uA/MHz x cycles x 1e-6 (docs/energy.md), from the median estimated cycles
    assert energy["uj_per_inference"] == pytest.approx(
        board.power.supply_v * board.power.active_ua_per_mhz * lat["median"] * 1e-6)

    mem = r["memory"]
    assert mem["flash_bytes"] > mem["weights_bytes"] > 0 and mem["ram_bytes"] >= mem["arena_bytes"] > 0
    assert r["device_counter"]["unit"] == "instructions"


def test_layers_add_up_to_the_inference(bench_run: BenchRun) -> None:
    r = bench_run.result
    n_layers = len(r["layers"])
    bound = INVOKE_OVERHEAD + LAYER_OVERHEAD_PER_LAYER * n_layers
    for run in r["per_run"]:
        assert sum(run["layers"]) == run["layer_instructions"]
        outside = run["instructions"] - run["layer_instructions"]
        assert 0 <= outside <= bound, (outside, bound)
        # QEMU's virtual clock (-icount shift=0, SysTick read by the firmware around mk_model_invoke) agrees with
        # the plugin's count to the counter's resolution plus the call and the counter read
        resolution = r["device_counter"]["resolution"]
        assert abs(run["ticks"] * resolution - run["instructions"]) <= 2 * resolution + 64


def test_instruction_counts_repeat_for_the_same_input(bench_run: BenchRun) -> None:
    runs = bench_run.result["per_run"]
    assert len(runs) == RUNS
    assert bench_run.result["run"]["input_of_run"] == [r % INPUTS for r in range(RUNS)]
    for a, b in zip(runs[:INPUTS], runs[INPUTS:], strict=True):
        assert a["instructions"] == b["instructions"]
        assert a["layers"] == b["layers"]
        assert a["estimated_cycles"] == b["estimated_cycles"]


def test_table_labels_estimates_and_modeled_energy(bench_run: BenchRun) -> None:
    text = bench_run.stdout
    assert "estimated cycles" in text and "estimate" in text
    energy_line = next(line for line in text.splitlines() if "uJ per inference" in line)
    assert "MODELED" in energy_line
    assert "exact" in text  # the instruction counts


def test_csv_has_one_row_per_layer(bench_run: BenchRun) -> None:
    with open(bench_run.out / "layers.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    layers = bench_run.result["layers"]
    assert len(rows) == len(layers)
    for row, layer in zip(rows, layers, strict=True):
        assert int(row["index"]) == layer["index"] and row["op"] == layer["op"]
        assert row["unit"] == "estimated_cycles" and row["estimate"] == "true"
        assert int(row["instructions"]) == layer["instructions"]


def test_plot_is_a_png_of_the_expected_size(bench_run: BenchRun) -> None:
    data = (bench_run.out / "layers.png").read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 900  # 9 inches at 100 dpi
    assert 300 <= height <= 3000
    n = len(bench_run.result["layers"])
    assert height >= 100 * 0.32 * n  # one bar row per layer


# ------------------------------------------------------------------------------------------------ HTML, Chromium


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--remote-debugging-pipe")


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "chromium is not installed (scripts/install.sh installs it: apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@dataclass
class PageReport:
    console: list[dict[str, Any]] = field(default_factory=list)  # Runtime.consoleAPICalled
    exceptions: list[dict[str, Any]] = field(default_factory=list)  # Runtime.exceptionThrown
    log_entries: list[dict[str, Any]] = field(default_factory=list)  # Log.entryAdded (failed loads, CSP, ...)
    requests: list[str] = field(default_factory=list)  # every URL the page requested
    values: dict[str, Any] = field(default_factory=dict)


class DevTools:
    """Chromium driven over --remote-debugging-pipe: JSON messages separated by NUL, commands on the browser's
    fd 3, answers and events on its fd 4."""

    def __init__(self, binary: str, user_data_dir: Path, timeout: float = 30.0) -> None:
        self.timeout = timeout
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        # The browser's ends, moved to 10 and above so that putting them on 3 and 4 cannot overwrite one with the
        # other; a small Python launcher does that and execs the browser (no preexec_fn: it is unsafe with threads).
        low_r, low_w = cmd_r, res_w
        cmd_r, res_w = fcntl.fcntl(low_r, fcntl.F_DUPFD, 10), fcntl.fcntl(low_w, fcntl.F_DUPFD, 10)
        os.close(low_r)
        os.close(low_w)
        launcher = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
                    "os.execv(sys.argv[3], sys.argv[3:])")
        with open(user_data_dir / "chromium.log", "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", launcher, str(cmd_r), str(res_w), binary,
                                          *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                         pass_fds=(cmd_r, res_w), start_new_session=True)
        os.close(cmd_r)
        os.close(res_w)
        self._w, self._r = cmd_w, res_r
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []
        self.log = user_data_dir / "chromium.log"

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._next(deadline)
            if m.get("id") == self._id:
                assert "error" not in m, f"{method}: {m['error']}"
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._next(deadline))

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._next(deadline))
        except TimeoutError:
            pass

    def _next(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise EOFError(f"chromium closed the pipe: {self.log.read_text(errors='replace')[-2000:]}")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (TimeoutError, EOFError, OSError, AssertionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)


def load_page(binary: str, page: Path, workdir: Path, screenshot: Path, expressions: dict[str, str]) -> PageReport:
    profile = workdir / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    tools = DevTools(binary, profile)
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.send(f"{domain}.enable", session=sid)
        tools.send("Emulation.setDeviceMetricsOverride",
                   {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=sid)
        tools.send("Page.navigate", {"url": page.resolve().as_uri()}, session=sid)
        tools.wait_event("Page.loadEventFired", 20)
        tools.drain(0.3)  # late console messages
        report = PageReport()
        for name, expr in expressions.items():
            res = tools.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=sid)
            report.values[name] = res.get("result", {}).get("value")
        shot = tools.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=sid)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        for e in tools.events:
            p, method = e.get("params", {}), e.get("method")
            if method == "Runtime.consoleAPICalled":
                report.console.append(p)
            elif method == "Runtime.exceptionThrown":
                report.exceptions.append(p)
            elif method == "Log.entryAdded":
                report.log_entries.append(p["entry"])
            elif method == "Network.requestWillBeSent":
                report.requests.append(p["request"]["url"])
        return report
    finally:
        tools.close()


def _save_artifact(path: Path) -> None:
    target = os.environ.get("MCUKIT_TEST_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(target) / path.name)


CHECKS = {
    "ready": "document.body.getAttribute('data-report-ready')",
    "energy_source": "document.getElementById('energy-source').textContent",
    "energy_summary": "document.getElementById('energy-source-summary').textContent",
    "layer_rows": "document.querySelectorAll('#layer-table tbody tr').length",
    "chart_bars": "document.querySelectorAll('#layer-chart rect').length",
    "raw_json_schema": "JSON.parse(document.getElementById('raw-json').textContent).schema",
    "text": "document.body.innerText",
}


def test_html_report_opens_cleanly_in_chromium(bench_run: BenchRun, chromium: str, tmp_path: Path) -> None:
    html = (bench_run.out / "report.html").read_text(encoding="utf-8")
    # self-contained: nothing to fetch (no src/href to another document, no CSS url() or @import)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?!#|data:)""", html, re.IGNORECASE)
    assert "url(" not in html and "@import" not in html

    shot = tmp_path / "bench-report.png"
    report = load_page(chromium, bench_run.out / "report.html", tmp_path, shot, CHECKS)
    _save_artifact(shot)
    assert report.exceptions == []
    assert report.console == []  # the report's script logs nothing: any message is a problem
    assert [e for e in report.log_entries if e["level"] in ("error", "warning")] == []
    assert all(u.startswith("file://") for u in report.requests), report.requests

    v = report.values
    assert v["ready"] == "1"  # the inline script ran to its end
    assert v["energy_source"] == "modeled" and v["energy_summary"] == "modeled"
    assert v["layer_rows"] == v["chart_bars"] == len(bench_run.result["layers"])
    assert v["raw_json_schema"] == "mcukit.results/1"
    assert "estimated cycles" in v["text"] and "ESTIMATE" in v["text"].upper()

    data = shot.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", data[16:24])
    assert 1100 <= width <= 1200 and height > 900  # the viewport (less a scroll bar), the whole page


def test_the_chromium_check_sees_errors(chromium: str, tmp_path: Path) -> None:
    """The harness must be able to fail: a page with a console error and an uncaught exception."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>console.error('broken-page');"
                    "undefinedFunction();</script></body></html>", encoding="utf-8")
    report = load_page(chromium, page, tmp_path, tmp_path / "broken.png", {"n": "document.querySelectorAll('p').length"})
    assert [c["type"] for c in report.console] == ["error"]
    assert report.console[0]["args"][0]["value"] == "broken-page"
    assert len(report.exceptions) == 1
    assert "undefinedFunction" in report.exceptions[0]["exceptionDetails"]["exception"]["description"]
    assert report.values["n"] == 1
