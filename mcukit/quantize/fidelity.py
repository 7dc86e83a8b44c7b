"""How far the int8 model is from the float one, measured on held-out samples.

The int8 model runs on ai-edge-litert's reference kernels (never XNNPACK, which is not bit-exact); its outputs are
dequantized so errors are in the float model's output units.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mcukit.ir.graph import Graph, Quant


@dataclass(frozen=True)
class OutputFidelity:
    name: str
    shape: tuple[int, ...]  # one sample's output shape, batch included
    max_abs_error: float  # in output units
    mean_abs_error: float
    float_range: float  # max - min of the float outputs: puts the errors in proportion
    scale: float  # the int8 output's quantization step
    top1_agreement: float | None  # share of samples whose arg-max agrees; None unless the output is a classifier


@dataclass(frozen=True)
class FidelityReport:
    samples: int
    source: str  # "held-out calibration data" | "synthetic"
    outputs: tuple[OutputFidelity, ...]

    @property
    def max_abs_error(self) -> float:
        return max((o.max_abs_error for o in self.outputs), default=0.0)

    @property
    def top1_agreement(self) -> float | None:
        for o in self.outputs:
            if o.top1_agreement is not None:
                return o.top1_agreement
        return None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["max_abs_error"] = self.max_abs_error
        d["top1_agreement"] = self.top1_agreement
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FidelityReport:
        outputs = tuple(
            OutputFidelity(**{**o, "shape": tuple(o["shape"])}) for o in d["outputs"]
        )
        return cls(samples=int(d["samples"]), source=str(d["source"]), outputs=outputs)


def quantize_input(x: np.ndarray, quant: Quant) -> np.ndarray:
    q = np.round(x / quant.scale[0]) + quant.zero_point[0]
    return np.clip(q, -128, 127).astype(np.int8)


def dequantize(q: np.ndarray, quant: Quant) -> np.ndarray:
    return (q.astype(np.float64) - quant.zero_point[0]) * quant.scale[0]


def run_int8(tflite: bytes, graph: Graph, x: np.ndarray) -> list[np.ndarray]:
    """Dequantized int8-model outputs for float inputs x (N, *input_shape_without_batch)."""
    from mcukit.reference import run_reference

    (inp,) = graph.input_tensors
    assert inp.quant is not None
    q = quantize_input(x, inp.quant).reshape((x.shape[0], *inp.shape))
    outs = run_reference(tflite, [q], oracle="litert")
    result = []
    for t, o in zip(graph.output_tensors, outs):
        assert t.quant is not None
        result.append(dequantize(o, t.quant).reshape((x.shape[0], *t.shape)))
    return result


def is_classifier(shape: tuple[int, ...], input_shape: tuple[int, ...]) -> bool:
    """A rank-2 (batch, classes) output with more than one class that is not a reconstruction of the input.

    An autoencoder's output has the input's shape; its arg-max means nothing, so it gets no top-1 figure.
    """
    return len(shape) == 2 and shape[1] > 1 and tuple(shape) != tuple(input_shape)


def measure(float_outputs: list[np.ndarray], int8_outputs: list[np.ndarray], graph: Graph,
            source: str) -> FidelityReport:
    """Compare float and dequantized int8 outputs sample by sample."""
    reports = []
    n = float_outputs[0].shape[0] if float_outputs else 0
    for t, f, q in zip(graph.output_tensors, float_outputs, int8_outputs):
        f = np.asarray(f, np.float64).reshape(q.shape)
        err = np.abs(f - q)
        top1 = None
        if is_classifier(t.shape, graph.input_tensors[0].shape):
            top1 = float(np.mean(np.argmax(f.reshape(n, -1), 1) == np.argmax(q.reshape(n, -1), 1)))
        reports.append(OutputFidelity(
            name=t.name,
            shape=tuple(t.shape),
            max_abs_error=float(err.max()) if err.size else 0.0,
            mean_abs_error=float(err.mean()) if err.size else 0.0,
            float_range=float(f.max() - f.min()) if f.size else 0.0,
            scale=float(t.quant.scale[0]) if t.quant else 0.0,
            top1_agreement=top1,
        ))
    return FidelityReport(samples=n, source=source, outputs=tuple(reports))
