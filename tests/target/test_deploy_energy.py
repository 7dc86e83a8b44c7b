"""`mcukit deploy` on an emulated board reports, from one QEMU run under the counting plugin: exact instructions
per inference, estimated cycles (and ms) labelled as estimates, and modeled energy; and keeps the SysTick figures
(with "counts unavailable") when the run fails midway.

The model is tests/data/golden/fc_stack.tflite (no TensorFlow); expected figures are derived from the run itself
(SysTick cross-check, the timing model and the energy model), never hard-coded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from deploy_helpers import deploy_cache_fixture, deploy_env_fixture  # noqa: F401

from mcukit.boards import get_board
from mcukit.measure.energy import modeled_energy_for_board
from mcukit.measure.timing_model import get_model
from mcukit.pipeline.deploy import DeployOptions, deploy

pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parents[1] / "data" / "golden"
BOARD = "qemu-m4"
# Instructions the firmware runs between its two counter reads outside mk_model_invoke. Measured on qemu-m4 over 40
# inferences each of fc_stack and kws: SysTick minus exact count from -12 to +60, i.e. 20 to 28 instructions.
HAL_READ_OVERHEAD = 32


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The golden inputs, and one input repeated (every inference of it must count the same)."""
    folder = tmp_path_factory.mktemp("deploy-energy")
    x = np.load(GOLDEN / "fc_stack.npz")["input_0"]
    np.save(folder / "all.npy", x)
    np.save(folder / "same.npy", np.repeat(x[3:4], 6, axis=0))
    return {"all": folder / "all.npy", "same": folder / "same.npy"}


def _deploy(test_data: Path, json_path: Path, progress=None) -> dict:
    opts = DeployOptions(board=get_board(BOARD), test_data=(str(test_data),), json_path=str(json_path))
    return deploy(GOLDEN / "fc_stack.tflite", opts, *(() if progress is None else (progress,)))


def test_exact_instructions_estimated_cycles_and_modeled_energy(inputs, deploy_env, tmp_path: Path) -> None:
    board = get_board(BOARD)
    data = _deploy(inputs["same"], tmp_path / "a.json")
    again = _deploy(inputs["same"], tmp_path / "b.json")
    assert json.loads((tmp_path / "a.json").read_text()) == json.loads(json.dumps(data))  # what is on disk
    assert data["status"] == "ok" and data["validation"]["bit_exact"]

    ins = data["instructions"]
    assert ins["unit"] == "instructions" and ins["exact"] is True and ins["samples"] == 6
    # the same input, six inferences in one run and six more in another run: one exact count
    assert ins["min"] == ins["max"] == again["instructions"]["median"] == ins["median"] > 0
    assert sum(ins["per_class"].values()) == ins["median"]

    # the firmware's own SysTick reading (QEMU -icount: 1 instruction per virtual ns) agrees to its resolution; it
    # also holds the instructions between its two counter reads outside mk_model_invoke (the call, the HAL read)
    dev = data["device_counter"]
    assert dev["unit"] == "instructions" and dev["resolution"] > 1
    diff = dev["median"] - ins["median"]
    assert -dev["resolution"] < diff < dev["resolution"] + HAL_READ_OVERHEAD, (dev, ins["median"])

    lat = data["latency"]
    model = get_model(board.core)
    assert lat["unit"] == "estimated_cycles" and lat["estimate"] is True and lat["samples"] == 6
    assert lat["timing_model"] == model.name and "estimate" in lat["source"]
    assert lat["low"] <= lat["median"] <= lat["high"]
    assert lat["median"] != ins["median"]  # priced, not a copy of the count
    assert lat["ms"] == pytest.approx(lat["median"] / board.clock_hz * 1e3)
    assert lat["clock_hz"] == board.clock_hz

    energy = data["energy"]
    assert energy["source"] == "modeled"
    want = modeled_energy_for_board(board, lat["median"]).uj_per_inference
    assert energy["uj_per_inference"] == pytest.approx(want) and want > 0
    assert board.name in energy["basis"] and "estimate" in energy["basis"]

    # different inputs are counted separately (the summary covers every sample)
    mixed = _deploy(inputs["all"], tmp_path / "c.json")
    assert mixed["instructions"]["samples"] == 16 and mixed["latency"]["samples"] == 16
    assert mixed["instructions"]["min"] <= ins["median"] <= mixed["instructions"]["max"]


class _Stop(Exception):
    pass


def test_failure_midway_keeps_systick_figures_and_says_counts_are_unavailable(inputs, deploy_env,
                                                                              tmp_path: Path) -> None:
    """The plugin's counts are complete only after BYE: a run that fails after 3 samples keeps the SysTick latency
    measured so far and says the exact counts are unavailable."""

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "run" and done == 3:
            raise _Stop("interrupted after 3 samples")

    path = tmp_path / "r.json"
    with pytest.raises(_Stop):
        _deploy(inputs["all"], path, progress)
    data = json.loads(path.read_text())
    assert data["status"] == "failed" and data["error"]["stage"] == "run"
    assert data["run"] == {"completed": 3, "total": 16}
    lat = data["latency"]
    assert lat["unit"] == "instructions" and lat["samples"] == 3 and lat["resolution"] > 1 and "SysTick" in lat["source"]
    assert data["device_counter"] == lat
    assert data["instructions"]["available"] is False and data["instructions"]["reason"].startswith("unavailable")
    assert "energy" not in data
