"""`mcukit deploy EXAMPLE --board B --test-data EXAMPLE_test.npz --json ...` on every emulated board, end to end.

Each deploy runs the real command line (`python -m mcukit deploy ...`) on the whole shipped test set and must end
bit-exact. The tests then check, independently of mcukit's own comparison:
- the outputs it saved equal the host reference interpreter's, element for element;
- the board's top-1 accuracy is within 2 points of the FLOAT Keras model's on the same test set (the autoencoder has
  no labels: its reconstruction error must match the float model's instead);
- the results JSON carries what the schema promises.
The deploys run two at a time (two QEMUs) in the background while the tests check the ones that finished; each
model/board pair builds once per session (shared MCUKIT_CACHE_DIR, see deploy_helpers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from deploy_helpers import (  # noqa: F401 - fixtures, used by name
    ROOT,
    Example,
    cpu_workers,
    deploy_cache_fixture,
    environment,
    examples_fixture,
    int8_inputs,
)

from mcukit.boards import get_board
from mcukit.hil.config import load_config
from mcukit.ir.reader import parse_tflite
from mcukit.reference import run_reference

# (model, board, reference). kws on qemu-m4 is the headline command; every example on the other three boards; the
# autoencoder (fully connected: the two references round differently there) against LiteRT.
MATRIX = [
    ("kws", "qemu-m4", "tflm"),
    *[(model, board, "tflm") for board in ("qemu-m7", "qemu-m55", "qemu-m3")
      for model in ("kws", "resnet", "autoencoder")],
    ("autoencoder", "qemu-m4", "litert"),
]
ACCURACY_POINTS = 0.02


@dataclass(frozen=True)
class DeployRun:
    case: tuple[str, str, str]
    code: int
    stdout: str
    stderr: str
    json_path: Path
    seconds: float

    @property
    def outputs_path(self) -> Path:
        return self.json_path.with_suffix(".outputs.npz")


def _deploy(case: tuple[str, str, str], out_dir: Path, env: dict[str, str]) -> DeployRun:
    model, board, reference = case
    json_path = out_dir / f"{model}-{board}-{reference}.json"
    cmd = [sys.executable, "-m", "mcukit", "deploy", f"examples/{model}.h5", "--board", board,
           "--reference", reference, "--test-data", f"examples/{model}_test.npz", "--json", str(json_path), "--quiet"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    return DeployRun(case, proc.returncode, proc.stdout, proc.stderr, json_path, time.monotonic() - start)


@pytest.fixture(scope="session")
def deploy_runs(request: pytest.FixtureRequest, examples: dict[str, Example], deploy_cache: Path,
                tmp_path_factory: pytest.TempPathFactory):
    """case -> Future[DeployRun] for the cases selected in this session. The first deploy runs alone (it sets up
    the PlatformIO core, which concurrent first builds would race on); the rest run two at a time."""
    wanted = [item.callspec.params["case"] for item in request.session.items
              if getattr(item, "originalname", "") == "test_deploy_example" and hasattr(item, "callspec")]
    out_dir = tmp_path_factory.mktemp("deploys")
    env = {**os.environ, **environment(deploy_cache)}
    env.pop("MCUKIT_PIO_CORE_DIR", None)
    futures: dict[tuple[str, str, str], Future] = {}
    pool = ThreadPoolExecutor(cpu_workers())
    if wanted:
        first: Future = Future()
        first.set_result(_deploy(wanted[0], out_dir, env))
        futures[wanted[0]] = first
    for case in wanted[1:]:
        futures[case] = pool.submit(_deploy, case, out_dir, env)
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def check_results_json(data: dict, board: str, reference: str, samples: int, tflite: bytes) -> None:
    graph = parse_tflite(tflite)
    b = get_board(board)
    assert data["schema"] == "mcukit.results/1"
    assert data["status"] == "ok"
    assert data["board"]["name"] == board and data["board"]["emulated"] is True
    model = data["model"]
    # Keras model + --test-data and no --calibration: deploy calibrates on the test data (random calibration cost
    # the resnet example 57 points of accuracy)
    assert model["sha256"] == graph.sha256
    assert model["calibration"] == f"examples/{model['name']}_test.npz"
    assert isinstance(model["macs"], int) and isinstance(model["params"], int)
    assert model["macs"] > 0 and model["params"] > 0
    mem = data["memory"]
    assert 0 < mem["arena_bytes"] <= mem["ram_bytes"] <= b.ram_bytes
    assert 0 < mem["weights_bytes"] < mem["flash_bytes"] <= b.flash_bytes
    lat = data["latency"]
    # emulated boards: latency in estimated cycles, exact instructions alongside (docs/results-schema.md)
    assert lat["unit"] == "estimated_cycles" and lat["estimate"] is True and lat["samples"] == samples
    assert data["instructions"]["exact"] is True and data["instructions"]["samples"] == samples
    assert 0 < lat["min"] <= lat["median"] <= lat["p90"] <= lat["max"]
    v = data["validation"]
    assert v["reference"] == reference
    assert v["samples"] == samples
    assert v["bit_exact"] is True and v["mismatches"] == 0
    assert data["run"] == {"completed": samples, "total": samples}
    assert set(data["stages"]) >= {"model_s", "build_s", "run_s"}


SHIPPED_BUDGETS_BOARDS = ("qemu-m4",)  # the board examples/mcukit.toml runs on


def check_shipped_budgets(model: str, data: dict) -> None:
    """The static budgets of examples/mcukit.toml (the `mcukit test` demo config) hold for this deploy's results, so
    a kernel or planner change that outgrows them fails here rather than in a user's first `mcukit test`."""
    spec = next(m for m in load_config(ROOT / "examples" / "mcukit.toml").models if m.name == model)
    budgets, mem = spec.budgets, data["memory"]
    for limit, measured in ((budgets.max_flash_bytes, mem["flash_bytes"]), (budgets.max_ram_bytes, mem["ram_bytes"]),
                            (budgets.max_arena_bytes, mem["arena_bytes"])):
        assert limit is None or measured <= limit, (model, mem, budgets)
    if budgets.max_latency is not None and budgets.max_latency.unit == "instructions":
        assert data["instructions"]["median"] <= budgets.max_latency.value, (model, budgets.max_latency)


@pytest.mark.slow
@pytest.mark.parametrize("case", MATRIX, ids=["-".join(c) for c in MATRIX])
def test_deploy_example(case: tuple[str, str, str], deploy_runs: dict, examples: dict[str, Example]) -> None:
    model, board, reference = case
    run: DeployRun = deploy_runs[case].result()
    assert run.code == 0, f"exit {run.code}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    ex = examples[model]
    n = len(ex.x)
    data = json.loads(run.json_path.read_text())
    check_results_json(data, board, reference, n, ex.tflite)

    # Bit-exact, checked here against the reference interpreter (not trusting the deploy's own comparison).
    with np.load(run.outputs_path) as saved:
        board_out = saved["output0"]
    assert board_out.shape[0] == n
    x8 = int8_inputs(ex.tflite, ex.x)
    want = run_reference(ex.tflite, [x8], oracle=reference)[0].reshape(board_out.shape)
    np.testing.assert_array_equal(board_out, want)
    if reference == "litert":
        # This model is one where the references differ (double vs single rounding): the board must follow LiteRT.
        tflm = run_reference(ex.tflite, [x8], oracle="tflm")[0].reshape(board_out.shape)
        assert (tflm != board_out).any(), "TFLM and LiteRT agree on this model: the --reference litert check is moot"

    if board in SHIPPED_BUDGETS_BOARDS:
        check_shipped_budgets(model, data)

    if ex.y is not None:
        labels = ex.y.reshape(-1)
        board_top1 = float((board_out.reshape(n, -1).argmax(axis=1) == labels).mean())
        assert data["accuracy"]["board_top1"] == pytest.approx(board_top1)
        assert data["accuracy"]["samples"] == n
        assert abs(board_top1 - ex.float_top1) <= ACCURACY_POINTS, (
            f"{model} on {board}: board top-1 {board_top1:.3f}, float Keras {ex.float_top1:.3f}")
    else:
        # Reconstruction: the dequantized board outputs must reconstruct the inputs as well as the float model.
        out_t = parse_tflite(ex.tflite).output_tensors[0]
        deq = (board_out.reshape(n, -1).astype(np.float64) - out_t.quant.zero_point[0]) * out_t.quant.scale[0]
        x = ex.x.reshape(n, -1).astype(np.float64)
        float_mse = float(((ex.float_outputs.reshape(n, -1) - x) ** 2).mean())
        board_mse = float(((deq - x) ** 2).mean())
        assert board_mse <= 1.05 * float_mse, f"board MSE {board_mse:.5f}, float {float_mse:.5f}"
        # and stay close to the float model's own outputs (well under 1% of the signal variance)
        assert ((deq - ex.float_outputs.reshape(n, -1)) ** 2).mean() < 0.01 * x.var()
