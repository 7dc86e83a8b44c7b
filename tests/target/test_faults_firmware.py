"""Firmware that misbehaves in the middle of a deploy: it hangs, crashes (HardFault) or spews garbage on the link.

One faulty firmware serves every case: a rendered autoencoder project whose generated src/model/model.c is patched
so that mk_model_invoke() misbehaves when its input starts with "MKFAULT" and a mode letter (H hang, C crash,
G garbage for ever, B a burst of garbage and then a correct answer). The fault sample is the third of six, so the
two before it must be on disk afterwards: in the results JSON (status "failed", error.stage "run", run.completed 2,
latency over 2 samples) and in the outputs .npz (bit-exact with the reference). Every failure must be one clear
error line, a non-zero exit and no traceback, within a bounded time. The deploy is the real `mcukit deploy`
(in-process via mcukit.__main__.main) with only its build step replaced by the faulty firmware.
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
    environment,
    examples_fixture,
    int8_inputs,
    run_cli,
    write_tflite,
)

from mcukit.boards import get_board
from mcukit.build import build_project
from mcukit.pipeline.firmware import BuiltFirmware, generate_for, load_model
from mcukit.project import render_project
from mcukit.reference import run_reference

pytestmark = pytest.mark.slow

FAULT_HOOK = r"""
/* ---- fault injection (tests/target/test_faults_firmware.py) ---- */
#include <string.h>
#include "mcukit/mk_hal.h"

void *mk_model_input_ptr(int i);

static uint32_t mk_test_lcg = 12345u;

static void mk_test_garbage(uint32_t n)
{
    uint8_t buf[64];
    while (n > 0u) {
        const uint32_t k = n < sizeof buf ? n : (uint32_t)sizeof buf;
        for (uint32_t i = 0; i < k; ++i) {
            mk_test_lcg = mk_test_lcg * 1664525u + 1013904223u;
            buf[i] = (uint8_t)(mk_test_lcg >> 24);
        }
        mk_hal_write(buf, k);
        n -= k;
    }
}

static void mk_test_fault(void)
{
    const uint8_t *in = (const uint8_t *)mk_model_input_ptr(0);
    if (memcmp(in, "MKFAULT", 7) != 0) {
        return;
    }
    switch (in[7]) {
    case 'H':
        for (;;) {
            __asm volatile("" ::: "memory");
        }
    case 'C':
        __asm volatile("udf #0");
        break;
    case 'G':
        for (;;) {
            mk_test_garbage(64u);
        }
    case 'B':
        mk_test_garbage(1024u);
        break;
    default:
        break;
    }
}

int mk_model_invoke(void)
{
    mk_test_fault();
"""

SAMPLES = 6
FAULT_AT = 2  # the third sample


@pytest.fixture(scope="session")
def faulty(examples: dict[str, Example], deploy_cache: Path, tmp_path_factory: pytest.TempPathFactory):
    """(model .tflite path, BuiltFirmware of the patched project) on qemu-m4."""
    folder = tmp_path_factory.mktemp("faulty")
    tflite = write_tflite(examples["autoencoder"], folder)
    board = get_board("qemu-m4")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in environment(deploy_cache).items():
            mp.setenv(key, value)
        model = load_model(tflite)
        generated = generate_for(model, board, "tflm")
        project = render_project(generated, board, folder / "project", model_name=model.name)
        source = project.directory / "src" / "model" / "model.c"
        text = source.read_text()
        head = "int mk_model_invoke(void)\n{\n"
        assert text.count(head) == 1, "generated model.c changed shape: update FAULT_HOOK"
        source.write_text(text.replace(head, FAULT_HOOK.lstrip("\n")))
        firmware = build_project(project.directory, project.env_name, board=board)
    return tflite, BuiltFirmware(model, generated, project, firmware, cached=False)


def _inputs(example: Example, folder: Path, mode: str | None) -> tuple[Path, np.ndarray]:
    x8 = int8_inputs(example.tflite, example.x[:SAMPLES])
    if mode is not None:
        x8.reshape(SAMPLES, -1)[FAULT_AT, :8] = np.frombuffer(f"MKFAULT{mode}".encode(), dtype=np.int8)
    path = folder / f"inputs-{mode}.npy"
    np.save(path, x8)
    return path, x8


def _deploy(faulty, tmp_path: Path, mode: str | None, monkeypatch, capsys, examples, timeout: float = 2.0):
    tflite, built = faulty
    monkeypatch.setattr("mcukit.pipeline.deploy.build_firmware", lambda *a, **k: built)
    inputs, x8 = _inputs(examples["autoencoder"], tmp_path, mode)
    json_path = tmp_path / "results.json"
    result = run_cli(["deploy", tflite, "--board", "qemu-m4", "--test-data", inputs, "--json", json_path,
                      "--timeout", timeout, "--quiet"], capsys)
    return result, json.loads(json_path.read_text()), json_path.with_suffix(".outputs.npz"), x8


def _check_partial(data: dict, outputs: Path, x8: np.ndarray, tflite: Path) -> None:
    """What ran before the fault is on disk: the JSON says so and the saved outputs are the reference's."""
    assert data["status"] == "failed"
    assert data["error"]["stage"] == "run"
    assert data["run"] == {"completed": FAULT_AT, "total": SAMPLES}
    assert data["latency"]["samples"] == FAULT_AT
    assert data["memory"]["arena_bytes"] > 0 and data["model"]["sha256"]
    with np.load(outputs) as saved:
        got = saved["output0"]
    assert got.shape[0] == FAULT_AT
    want = run_reference(tflite.read_bytes(), [x8[:FAULT_AT]], oracle="tflm")[0].reshape(got.shape)
    np.testing.assert_array_equal(got, want)


def test_firmware_hangs(faulty, tmp_path, monkeypatch, capsys, deploy_env, examples) -> None:
    result, data, outputs, x8 = _deploy(faulty, tmp_path, "H", monkeypatch, capsys, examples, timeout=2.0)
    message = assert_clean_failure(result, "no answer within 2.0 s")
    assert result.seconds < 20, f"a hang took {result.seconds:.1f} s to report"
    assert data["error"]["message"] in message
    _check_partial(data, outputs, x8, faulty[0])


def test_firmware_crashes(faulty, tmp_path, monkeypatch, capsys, deploy_env, examples) -> None:
    result, data, outputs, x8 = _deploy(faulty, tmp_path, "C", monkeypatch, capsys, examples, timeout=10.0)
    assert_clean_failure(result, "crashed", "HARDFAULT pc=0x")
    # reported as soon as QEMU exits, not after the 10 s invoke timeout
    assert result.seconds < 8, f"a crash took {result.seconds:.1f} s to report"
    _check_partial(data, outputs, x8, faulty[0])


def test_firmware_prints_garbage_forever(faulty, tmp_path, monkeypatch, capsys, deploy_env, examples) -> None:
    result, data, outputs, x8 = _deploy(faulty, tmp_path, "G", monkeypatch, capsys, examples, timeout=2.0)
    message = assert_clean_failure(result, "noise")
    assert result.seconds < 25, f"garbage took {result.seconds:.1f} s to report"
    _check_partial(data, outputs, x8, faulty[0])
    # The link quotes the device's last lines clipped, so noise never makes the one error line kilobytes long.
    assert len(message) <= 600, f"the error line is {len(message):,} characters long"


def test_garbage_burst_is_skipped_and_results_stay_exact(faulty, tmp_path, monkeypatch, capsys, deploy_env,
                                                         examples) -> None:
    """1 KB of noise in the middle of an answer costs nothing but time: all six outputs are still exact."""
    result, data, outputs, x8 = _deploy(faulty, tmp_path, "B", monkeypatch, capsys, examples, timeout=5.0)
    assert result.code == 0, result.err
    assert data["status"] == "ok" and data["validation"]["bit_exact"] is True
    assert data["run"] == {"completed": SAMPLES, "total": SAMPLES}
    with np.load(outputs) as saved:
        got = saved["output0"]
    want = run_reference(faulty[0].read_bytes(), [x8], oracle="tflm")[0].reshape(got.shape)
    np.testing.assert_array_equal(got, want)
