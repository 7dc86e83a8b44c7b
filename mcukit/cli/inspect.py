"""`mcukit inspect MODEL [--json]`: ops, shapes, quantization, MACs, parameters, memory, and what mcukit can run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from mcukit.errors import ModelError
from mcukit.ir.graph import Graph, Quant, Tensor

SCHEMA = "mcukit.inspect/1"

_HDF5 = b"\x89HDF\r\n\x1a\n"
_ZIP = b"PK\x03\x04"
_KNOWN_NON_MODELS = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"\x7fELF", "an ELF binary"),
)


@click.command("inspect")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help=f"Print stable JSON (schema {SCHEMA}) instead of tables.")
def inspect(model: Path, as_json: bool) -> None:
    """Describe MODEL: ops in order with shapes and quantization, MACs, parameters, weight bytes and the
    activation memory of a naive plan.

    MODEL is an int8 .tflite, or a Keras .h5/.keras file or SavedModel folder (quantized first, as
    `mcukit quantize` does; the result is cached).

    Ops that mcukit cannot run (unsupported, float, int16) are listed with the reason and a fix. inspect is
    informational: it exits 0 even then. It exits non-zero only when MODEL cannot be read.
    """
    graph, source = load_graph(model)
    report = build_report(graph, source)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _render(report)


# ---- loading ------------------------------------------------------------------------------------------------------


def load_graph(path: Path) -> tuple[Graph, str]:
    """Read a .tflite directly, or quantize a Keras model first. Returns the graph and "tflite" | "keras"."""
    from mcukit.ir.reader import parse_tflite

    if not path.exists():
        raise ModelError(f"model file {path} does not exist", "check the path")
    if path.is_dir():
        return _from_keras(path), "keras"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}", "check the file's permissions") from exc
    if not data:
        raise ModelError(f"{path} is empty", "re-export the model (mcukit quantize MODEL.h5 writes a .tflite)")
    if data[4:8] == b"TFL3":
        return parse_tflite(data, name=path.stem), "tflite"
    if data.startswith((_HDF5, _ZIP)):
        return _from_keras(path), "keras"
    if path.suffix.lower() == ".tflite":
        return parse_tflite(data, name=path.stem), "tflite"  # raises the reader's "not a TFLite flatbuffer" error
    raise ModelError(f"{path} is {_describe(data)}, not a model",
                     "pass an int8 .tflite, a Keras .h5/.keras file or a SavedModel folder")


def _from_keras(path: Path) -> Graph:
    from mcukit.ir.reader import parse_tflite
    from mcukit.quantize import quantize_file

    return parse_tflite(quantize_file(path).tflite, name=path.stem if path.is_file() else path.name)


def _describe(data: bytes) -> str:
    for magic, what in _KNOWN_NON_MODELS:
        if data.startswith(magic):
            return what
    head = data[:512]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "an unrecognised binary file"
    return "a text file" if all(c.isprintable() or c.isspace() for c in text) else "an unrecognised file"


# ---- report -------------------------------------------------------------------------------------------------------


def _quant(q: Quant | None) -> dict[str, Any] | None:
    if q is None:
        return None
    return {"scale": list(q.scale), "zero_point": list(q.zero_point), "axis": q.axis, "channels": len(q.scale)}


def _tensor(t: Tensor) -> dict[str, Any]:
    return {"index": t.index, "name": t.name, "shape": list(t.shape), "dtype": t.dtype, "constant": t.is_constant,
            "quant": _quant(t.quant)}


def build_report(graph: Graph, source: str = "tflite") -> dict[str, Any]:
    """The inspect report as plain JSON-ready data (schema mcukit.inspect/1)."""
    from mcukit.ir.counts import model_stats
    from mcukit.ir.validate import engine_kinds, find_problems

    stats = model_stats(graph)
    kinds = engine_kinds()
    problems = find_problems(graph, kinds)
    ops = []
    for op, layer in zip(graph.ops, stats.layers):
        ops.append({
            "index": op.index,
            "kind": op.kind,
            "version": op.version,
            "inputs": [None if t is None else _tensor(t) for t in graph.op_inputs(op)],
            "outputs": [_tensor(t) for t in graph.op_outputs(op)],
            "options": {"type": type(op.options).__name__, **dataclasses.asdict(op.options)},
            "macs": layer.macs,
            "ops": layer.ops,
            "params": layer.params,
            "weight_bytes": layer.weight_bytes,
            "supported": op.kind in kinds,
        })
    return {
        "schema": SCHEMA,
        "model": {"name": graph.name, "sha256": graph.sha256, "source": source},
        "inputs": [_tensor(t) for t in graph.input_tensors],
        "outputs": [_tensor(t) for t in graph.output_tensors],
        "ops": ops,
        "totals": {
            "ops": len(graph.ops),
            "macs": stats.macs,
            "params": stats.params,
            "weight_bytes": stats.weight_bytes,
            "activation_bytes_naive": stats.activation_bytes_naive,
            "largest_layer_bytes": stats.largest_layer_bytes,
        },
        "problems": [dataclasses.asdict(p) for p in problems],
        "runnable": not problems,
        "supported_kinds": sorted(kinds),
    }


# ---- human output -------------------------------------------------------------------------------------------------


def _shape(shape: list[int]) -> str:
    return "x".join(str(d) for d in shape) if shape else "scalar"


def _typed(t: dict[str, Any]) -> str:
    return _shape(t["shape"]) + ("" if t["dtype"] == "int8" else f" {t['dtype']}")


def _quant_text(t: dict[str, Any] | None) -> str:
    if t is None or t["quant"] is None:
        return "-"
    q = t["quant"]
    if q["channels"] > 1:
        return f"{q['channels']}ch axis {q['axis']}"
    return f"{q['scale'][0]:.4g}/{q['zero_point'][0]}"


def _render(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(highlight=False, width=140)
    m = report["model"]
    console.print(f"[bold]{m['name']}[/bold]  sha256 {m['sha256'][:16]}  ({m['source']})")
    for label, key in (("input ", "inputs"), ("output", "outputs")):
        for t in report[key]:
            console.print(f"  {label} {t['name']}: {_shape(t['shape'])} {t['dtype']}  scale/zp {_quant_text(t)}")

    table = Table(header_style="bold", caption="shapes are int8 unless a dtype is shown; q = scale / zero point")
    for col, justify in (("#", "right"), ("op", "left"), ("in", "left"), ("out", "left"), ("out q", "left"),
                         ("weights", "left"), ("MACs", "right"), ("params", "right")):
        table.add_column(col, justify=justify, no_wrap=col in ("op", "MACs", "params"))  # type: ignore[arg-type]
    for op in report["ops"]:
        variable = [t for t in op["inputs"] if t is not None and not t["constant"]]
        weights = next((t for t in op["inputs"][1:2] if t is not None and t["constant"]), None) if op["params"] else None
        out = op["outputs"][0] if op["outputs"] else None
        wtext = "-"
        if weights is not None:
            wtext = _typed(weights)
            if weights["quant"] is not None and weights["quant"]["channels"] > 1:
                wtext += f" /{weights['quant']['channels']}ch"
        table.add_row(
            str(op["index"]), op["kind"] if op["supported"] else f"[red]{op['kind']}[/red]",
            ", ".join(_typed(t) for t in variable) or "-",
            _typed(out) if out else "-",
            _quant_text(out), wtext,
            f"{op['macs']:,}" if op["macs"] else "-",
            f"{op['params']:,}" if op["params"] else "-",
        )
    console.print(table)
    tot = report["totals"]
    console.print(f"  ops {tot['ops']}   MACs {tot['macs']:,}   params {tot['params']:,}   "
                  f"weights {tot['weight_bytes']:,} bytes")
    console.print(f"  activations {tot['activation_bytes_naive']:,} bytes without reuse (naive plan); "
                  f"largest single layer {tot['largest_layer_bytes']:,} bytes")
    if report["problems"]:
        console.print(f"[yellow]mcukit cannot run this model yet ({len(report['problems'])} problem(s)):[/yellow]")
        for p in report["problems"]:
            console.print(f"  [yellow]-[/yellow] {p['message']}\n      fix: {p['hint']}")
        console.print(f"  supported ops: {', '.join(report['supported_kinds'])}")
    else:
        console.print("[green]all ops are supported by mcukit[/green]")
