"""The int16 GEMM weights (and Winograd's, larger still) are a flash-for-speed trade the pipeline makes per board:
kept while the weights stay within WIDE_WEIGHTS_FLASH_SHARE of the board's flash, else the next smaller form."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from mcukit.boards import Board, get_board
from mcukit.codegen.generate import GeneratedModel
from mcukit.ir.reader import parse_tflite
from mcukit.pipeline.firmware import WIDE_WEIGHTS_FLASH_SHARE, LoadedModel, generate_for

MODEL = Path(__file__).resolve().parents[1] / "data" / "ops" / "dsp_special" / "dsp_special_004.tflite"  # 1x1 conv


def _kernels(gen: object) -> str:
    return gen.files["model.c"]  # type: ignore[attr-defined]


def _loaded(path: Path) -> LoadedModel:
    data = path.read_bytes()
    return LoadedModel(path=path, name=path.stem, tflite=data, graph=parse_tflite(data, name=path.stem))


def _flash_for(board: Board, gen: GeneratedModel, extra: int) -> Board:
    """`board` with the flash at which gen's weights are exactly the allowed share, plus `extra` bytes."""
    return dataclasses.replace(board, flash_bytes=int(gen.weights_bytes / WIDE_WEIGHTS_FLASH_SHARE) + extra)


def test_wide_weights_only_where_flash_allows() -> None:
    model = _loaded(MODEL)
    board = get_board("qemu-m4")
    roomy = generate_for(model, board)
    assert "mk_conv_wide_s8_dsp(" in _kernels(roomy)
    # A board whose flash the int16 weights would crowd gets the int8 layout: fewer weight bytes, same op.
    narrow = generate_for(model, _flash_for(board, roomy, -1))
    assert "mk_conv_wide_s8_dsp(" not in _kernels(narrow) and "mk_conv_wide_w8_s8_dsp(" in _kernels(narrow)
    assert narrow.weights_bytes < roomy.weights_bytes
    # Exactly at the limit the wide form stays.
    assert "mk_conv_wide_s8_dsp(" in _kernels(generate_for(model, _flash_for(board, roomy, 1)))


WINO = Path(__file__).resolve().parents[1] / "data" / "ops" / "dsp_wino" / "dsp_wino_009.tflite"  # 3x3, 16 ch


def test_winograd_weights_are_dropped_first() -> None:
    """Winograd's weights (4x int8) give way to the wide kernel's (2x) before the int8 layout (1x) is used."""
    model = _loaded(WINO)
    board = get_board("qemu-m4")
    fastest = generate_for(model, board)
    assert "mk_conv_wino_s8_dsp(" in _kernels(fastest)
    middle_bytes = generate_for(model, _flash_for(board, fastest, -1))
    assert "mk_conv_wide_s8_dsp(" in _kernels(middle_bytes) and "mk_conv_wino_s8_dsp(" not in _kernels(middle_bytes)
    assert middle_bytes.weights_bytes < fastest.weights_bytes
    tight = generate_for(model, _flash_for(board, middle_bytes, -1))
    assert "mk_conv_wide_w8_s8_dsp(" in _kernels(tight) and tight.weights_bytes < middle_bytes.weights_bytes
