"""The int16 GEMM weights are a flash-for-speed trade the pipeline makes per board: kept while the weights stay
within WIDE_WEIGHTS_FLASH_SHARE of the board's flash, else the int8 GEMM kernels are generated instead."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mcukit.boards import get_board
from mcukit.ir.reader import parse_tflite
from mcukit.pipeline.firmware import WIDE_WEIGHTS_FLASH_SHARE, LoadedModel, generate_for

MODEL = Path(__file__).resolve().parents[1] / "data" / "ops" / "dsp_special" / "dsp_special_004.tflite"  # 1x1 conv


def _kernels(gen: object) -> str:
    return gen.files["model.c"]  # type: ignore[attr-defined]


def test_wide_weights_only_where_flash_allows() -> None:
    data = MODEL.read_bytes()
    model = LoadedModel(path=MODEL, name="m", tflite=data, graph=parse_tflite(data, name="m"))
    board = get_board("qemu-m4")
    roomy = generate_for(model, board)
    assert "mk_conv_wide_s8_dsp(" in _kernels(roomy)
    # A board whose flash the int16 weights would crowd gets the int8 layout: fewer weight bytes, same op.
    tight = dataclasses.replace(board, flash_bytes=int(roomy.weights_bytes / WIDE_WEIGHTS_FLASH_SHARE) - 1)
    narrow = generate_for(model, tight)
    assert "mk_conv_wide_s8_dsp(" not in _kernels(narrow) and "mk_conv_wide_w8_s8_dsp(" in _kernels(narrow)
    assert narrow.weights_bytes < roomy.weights_bytes
    # Exactly at the limit the wide form stays.
    edge = dataclasses.replace(board, flash_bytes=int(roomy.weights_bytes / WIDE_WEIGHTS_FLASH_SHARE) + 1)
    assert "mk_conv_wide_s8_dsp(" in _kernels(generate_for(model, edge))
