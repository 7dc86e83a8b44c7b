"""Bench summaries and renderers on synthetic results: statistics, removing the tick handler from spans, and the
labels (estimate / exact / modeled / measured) in the table, CSV, PNG and HTML. No emulator needed."""

from __future__ import annotations

import csv
import io
import re
import struct
from typing import Any

import pytest

from mcukit.measure.bench import _per_run_spans, handler_owners, stats, without_handlers
from mcukit.measure.icount import Event, InstructionCounts
from mcukit.report.csv_report import write_layers_csv
from mcukit.report.html import render_html
from mcukit.report.table import layers_by_cost, print_bench

CLASSES = ("alu", "branch")
WEIGHTS = ("irq_entries",)


def _counts(events: list[tuple[str, tuple[int, int, int]]]) -> InstructionCounts:
    final = events[-1][1]
    return InstructionCounts(total=final[0] + final[1], per_class=dict(zip(CLASSES, final[:2])),
                             weights={"irq_entries": final[2]}, events=tuple(Event(m, v) for m, v in events),
                             class_names=CLASSES, weight_names=WEIGHTS)


def test_stats() -> None:
    s = stats(list(range(1, 11)))
    assert s == {"median": 5.5, "p90": pytest.approx(9.1), "min": 1.0, "max": 10.0}
    assert stats([7]) == {"median": 7.0, "p90": 7.0, "min": 7.0, "max": 7.0}


def test_tick_handler_is_taken_out_of_the_inference_and_its_layer() -> None:
    # (alu, branch, irq_entries) snapshots. Two invokes of one layer each run the same program; in the second a
    # SysTick handler (4 ALU instructions, then its exception return: one branch) interrupts the layer.
    counts = _counts([
        ("invoke", (0, 0, 0)), ("layer_begin", (2, 0, 0)), ("layer_end", (96, 5, 0)), ("invoke_end", (99, 6, 0)),
        ("invoke", (200, 10, 0)), ("layer_begin", (202, 10, 0)),
        ("tick_isr", (250, 12, 0)), ("tick_isr_end", (254, 12, 1)),
        ("layer_end", (300, 16, 1)), ("invoke_end", (303, 17, 1)),
    ])
    owners = handler_owners(counts)
    assert owners.invoke == (1,) and owners.layer == (1,)
    raw = counts.spans("invoke", "invoke_end")
    assert raw[1].total == raw[0].total + 5 and raw[1].interrupts == 1
    fixed = without_handlers(raw[1], owners.spans)
    assert fixed.per_class == raw[0].per_class and fixed.total == raw[0].total and fixed.interrupts == 0

    invokes, layers, removed = _per_run_spans(counts, runs=2, num_layers=1)
    assert removed == [0, 1]
    assert invokes[0].total == invokes[1].total == 105
    assert layers[0][0].per_class == layers[1][0].per_class == {"alu": 94, "branch": 5}


def test_handler_between_inferences_changes_nothing() -> None:
    counts = _counts([
        ("invoke", (0, 0, 0)), ("layer_begin", (1, 0, 0)), ("layer_end", (10, 1, 0)), ("invoke_end", (11, 1, 0)),
        ("tick_isr", (20, 2, 0)), ("tick_isr_end", (24, 2, 1)), ("end", (30, 3, 1)),
    ])
    invokes, layers, removed = _per_run_spans(counts, runs=1, num_layers=1)
    assert removed == [0] and invokes[0].total == 12 and layers[0][0].total == 10


def _layers(unit: str, estimate: bool) -> list[dict[str, Any]]:
    rows = [("CONV_2D", "conv <b>1</b>", 1000, 6000.0), ("SOFTMAX", "probs", 0, 500.0),
            ("FULLY_CONNECTED", "fc</script><script>alert(1)</script>", 200, 1500.0)]
    total = sum(r[3] for r in rows) + 100
    return [{"index": i, "op": op, "name": name, "macs": macs, "cost": cost, "unit": unit, "estimate": estimate,
             "share": cost / total, "macs_per_cycle": macs / cost if macs else None, "instructions": int(cost * 0.8),
             "estimated_cycles": cost if estimate else None}
            for i, (op, name, macs, cost) in enumerate(rows)]


def _emulated() -> dict[str, Any]:
    layers = _layers("estimated_cycles", True)
    total = sum(x["cost"] for x in layers) + 100
    return {
        "schema": "mcukit.results/1", "command": "bench", "status": "ok", "mcukit_version": "0", "created": "now",
        "board": {"name": "qemu-m4", "core": "cortex-m4", "clock_hz": 25_000_000, "emulated": True},
        "model": {"name": "tiny", "macs": 1200, "params": 10, "ops": 3},
        "memory": {"flash_bytes": 5000, "ram_bytes": 3000, "arena_bytes": 1000, "weights_bytes": 800},
        "run": {"completed": 3, "total": 3, "inputs": 3, "input_source": "random (seed 0)"},
        "latency": {"unit": "estimated_cycles", "estimate": True, "median": total, "p90": total, "min": total,
                    "max": total, "samples": 3, "clock_hz": 25_000_000, "ms": total / 25e3, "ms_p90": total / 25e3,
                    "ms_min": total / 25e3, "ms_max": total / 25e3, "low": total * 0.9, "high": total * 1.3,
                    "timing_model": "cortex-m4/trm-r0p1", "source": "test"},
        "instructions": {"unit": "instructions", "exact": True, "median": 6000, "p90": 6000, "min": 6000,
                         "max": 6000},
        "device_counter": {"unit": "instructions", "median": 6000, "p90": 6000, "min": 6000, "max": 6000,
                           "resolution": 40.0},
        "layers": layers,
        "layers_overhead": {"unit": "instructions", "median": 80.0, "max": 80, "note": "outside"},
        "energy": {"source": "modeled", "uj_per_inference": 1.5, "mean_current_ma": 1.3, "supply_v": 3.0,
                   "seconds": 0.0003, "basis": "datasheet", "samples": None, "mean_power_mw": 3.9},
    }


def _real_measured() -> dict[str, Any]:
    r = _emulated()
    r["board"] = {"name": "nano33", "core": "cortex-m4", "clock_hz": 64_000_000, "emulated": False}
    r["layers"] = _layers("cycles", False)
    r["latency"] = {**r["latency"], "unit": "cycles", "estimate": False}
    for key in ("low", "high", "timing_model"):
        del r["latency"][key]
    del r["instructions"]
    r["energy"] = {"source": "measured", "uj_per_inference": 2.0, "mean_current_ma": 5.1, "supply_v": 3.3,
                   "seconds": 0.0002, "basis": "INA219", "samples": 8, "mean_power_mw": 16.8,
                   "trace": [{"t_ms": i * 0.5, "current_ma": 5 + (i % 3) * 0.1} for i in range(8)]}
    return r


def test_table_labels_and_order() -> None:
    out = io.StringIO()
    print_bench(_emulated(), file=out)
    text = out.getvalue()
    assert "[MODELED]" in text and "estimate" in text and "MACs/cycle (est.)" in text
    rows = [line for line in text.splitlines() if re.match(r"^\W*\d+ \W", line)]
    assert [int(re.match(r"^\W*(\d+)", line).group(1)) for line in rows][:3] == [0, 2, 1]  # by cost

    out = io.StringIO()
    print_bench(_real_measured(), file=out)
    text = out.getvalue()
    assert "[MEASURED]" in text and "MODELED" not in text and "estimate" not in text


def test_layers_by_cost() -> None:
    assert [x["index"] for x in layers_by_cost(_emulated())] == [0, 2, 1]


def test_csv_rows(tmp_path) -> None:
    path = write_layers_csv(_emulated(), tmp_path / "x.csv")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["index"]) for r in rows] == [0, 1, 2]
    assert {r["unit"] for r in rows} == {"estimated_cycles"} and {r["estimate"] for r in rows} == {"true"}
    assert rows[1]["macs_per_cycle"] == ""  # no MACs: no ratio


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_with_and_without_a_current_trace(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    from mcukit.report.plots import write_plot

    w1, h1 = _png_size(write_plot(_emulated(), tmp_path / "a.png").read_bytes())
    w2, h2 = _png_size(write_plot(_real_measured(), tmp_path / "b.png").read_bytes())
    assert w1 == w2 == 900
    assert h2 > h1 + 200  # the measured result gets a second panel with the current trace


def test_html_labels_escaping_and_self_containment() -> None:
    html = render_html(_emulated())
    assert re.search(r'id="energy-source">modeled<', html)
    assert "ESTIMATE" in html.upper() and "estimated cycles" in html
    # layer names are data: escaped in the table, and unable to close the embedded JSON's script element
    assert "<b>1</b>" not in html and "&lt;b&gt;1&lt;/b&gt;" in html
    assert html.count("<script") == 2 and "alert(1)</script>" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?!#|data:)""", html, re.IGNORECASE)
    assert "http://" not in html and "https://" not in html

    measured = render_html(_real_measured())
    assert re.search(r'id="energy-source">measured<', measured) and ">modeled<" not in measured


def _real_measurements(sensor: bool):
    from mcukit.device.operations import LayerTiming, SampleResult
    from mcukit.device.protocol import SensorSample
    from mcukit.measure.bench import _Measured

    hz = 64_000_000
    records = []
    if sensor:  # calibration 4096 with a 0.1 ohm shunt: 0.1 mA per LSB; 50 LSB = 5 mA at a 3.3 V bus, 1 ms apart.
        # The first sample is the runtime's idle baseline (1 mA, before the marker): bench must leave it out.
        records = [SensorSample(0, 0, 0x10, 4096)]
        for k in range(5):
            c = k * hz // 1000
            lsb = 10 if k == 0 else 50
            records += [SensorSample(c, 0, 0x11, lsb), SensorSample(c, 0, 0x12, (825 << 3) | 2),
                        SensorSample(c, 0, 0x13, lsb), SensorSample(c, 0, 0x14, lsb * 41 // 50)]
    m = _Measured()
    for r, total in enumerate((64_000, 66_000, 65_000)):
        m.results.append(SampleResult(r, (b"",), total, hz, "cycles", 2 * r + 1, sensor=tuple(records if r == 0 else ())))
        layers = (LayerTiming(0, "conv", 40_000 + r), LayerTiming(1, "fc", 20_000))
        m.profiled.append(SampleResult(r, (b"",), total + 100, hz, "cycles", 2 * r + 2, layers=layers))
    return m


def test_real_board_summary_measured_and_modeled_energy() -> None:
    from mcukit.boards import get_board
    from mcukit.measure.bench import _summarise_real

    board = get_board("nano33")
    info = [{"index": 0, "op": "CONV_2D", "name": "conv", "macs": 80_000},
            {"index": 1, "op": "FULLY_CONNECTED", "name": "fc", "macs": 1_000}]
    out = _summarise_real(board, _real_measurements(sensor=True), info)
    lat = out["latency"]
    assert lat["unit"] == "cycles" and lat["estimate"] is False
    assert (lat["median"], lat["min"], lat["max"]) == (65_000, 64_000, 66_000)
    assert lat["ms"] == pytest.approx(65_000 / 64e6 * 1e3)
    conv, fc = out["layers"]
    assert conv["cost"] == 40_001 and conv["unit"] == "cycles" and conv["share"] == pytest.approx(40_001 / 65_000)
    assert conv["macs_per_cycle"] == pytest.approx(80_000 / 40_001) and fc["cost"] == 20_000
    e = out["energy"]
    assert e["source"] == "measured" and e["samples"] == 4
    assert e["mean_current_ma"] == pytest.approx(5.0)
    assert e["uj_per_inference"] == pytest.approx(3.3 * 5.0 * lat["ms"])  # mW x ms = uJ
    assert [p["t_ms"] for p in e["trace"]] == pytest.approx([0.0, 1.0, 2.0, 3.0])

    modeled = _summarise_real(board, _real_measurements(sensor=False), info)["energy"]
    assert modeled["source"] == "modeled"
    assert modeled["uj_per_inference"] == pytest.approx(
        board.power.supply_v * board.power.active_ua_per_mhz * 65_000 * board.clock_hz / 64e6 * 1e-6)
