"""Untrusted .tflite bytes: mutated models may parse or fail, but only with ModelError, quickly, and never crash
inspect's report builder."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mcukit.errors import ModelError
from mcukit.ir.reader import parse_tflite

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
MUTANTS_PER_MODEL = 300

# Runs in a child process so that a hang or a crash in the flatbuffer decoder fails the test instead of pytest.
_FUZZ = textwrap.dedent(
    """
    import json, sys, time, traceback
    import numpy as np
    from mcukit.errors import ModelError
    from mcukit.ir.reader import parse_tflite
    from mcukit.cli.inspect import build_report

    path, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    buf = open(path, "rb").read()
    rng = np.random.default_rng(seed)
    EDGE = [0, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, 0x10000000, 0x00010000]

    def mutate(b):
        b = bytearray(b)
        kind = int(rng.integers(0, 5))
        if kind == 0:  # bit flips
            for _ in range(int(rng.integers(1, 8))):
                i = int(rng.integers(0, len(b)))
                b[i] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:  # random 4-byte overwrites
            for _ in range(int(rng.integers(1, 4))):
                i = int(rng.integers(0, len(b) - 4))
                b[i:i + 4] = rng.integers(0, 256, 4, dtype=np.uint8).tobytes()
        elif kind == 2:  # truncation
            b = b[: int(rng.integers(0, len(b)))]
        elif kind == 3:  # inserted bytes (shifts every later offset)
            i = int(rng.integers(0, len(b)))
            b[i:i] = rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8).tobytes()
        else:  # an absurd offset, length or dimension
            i = int(rng.integers(8, len(b) - 4))
            b[i:i + 4] = int(EDGE[int(rng.integers(0, len(EDGE)))]).to_bytes(4, "little")
        return bytes(b)

    stats = {"parsed": 0, "model_errors": 0, "other": [], "slowest_s": 0.0}
    for _ in range(count):
        m = mutate(buf)
        t0 = time.perf_counter()
        try:
            json.dumps(build_report(parse_tflite(m)))  # a parsed graph must also survive counting and validation
            stats["parsed"] += 1
        except ModelError:
            stats["model_errors"] += 1
        except BaseException:
            stats["other"].append(traceback.format_exc(limit=-4))
        stats["slowest_s"] = max(stats["slowest_s"], time.perf_counter() - t0)
    print(json.dumps(stats))
    """
)


@pytest.mark.parametrize("name", ["conv_block", "fc_stack", "float_edges"])
def test_mutated_models_raise_only_model_errors(name: str) -> None:
    seed = sum(map(ord, name))
    proc = subprocess.run(
        [sys.executable, "-c", _FUZZ, str(GOLDEN / f"{name}.tflite"), str(MUTANTS_PER_MODEL), str(seed)],
        check=False, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not stats["other"], "\n".join(stats["other"][:3])
    assert stats["parsed"] + stats["model_errors"] == MUTANTS_PER_MODEL
    assert stats["model_errors"] > 0 and stats["parsed"] > 0  # the mutations do reach both outcomes
    assert stats["slowest_s"] < 5.0


def _rebuilt(model: bytes, edit) -> bytes:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    m = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    edit(m)
    b = flatbuffers.Builder(0)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_absurd_shape_is_a_model_error() -> None:
    def edit(m) -> None:
        m.subgraphs[0].tensors[0].shape = [1 << 20, 1 << 20, 1 << 20, 1 << 20]

    bad = _rebuilt((GOLDEN / "conv_block.tflite").read_bytes(), edit)
    with pytest.raises(ModelError, match="absurd shape"):
        parse_tflite(bad)


def test_tensor_index_out_of_range_is_a_model_error() -> None:
    def edit(m) -> None:
        m.subgraphs[0].operators[0].inputs[0] = 10_000

    with pytest.raises(ModelError, match="refers to tensor"):
        parse_tflite(_rebuilt((GOLDEN / "fc_stack.tflite").read_bytes(), edit))


def test_every_truncation_is_a_model_error() -> None:
    buf = (GOLDEN / "fc_stack.tflite").read_bytes()
    for n in range(0, len(buf), max(1, len(buf) // 97)):
        with pytest.raises(ModelError):
            parse_tflite(buf[:n])
