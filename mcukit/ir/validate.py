"""Can mcukit's engine run this graph? Ops it has kernels for, int8 activations, int8 weights, int32 biases.

`find_problems` lists every problem (inspect shows them all); `check_supported` raises the first one as an
UnsupportedModelError (compile and deploy stop there).
"""

from __future__ import annotations

from dataclasses import dataclass

from mcukit.errors import UnsupportedModelError
from mcukit.ir.graph import Graph, Op, Tensor

# The ops the issue asks the engine to run. `engine_kinds()` prefers the code generator's registry once it has
# lowerings; this list is the fallback and the target.
ENGINE_KINDS: frozenset[str] = frozenset({
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "MUL", "MEAN", "PAD",
    "CONCATENATION", "RESHAPE", "SOFTMAX", "LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "RELU", "RELU6",
    "QUANTIZE", "DEQUANTIZE",
})

_WEIGHTED = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"})
# Operand positions that hold shapes/axes/paddings (int32 constants), not data.
_INDEX_OPERANDS = {"RESHAPE": (1,), "MEAN": (1,), "PAD": (1,), "PADV2": (1,)}
_FLOATS = frozenset({"float32", "float16", "float64", "bfloat16"})

_QUANTIZE_HINT = "quantize the model to int8 with `mcukit quantize MODEL.h5`"
_INT8_HINT = "mcukit runs int8 models: quantize with int8 activations (`mcukit quantize` does this), not 16x8"
_INSPECT_HINT = "`mcukit inspect MODEL` lists the ops mcukit supports; replace or remove this layer in the model"


@dataclass(frozen=True)
class Problem:
    op_index: int | None  # None: the model as a whole
    kind: str  # the op kind, or "" for model-level problems
    message: str  # complete sentence naming the op, e.g. "op 3 (SQRT) is not supported by mcukit"
    hint: str


def engine_kinds() -> frozenset[str]:
    """The op kinds the code generator can lower; ENGINE_KINDS until lowerings are registered."""
    try:
        from mcukit.codegen.ops import supported_kinds

        kinds = supported_kinds()
    except Exception:  # noqa: BLE001 - a broken lowering module must not stop inspect from describing a model
        kinds = frozenset()
    return kinds or ENGINE_KINDS


def find_problems(graph: Graph, supported_kinds: frozenset[str] | None = None) -> list[Problem]:
    supported = engine_kinds() if supported_kinds is None else supported_kinds
    problems: list[Problem] = []
    if not graph.ops:
        problems.append(Problem(None, "", "the model has no operators", "re-export the model"))
    for op in graph.ops:
        problems.extend(_op_problems(graph, op, supported))
    return problems


def check_supported(graph: Graph, supported_kinds: frozenset[str] | None = None) -> None:
    problems = find_problems(graph, supported_kinds)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        raise UnsupportedModelError(first.message + more, first.hint)


def _label(op: Op) -> str:
    return f"op {op.index} ({op.kind})"


def _op_problems(graph: Graph, op: Op, supported: frozenset[str]) -> list[Problem]:
    tensors = [t for t in graph.op_inputs(op) + graph.op_outputs(op) if t is not None]
    variable = [t for t in tensors if not t.is_constant]
    floats = [t for t in variable if t.dtype in _FLOATS]

    if op.kind not in supported:
        if op.kind.startswith("CUSTOM:"):
            msg = f"{_label(op)} is a custom op, which mcukit cannot run"
            return [Problem(op.index, op.kind, msg, _INSPECT_HINT)]
        if floats and op.kind not in ("QUANTIZE", "DEQUANTIZE"):
            msg = f"{_label(op)} computes in {floats[0].dtype} and is not supported by mcukit"
            return [Problem(op.index, op.kind, msg, _QUANTIZE_HINT)]
        return [Problem(op.index, op.kind, f"{_label(op)} is not supported by mcukit", _INSPECT_HINT)]

    if op.kind == "QUANTIZE":
        return _edge_problems(graph, op, into_model=True)
    if op.kind == "DEQUANTIZE":
        return _edge_problems(graph, op, into_model=False)

    problems = []
    for t in variable:
        p = _activation_problem(op, t)
        if p is not None:
            problems.append(p)
            break  # one dtype problem per op is enough to act on
    problems.extend(_constant_problems(graph, op))
    return problems


def _activation_problem(op: Op, t: Tensor) -> Problem | None:
    if t.dtype in _FLOATS:
        return Problem(op.index, op.kind, f"{_label(op)} has {t.dtype} tensor {t.name!r}: the model is not "
                       "fully quantized", _QUANTIZE_HINT)
    if t.dtype == "int16":
        return Problem(op.index, op.kind, f"{_label(op)} has int16 activations ({t.name!r})", _INT8_HINT)
    if t.dtype != "int8":
        return Problem(op.index, op.kind, f"{_label(op)} has a {t.dtype} activation tensor {t.name!r}; mcukit "
                       "runs int8 activations only", _QUANTIZE_HINT)
    if t.quant is None:
        return Problem(op.index, op.kind, f"{_label(op)}: int8 tensor {t.name!r} has no quantization parameters",
                       _QUANTIZE_HINT)
    if t.quant.per_channel:
        return Problem(op.index, op.kind, f"{_label(op)}: activation {t.name!r} is quantized per channel",
                       "activations must be quantized per tensor; re-quantize with `mcukit quantize`")
    return None


def _constant_problems(graph: Graph, op: Op) -> list[Problem]:
    ins = graph.op_inputs(op)
    problems = []
    if op.kind in _WEIGHTED:
        w = ins[1] if len(ins) > 1 else None
        if w is None or not w.is_constant:
            return [Problem(op.index, op.kind, f"{_label(op)} has non-constant weights (a matmul of two "
                            "activations), which mcukit cannot run", _INSPECT_HINT)]
        if w.dtype != "int8":
            hint = _QUANTIZE_HINT if w.dtype in _FLOATS else "mcukit runs int8 weights; quantize with `mcukit quantize`"
            problems.append(Problem(op.index, op.kind, f"{_label(op)} has {w.dtype} weights", hint))
        elif w.quant is None or any(z != 0 for z in w.quant.zero_point):
            problems.append(Problem(op.index, op.kind, f"{_label(op)}: weights must be symmetric int8 "
                            "(zero point 0)", _QUANTIZE_HINT))
        b = ins[2] if len(ins) > 2 else None
        if b is not None and (not b.is_constant or b.dtype != "int32"):
            what = "non-constant" if not b.is_constant else b.dtype
            problems.append(Problem(op.index, op.kind, f"{_label(op)} has a {what} bias (int32 expected)",
                                    _QUANTIZE_HINT))
        return problems
    index_pos = _INDEX_OPERANDS.get(op.kind, ())
    for pos, t in enumerate(ins):
        if t is None or not t.is_constant:
            continue
        if pos in index_pos:
            if t.dtype not in ("int32", "int64"):
                problems.append(Problem(op.index, op.kind, f"{_label(op)}: operand {pos} should be int32, "
                                        f"is {t.dtype}", "re-export the model"))
        elif t.dtype != "int8":
            hint = _QUANTIZE_HINT if t.dtype in _FLOATS else _INT8_HINT
            problems.append(Problem(op.index, op.kind, f"{_label(op)} has a {t.dtype} constant operand "
                                    f"{t.name!r}", hint))
    return problems


def _edge_problems(graph: Graph, op: Op, into_model: bool) -> list[Problem]:
    """QUANTIZE float->int8 may only read a model input; DEQUANTIZE int8->float may only write a model output.

    QUANTIZE int8->int8 (a requantization inside the model) is fine anywhere.
    """
    ins = [t for t in graph.op_inputs(op) if t is not None]
    outs = graph.op_outputs(op)
    if not ins or not outs:
        return [Problem(op.index, op.kind, f"{_label(op)} lacks an input or output", "re-export the model")]
    src, dst = ins[0], outs[0]
    if into_model:
        if src.dtype == "int8" and dst.dtype == "int8":
            return []
        if src.dtype != "float32" or dst.dtype != "int8":
            return [Problem(op.index, op.kind, f"{_label(op)} converts {src.dtype} to {dst.dtype}; mcukit supports "
                            "float32 -> int8 at the model input", _QUANTIZE_HINT)]
        if src.index not in graph.inputs:
            return [Problem(op.index, op.kind, f"{_label(op)} quantizes a float tensor inside the model (float "
                            "layers before it)", _QUANTIZE_HINT)]
        return []
    if src.is_constant:
        return [Problem(op.index, op.kind, f"{_label(op)} dequantizes constant {src.dtype} weights (a float16 or "
                        "dynamic-range model)", _QUANTIZE_HINT)]
    if src.dtype != "int8" or dst.dtype != "float32":
        return [Problem(op.index, op.kind, f"{_label(op)} converts {src.dtype} to {dst.dtype}; mcukit supports "
                        "int8 -> float32 at the model output", _QUANTIZE_HINT)]
    if dst.index not in graph.outputs:
        return [Problem(op.index, op.kind, f"{_label(op)} dequantizes inside the model (float layers after it)",
                        _QUANTIZE_HINT)]
    return []


__all__ = ["ENGINE_KINDS", "Problem", "check_supported", "engine_kinds", "find_problems"]
