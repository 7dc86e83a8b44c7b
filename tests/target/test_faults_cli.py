"""User-side faults at the edges of a run: a serial port that does not exist, a model too large for the board.

Both must end in one clear error line and a non-zero exit, quickly; the too-large model must be refused BEFORE
anything is built (PlatformIO is not even started) with the sizes in the message.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from deploy_helpers import (  # noqa: F401 - fixtures, used by name
    Example,
    assert_clean_failure,
    deploy_cache_fixture,
    deploy_env_fixture,
    examples_fixture,
    harness,
    run_cli,
    write_tflite,
)

from mcukit.boards import get_board
from mcukit.ir.reader import parse_tflite
from mcukit.pipeline.firmware import build_firmware, generate_for, load_model

pytestmark = pytest.mark.slow


def test_port_that_does_not_exist(examples: dict[str, Example], deploy_env: Path, tmp_path: Path, capsys) -> None:
    tflite = write_tflite(examples["autoencoder"], tmp_path)
    build_firmware(load_model(tflite), get_board("qemu-m4"))  # built beforehand: only the port lookup is timed
    np.save(tmp_path / "x.npy", examples["autoencoder"].x[:4])
    out = tmp_path / "y.npy"
    result = run_cli(["run", tflite, "--board", "qemu-m4", "-i", tmp_path / "x.npy", "-o", out,
                      "--port", "/dev/ttyDOESNOTEXIST", "--quiet"], capsys)
    assert_clean_failure(result, "/dev/ttyDOESNOTEXIST", "does not exist")
    # it waits a few seconds for a board that re-enumerates after flashing, not more
    assert result.seconds < 12, f"{result.seconds:.1f} s"
    assert not out.exists()


def _big_model(x):
    """About 150 KB of input and 300 KB of output activations: no way to fit 264 KB of RAM."""
    import keras

    return keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)


@pytest.fixture(scope="module")
def big_model(deploy_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MCUKIT_CACHE_DIR", str(deploy_cache))
        data = harness().int8_model(_big_model, [(96, 96, 16)], seed=3, calibration=4)
    path = tmp_path_factory.mktemp("big") / "big.tflite"
    path.write_bytes(data)
    return path


def _no_build(*args, **kwargs):
    raise AssertionError("PlatformIO was started for a model that cannot fit")


@pytest.mark.parametrize("command", ["build", "deploy"])
def test_model_too_large_for_the_board(command: str, big_model: Path, deploy_env: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr("mcukit.pipeline.firmware.build_project", _no_build)
    monkeypatch.setattr("mcukit.build.pio.run_pio", _no_build)
    pico = get_board("pico")
    arena = generate_for(load_model(big_model), pico).arena_bytes
    assert arena > pico.ram_bytes  # the premise
    args = [command, big_model, "--board", "pico"]
    json_path = tmp_path / "r.json"
    if command == "deploy":
        args += ["--json", json_path, "--quiet"]
    result = run_cli(args, capsys)
    message = assert_clean_failure(result, f"{arena:,}", f"{pico.ram_bytes:,}", "pico")
    assert "RAM" in message
    assert result.seconds < 10, f"{result.seconds:.1f} s"
    if command == "deploy":
        data = json.loads(json_path.read_text())
        assert data["status"] == "failed" and data["error"]["stage"] == "build"
        assert data["model"]["sha256"] == parse_tflite(big_model.read_bytes()).sha256
        assert "memory" not in data and "latency" not in data
