"""The typed graph every later stage works on: tensors with quantization, ops with their parameters.

Built from a .tflite by `mcukit.ir.reader.read_tflite`. Values are frozen: stages derive new values, they never
patch a graph in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# TFLite fused activation names, as the schema spells them.
ACTIVATIONS = ("NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT")

NUMPY_DTYPES = {
    "float32": np.float32,
    "float16": np.float16,
    "int32": np.int32,
    "uint8": np.uint8,
    "int64": np.int64,
    "bool": np.bool_,
    "int16": np.int16,
    "int8": np.int8,
    "float64": np.float64,
}


@dataclass(frozen=True)
class Quant:
    """Affine quantization real = scale * (q - zero_point); per channel along `axis` when len(scale) > 1."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str  # one of NUMPY_DTYPES' keys, or the schema's name in lower case for exotic types
    quant: Quant | None = None
    data: bytes | None = field(default=None, repr=False)  # constant contents (weights, biases, shapes)

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def itemsize(self) -> int:
        return np.dtype(NUMPY_DTYPES[self.dtype]).itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.itemsize

    def array(self) -> np.ndarray:
        """The constant contents as a numpy array of the tensor's shape (read-only)."""
        if self.data is None:
            raise ValueError(f"tensor {self.name!r} is not constant")
        return np.frombuffer(self.data, dtype=NUMPY_DTYPES[self.dtype]).reshape(self.shape)


# ---- op parameters: one frozen dataclass per kind of options -------------------------------------------------


@dataclass(frozen=True)
class NoOptions:
    pass


@dataclass(frozen=True)
class Conv2DOptions:
    padding: str  # "SAME" | "VALID"
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    activation: str


@dataclass(frozen=True)
class DepthwiseConv2DOptions:
    padding: str
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    depth_multiplier: int
    activation: str


@dataclass(frozen=True)
class Pool2DOptions:
    padding: str
    stride_h: int
    stride_w: int
    filter_h: int
    filter_w: int
    activation: str


@dataclass(frozen=True)
class FullyConnectedOptions:
    activation: str
    keep_num_dims: bool


@dataclass(frozen=True)
class ElementwiseOptions:
    """ADD, MUL, SUB: only a fused activation."""

    activation: str


@dataclass(frozen=True)
class ConcatenationOptions:
    axis: int
    activation: str


@dataclass(frozen=True)
class ReshapeOptions:
    new_shape: tuple[int, ...]


@dataclass(frozen=True)
class SoftmaxOptions:
    beta: float


@dataclass(frozen=True)
class LeakyReluOptions:
    alpha: float


@dataclass(frozen=True)
class ReducerOptions:
    """MEAN (and other reductions): the axes come from the op's second (constant) input."""

    keep_dims: bool


OpOptions = (
    NoOptions
    | Conv2DOptions
    | DepthwiseConv2DOptions
    | Pool2DOptions
    | FullyConnectedOptions
    | ElementwiseOptions
    | ConcatenationOptions
    | ReshapeOptions
    | SoftmaxOptions
    | LeakyReluOptions
    | ReducerOptions
)


@dataclass(frozen=True)
class Op:
    index: int
    kind: str  # builtin operator name as in the schema, e.g. "CONV_2D"; "CUSTOM:<code>" for custom ops
    inputs: tuple[int, ...]  # tensor indices; -1 marks an omitted optional input
    outputs: tuple[int, ...]
    options: OpOptions = NoOptions()
    version: int = 1


@dataclass(frozen=True)
class Graph:
    name: str
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    sha256: str  # of the .tflite bytes this graph was read from

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def op_inputs(self, op: Op) -> list[Tensor | None]:
        return [self.tensors[i] if i >= 0 else None for i in op.inputs]

    def op_outputs(self, op: Op) -> list[Tensor]:
        return [self.tensors[i] for i in op.outputs]

    @property
    def input_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.inputs]

    @property
    def output_tensors(self) -> list[Tensor]:
        return [self.tensors[i] for i in self.outputs]
