"""Intermediate representation: .tflite -> typed graph, validation, MAC and parameter counts."""

from mcukit.ir.graph import Graph, Op, Quant, Tensor
from mcukit.ir.reader import parse_tflite, read_tflite

__all__ = ["Graph", "Op", "Quant", "Tensor", "parse_tflite", "read_tflite"]
