"""Graph -> plain C: lower every op, plan memory, substitute placeholders, render templates/model/*.j2.

The output is a folder's worth of files (model.h, model.c, model_weights.c and, on request, the .tflite bytes) that
builds with the kernels in firmware/src/kernels against firmware/include. Generation is deterministic: the same
graph and options always give byte-identical files, so outputs can be cached and diffed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mcukit.codegen import cnames
from mcukit.codegen.fusion import ConvAdd, find_conv_add, fused_body, plan_fused
from mcukit.codegen.kernel_call import CArray, KernelCall, LowerOptions
from mcukit.errors import CompileError, UnsupportedModelError
from mcukit.ir.graph import Graph, Tensor
from mcukit.plan import MemoryPlan, alias_roots

ROUNDINGS = {"tflm": 0, "litert": 1}  # rounding name -> MK_SINGLE_ROUNDING

_PLACEHOLDER = re.compile(r"@(T(\d+)|SCRATCH|A:([^@]+))@")


@dataclass(frozen=True)
class IOTensor:
    """A model input or output as the generated C exposes it."""

    tensor: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int
    scale: float | None
    zero_point: int | None


@dataclass(frozen=True)
class GeneratedModel:
    files: dict[str, str] = field(repr=False)  # file name -> contents
    arena_bytes: int
    weights_bytes: int  # constant tensors and kernel arrays, as emitted
    plan: MemoryPlan = field(repr=False)
    layer_names: tuple[str, ...]
    calls: tuple[KernelCall, ...] = field(repr=False)
    inputs: tuple[IOTensor, ...]
    outputs: tuple[IOTensor, ...]
    rounding: str
    sha256: str
    macs: int = 0
    order: tuple[int, ...] = ()  # op indices in the order model.c runs them (layer_names is by op index)
    # CONV_2D + ADD pairs computed together (mcukit.codegen.fusion): the conv's output tensor is not in the plan,
    # and the plan is the one of fusion.planning_view (check_plan it against that view)
    fused: tuple[ConvAdd, ...] = ()


def _validate(graph: Graph) -> None:
    from mcukit.codegen.ops import registry

    table = registry()
    if not graph.ops:
        raise UnsupportedModelError("the model has no operators", "re-export the model")
    try:
        from mcukit.ir.validate import check_supported  # dtype/quantization checks that name the op
    except ImportError:
        check_supported = None
    if check_supported is not None:
        check_supported(graph, frozenset(table))
    for op in graph.ops:
        if op.kind not in table:
            known = ", ".join(sorted(table)) or "none yet"
            raise UnsupportedModelError(
                f"op {op.index} ({op.kind}) is not supported by the code generator",
                f"replace the layer that produces {op.kind} with a supported one (supported: {known})",
            )
    for t in list(graph.inputs) + list(graph.outputs):
        if graph.tensors[t].dtype not in cnames.C_TYPES:
            raise UnsupportedModelError(
                f"model input/output {graph.tensors[t].name!r} has type {graph.tensors[t].dtype}",
                "quantize the model with int8 inputs and outputs (mcukit quantize does this)",
            )


def lower_all(graph: Graph, options: LowerOptions) -> tuple[KernelCall, ...]:
    from mcukit.codegen.ops import registry

    table = registry()
    calls = []
    for op in graph.ops:
        try:
            calls.append(table[op.kind](op, graph, options))
        except (UnsupportedModelError, CompileError):
            raise
        except ValueError as exc:
            raise UnsupportedModelError(
                f"op {op.index} ({op.kind}) cannot be lowered: {exc}",
                "this layer configuration is not supported; see docs/kernels.md",
            ) from exc
    return tuple(calls)


def _io(graph: Graph, index: int) -> IOTensor:
    t = graph.tensors[index]
    q = t.quant
    return IOTensor(
        tensor=index,
        name=t.name,
        shape=t.shape,
        dtype=t.dtype,
        nbytes=t.nbytes,
        scale=q.scale[0] if q is not None and len(q.scale) == 1 else None,
        zero_point=q.zero_point[0] if q is not None and len(q.zero_point) == 1 else None,
    )


def _layer_name(graph: Graph, op_index: int) -> str:
    op = graph.ops[op_index]
    out = graph.tensors[op.outputs[0]].name if op.outputs else ""
    # TFLite names are "a/b/c;a/b/d": keep the first path, drop the trailing op suffix when there is a parent.
    out = out.split(";")[0]
    parts = [p for p in out.split("/") if p]
    short = "/".join(parts[-2:]) if len(parts) > 1 else (parts[0] if parts else "")
    return f"{op.kind} {short}".strip()


def generate(
    graph: Graph,
    options: LowerOptions | None = None,
    *,
    emit_flatbuffer: bytes | None = None,
    model_name: str | None = None,
    fuse: bool = True,
) -> GeneratedModel:
    """Lower, plan and render. Raises UnsupportedModelError for ops or layouts mcukit cannot generate.

    fuse: compute each residual ADD tile by tile with the CONV_2D feeding it (mcukit.codegen.fusion), so the
    conv's output tensor never takes arena space; False keeps every op separate (same output bytes)."""
    options = options or LowerOptions()
    if options.rounding not in ROUNDINGS:
        raise CompileError(f"unknown rounding {options.rounding!r}", "use 'tflm' or 'litert'")
    _validate(graph)
    calls = lower_all(graph, options)
    fusions, plan = plan_fused(graph, calls, find_conv_add(graph, calls) if fuse else ())
    return render(graph, calls, plan, options, emit_flatbuffer=emit_flatbuffer, model_name=model_name,
                  fusions=fusions)


def render(
    graph: Graph,
    calls: Sequence[KernelCall],
    plan: MemoryPlan,
    options: LowerOptions,
    *,
    emit_flatbuffer: bytes | None = None,
    model_name: str | None = None,
    fusions: Sequence[ConvAdd] = (),
) -> GeneratedModel:
    name = model_name or graph.name
    fused_conv = {f.conv: f for f in fusions}
    fused_add = {f.add: f for f in fusions}
    fused_pre = {f.pre: f for f in fusions if f.pre >= 0}  # streamed row by row inside the conv's layer
    roots = alias_roots(graph, calls)

    # Constant symbols: only those some call references (through an alias chain, the root's data).
    const_symbols: dict[int, str] = {}
    constants: list[dict] = []
    arrays: list[dict] = []
    weights_bytes = 0

    def const_symbol(t: Tensor) -> str:
        nonlocal weights_bytes
        if t.index not in const_symbols:
            sym = f"mk_w{t.index}_{cnames.identifier(t.name.split(';')[0].split('/')[-1] or t.name, 24)}"
            const_symbols[t.index] = sym
            ctype = _ctype(t)
            values = t.array() if t.dtype in cnames.C_TYPES and t.dtype != "float16" else np.frombuffer(
                t.data or b"", dtype=np.uint8)
            if t.dtype == "float16":
                values = np.frombuffer(t.data or b"", dtype=np.uint16)
                ctype = "uint16_t"
            if t.dtype == "bool":
                values = values.astype(np.uint8)
            weights_bytes += values.nbytes
            constants.append({
                "symbol": sym,
                "ctype": ctype,
                "length": max(1, values.size),
                "comment": cnames.comment(f"tensor {t.index} {t.name} {t.dtype}{list(t.shape)}"),
                "init": cnames.initializer(values, ctype),
            })
        return const_symbols[t.index]

    def tensor_expr(i: int) -> str:
        if not 0 <= i < len(graph.tensors):
            raise CompileError(f"a lowering referred to tensor {i}, which does not exist", "this is a bug in mcukit")
        t = graph.tensors[roots.get(i, i)]
        if t.is_constant:
            return const_symbol(t)
        off = plan.offsets[i]
        return f"(({_ctype(graph.tensors[i])} *)(mk_arena + {off}))"

    layers = []
    substs = {}
    # model.c runs the ops in the plan's execution order; a layer keeps its op index (MK_LAYER_BEGIN(index),
    # mk_model_layer_names[index]), so per-layer results name the same op whatever the order.
    for o in plan.execution_order(graph):
        op, call = graph.ops[o], calls[o]
        array_syms: dict[str, str] = {}
        for arr in call.arrays:
            sym = f"mk_l{op.index}_{cnames.identifier(arr.name, 32)}"
            if arr.name in array_syms or sym in array_syms.values():
                raise CompileError(f"op {op.index} returned two arrays named {arr.name!r}", "this is a bug in mcukit")
            array_syms[arr.name] = sym
            arrays.append(_array_entry(arr, sym, op.index))
            weights_bytes += _array_nbytes(arr)

        def subst(text: str, op_index: int = op.index, syms: dict[str, str] = array_syms) -> str:
            def repl(m: re.Match) -> str:
                if m.group(2) is not None:
                    return tensor_expr(int(m.group(2)))
                if m.group(1) == "SCRATCH":
                    if op_index not in plan.scratch:
                        raise CompileError(f"op {op_index} uses scratch but asked for none", "this is a bug in mcukit")
                    return f"((int8_t *)(mk_arena + {plan.scratch[op_index][0]}))"
                key = m.group(3)
                if key not in syms:
                    raise CompileError(f"op {op_index} refers to unknown array {key!r}", "this is a bug in mcukit")
                return syms[key]

            return _PLACEHOLDER.sub(repl, text)

        substs[op.index] = subst
        fused = op.index in fused_conv or op.index in fused_add or op.index in fused_pre  # args refer to the unplanned conv output
        layers.append({
            "index": op.index,
            "kind": op.kind,
            "name": _layer_name(graph, op.index),
            "comment": cnames.comment(
                f"{op.index}: {op.kind} in={list(op.inputs)} out={list(op.outputs)} "
                f"{graph.tensors[op.outputs[0]].name if op.outputs else ''}"),
            "alias": call.alias,
            "kernel": call.kernel,
            "params_type": call.params_type,
            "params_symbol": f"mk_p{op.index}",
            "params": [(f, subst(v)) for f, v in call.params],
            "args": [] if fused else [subst(a) for a in call.args],
            "body": [],
            "fused_with": fused_conv[op.index].add if op.index in fused_conv else
            fused_add[op.index].conv if op.index in fused_add else
            fused_pre[op.index].conv if op.index in fused_pre else None,
        })
    for layer in layers:
        f = fused_conv.get(layer["index"])
        if f is not None:  # the whole fused op runs inside the conv's layer markers (its place in the order)
            layer["body"] = fused_body(graph, calls, f, substs[f.conv], substs[f.add],
                                       f"((int8_t *)(mk_arena + {plan.scratch[f.add][0]}))",
                                       substs.get(f.pre))

    io_in = tuple(_io(graph, t) for t in graph.inputs)
    io_out = tuple(_io(graph, t) for t in graph.outputs)
    for io in io_out:
        if graph.tensors[roots.get(io.tensor, io.tensor)].is_constant:
            raise UnsupportedModelError(f"model output {io.name!r} is a constant", "remove the constant output")

    def io_entry(io: IOTensor) -> dict:
        return {
            "ctype": cnames.C_TYPES[io.dtype],
            "offset": plan.offsets[io.tensor],
            "nbytes": io.nbytes,
            "size": int(np.prod(io.shape, dtype=np.int64)) if io.shape else 1,
            "shape": list(io.shape),
            "shape_c": ", ".join(str(d) for d in io.shape) or "1",
            "rank": len(io.shape),
            "name": cnames.comment(io.name),
            "scale": repr(float(io.scale)) if io.scale is not None else None,
            "zero_point": io.zero_point,
            "dtype": io.dtype,
        }

    def ptr_type(ios: tuple[IOTensor, ...]) -> str:
        return "int8_t" if all(io.dtype == "int8" for io in ios) else "void"

    layer_names = tuple(layer["name"] for layer in sorted(layers, key=lambda layer: layer["index"]))
    ctx = {
        "model_name": cnames.comment(name),
        "model_name_c": cnames.c_string(name),
        "sha256": graph.sha256,
        "rounding": options.rounding,
        "single_rounding": ROUNDINGS[options.rounding],
        "arena_bytes": plan.arena_bytes,
        "arena_decl": max(1, plan.arena_bytes),
        "naive_bytes": plan.naive_bytes,
        "weights_bytes": weights_bytes,
        "layers": layers,
        "layer_names_c": [cnames.c_string(n) for n in layer_names],
        "inputs": [io_entry(io) for io in io_in],
        "outputs": [io_entry(io) for io in io_out],
        "input_ptr_type": ptr_type(io_in),
        "output_ptr_type": ptr_type(io_out),
        "constants": constants,
        "arrays": arrays,
        "flatbuffer": None,
    }
    files = {
        "model.h": _render("model.h.j2", ctx),
        "model.c": _render("model.c.j2", ctx),
        "model_weights.c": _render("model_weights.c.j2", ctx),
    }
    if emit_flatbuffer is not None:
        fb = np.frombuffer(emit_flatbuffer, dtype=np.uint8)
        ctx["flatbuffer"] = {"length": len(emit_flatbuffer), "init": cnames.initializer(fb, "uint8_t", per_line=32)}
        files["model_tflite.h"] = _render("model_tflite.h.j2", ctx)
        files["model_tflite.c"] = _render("model_tflite.c.j2", ctx)
    return GeneratedModel(
        files=files,
        arena_bytes=plan.arena_bytes,
        weights_bytes=weights_bytes,
        plan=plan,
        layer_names=layer_names,
        calls=tuple(calls),
        inputs=io_in,
        outputs=io_out,
        rounding=options.rounding,
        sha256=graph.sha256,
        macs=sum(c.macs for c in calls),
        order=plan.execution_order(graph),
        fused=tuple(fusions),
    )


def _ctype(t: Tensor) -> str:
    if t.dtype not in cnames.C_TYPES:
        raise UnsupportedModelError(f"tensor {t.name!r} has type {t.dtype}", "mcukit supports int8 models")
    return cnames.C_TYPES[t.dtype]


def _array_entry(arr: CArray, sym: str, op_index: int) -> dict:
    if arr.ctype not in cnames.NUMPY_OF_CTYPE:
        raise CompileError(f"op {op_index} array {arr.name!r} has C type {arr.ctype}", "this is a bug in mcukit")
    values = np.asarray(arr.values)
    return {
        "symbol": sym,
        "ctype": arr.ctype,
        "length": max(1, values.size),
        "comment": cnames.comment(f"op {op_index} {arr.name} {list(values.shape)}"),
        "init": cnames.initializer(values, arr.ctype),
    }


def _array_nbytes(arr: CArray) -> int:
    return int(np.asarray(arr.values).size) * np.dtype(cnames.NUMPY_OF_CTYPE[arr.ctype]).itemsize


def _render(template: str, ctx: dict) -> str:
    return _environment().get_template(template).render(**ctx)


_ENV = None


def _environment():
    global _ENV
    if _ENV is None:
        import jinja2

        from mcukit.paths import data_dir

        _ENV = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(data_dir("templates") / "model")),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
        )
    return _ENV
