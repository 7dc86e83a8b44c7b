"""A bad link between the host and the board: bytes corrupted or dropped in either direction, or the connection cut.

A TCP proxy (deploy_helpers.TcpProxy) sits between `mcukit run --port socket://...` and QEMU's serial socket and
damages chosen bytes of the stream. The rule under test: damage is either recovered (the outputs are still the
reference's, bit for bit) or reported as one clear error — never accepted as wrong data. Light damage must be
recovered (the protocol resends); heavy damage and a cut link must be reported, with the outputs measured before
the failure written and exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from deploy_helpers import (  # noqa: F401 - fixtures, used by name
    Direction,
    Example,
    TcpProxy,
    assert_clean_failure,
    deploy_cache_fixture,
    deploy_env_fixture,
    examples_fixture,
    int8_inputs,
    qemu_for_fixture,
    run_cli,
    write_tflite,
)

from mcukit.boards import get_board
from mcukit.pipeline.firmware import build_firmware, load_model
from mcukit.reference import run_reference

pytestmark = pytest.mark.slow

SAMPLES = 12
BOARD = "qemu-m4"

# (name, device -> host damage, host -> device damage, must recover). Offsets are bytes from the start of the
# connection in that direction; a run of 12 autoencoder samples moves ~2.5 KB down and ~2 KB up.
CASES = [
    ("corrupt-down", Direction(corrupt=frozenset({420, 1111, 1500, 2222})), Direction(), True),
    ("corrupt-up", Direction(), Direction(corrupt=frozenset({200, 650, 1300})), True),
    ("drop-down", Direction(drop=frozenset({600, 1400})), Direction(), True),
    ("drop-up", Direction(), Direction(drop=frozenset({500})), True),
    ("corrupt-both", Direction(corrupt=frozenset({900, 1700})), Direction(corrupt=frozenset({1000})), True),
    # every 5th byte after the handshake: no frame survives, the host must give up and say so
    ("noisy-down", Direction(corrupt=frozenset(range(700, 100_000, 5))), Direction(), False),
    ("cut", Direction(cut_after=1200), Direction(), False),
]


@pytest.fixture
def link_setup(examples: dict[str, Example], deploy_env: Path, tmp_path: Path):
    """(model path, firmware ELF, float inputs .npy, reference outputs)."""
    ex = examples["autoencoder"]
    tflite = write_tflite(ex, tmp_path)
    built = build_firmware(load_model(tflite), get_board(BOARD))
    x = ex.x[:SAMPLES].astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    want = run_reference(ex.tflite, [int8_inputs(ex.tflite, x)], oracle="tflm")[0]
    return tflite, built.firmware.elf, tmp_path / "x.npy", want


@pytest.mark.parametrize(("name", "down", "up", "recover"), CASES, ids=[c[0] for c in CASES])
def test_damaged_link(name: str, down: Direction, up: Direction, recover: bool, link_setup, qemu_for, tmp_path,
                      capsys) -> None:
    tflite, elf, x_path, want = link_setup
    qemu = qemu_for(get_board(BOARD), elf)
    out = tmp_path / "y.npy"
    with TcpProxy(qemu.port, down=down, up=up) as proxy:
        result = run_cli(["run", tflite, "--board", BOARD, "-i", x_path, "-o", out, "--port", proxy.url,
                          "--timeout", "3", "--quiet"], capsys)
    damaged = down.corrupted + down.dropped + up.corrupted + up.dropped + int(proxy.cut)
    assert damaged > 0, "the proxy damaged nothing: the offsets are past the end of the stream"
    if result.code == 0:
        got = np.load(out)
        assert got.shape[0] == SAMPLES
        np.testing.assert_array_equal(got, want.reshape(got.shape))  # recovered means exact
    else:
        assert_clean_failure(result)
        assert out.exists() or name != "cut", "the samples before the cut were not written"
        if out.exists():  # what was measured before the failure, exact too
            got = np.load(out)
            assert 0 < got.shape[0] < SAMPLES
            np.testing.assert_array_equal(got, want[: got.shape[0]].reshape(got.shape))
    assert result.seconds < 30, f"{name}: {result.seconds:.1f} s"
    if recover:
        assert result.code == 0, f"{name}: light damage was not recovered: {result.err}"
    else:
        assert result.code != 0, f"{name}: heavy damage went unreported"
