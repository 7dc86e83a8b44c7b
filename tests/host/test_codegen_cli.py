"""`mcukit compile`: writes a folder that builds on the host and prints arena/weights/layers; errors are clear."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mcukit.__main__ import main

DATA = Path(__file__).resolve().parents[1] / "data" / "ops"


def _supported_stored_model() -> Path:
    from harness import missing_lowerings

    for path in sorted(DATA.glob("*/*.tflite")) if DATA.is_dir() else []:
        if not missing_lowerings(path.read_bytes()):
            return path
    pytest.skip("no stored model in tests/data/ops whose ops all have lowerings")


def test_compile_writes_a_buildable_folder(tmp_path, capsys):
    from harness import reference

    from mcukit.hostbuild import HostModel, IOSpec, build_dir
    from mcukit.ir.reader import parse_tflite

    model = _supported_stored_model()
    out = tmp_path / "gen"
    assert main(["compile", str(model), "-o", str(out), "--json", "--emit-flatbuffer"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["arena_bytes"] > 0 and summary["layers"] >= 1 and summary["weights_bytes"] >= 0
    assert sorted(p.name for p in out.iterdir()) == summary["files"]
    assert f"#define MK_MODEL_ARENA_BYTES {summary['arena_bytes']}" in (out / "model.h").read_text()

    # The folder as written builds and matches the reference.
    graph = parse_tflite(model.read_bytes())
    host = HostModel(build_dir(out), [IOSpec(t.shape, t.dtype) for t in graph.input_tensors],
                     [IOSpec(t.shape, t.dtype) for t in graph.output_tensors])
    rng = np.random.default_rng(0)
    xs = [rng.integers(-128, 128, size=(3, *t.shape), dtype=np.int8) for t in graph.input_tensors]
    for got, exp in zip(host.run(xs), reference(model.read_bytes(), xs, "tflm")):
        np.testing.assert_array_equal(got, exp)

    # Text output names the figures; compiling again without the flatbuffer removes its stale files.
    assert main(["compile", str(model), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "arena" in text and "weights" in text and "layers" in text
    assert not (out / "model_tflite.c").exists()


def test_compile_unsupported_op_names_it(tmp_path, capsys, monkeypatch):
    from mcukit.codegen import ops
    from mcukit.ir.reader import parse_tflite

    model = _supported_stored_model()
    first = parse_tflite(model.read_bytes()).ops[0]
    table = {k: v for k, v in ops.registry().items() if k != first.kind}  # as if that lowering did not exist
    monkeypatch.setattr(ops, "registry", lambda: table)
    assert main(["compile", str(model), "-o", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert first.kind in err and f"op {first.index}" in err and "fix:" in err
    assert not (tmp_path / "x").exists()  # nothing is written for a model that cannot be compiled


def test_compile_rejects_missing_and_non_model_files(tmp_path, capsys):
    assert main(["compile", str(tmp_path / "nope.tflite"), "-o", str(tmp_path / "o")]) == 1
    assert "does not exist" in capsys.readouterr().err
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\x00" * 64)
    assert main(["compile", str(junk), "-o", str(tmp_path / "o")]) == 1
    assert "TFLite" in capsys.readouterr().err
    assert main(["compile", str(junk), "-o", str(tmp_path / "o"), "--rounding", "bogus"]) == 2
