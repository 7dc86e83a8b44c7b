"""The mcukit pytest plugin (entry point pytest11) as a user meets it: a HIL test file of their own, run by
pytest in a subprocess (pytester) with --mcukit-board, getting a flashed, handshaken board from the fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcukit.build import PioCore

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parents[1] / "data" / "golden"

USER_TEST = '''
import numpy as np

MODEL = {model!r}
GOLDEN = np.load({golden!r})


def test_board_matches_the_reference(mcukit_board, mcukit_device):
    assert mcukit_board.name == {board!r}
    with mcukit_device(MODEL) as dev:
        for i in range(3):
            result = dev.run_sample([GOLDEN["input_0"][i]])
            got = np.frombuffer(result.outputs[0], dtype=np.int8)
            assert np.array_equal(got, GOLDEN["tflm_0"][i].reshape(-1))


def test_a_wrong_expectation_fails(mcukit_device):
    with mcukit_device(MODEL) as dev:
        result = dev.run_sample([GOLDEN["input_0"][0]])
        got = np.frombuffer(result.outputs[0], dtype=np.int8)
        assert np.array_equal(got, GOLDEN["tflm_0"][1].reshape(-1))  # another sample's output
'''


@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m55"])
def test_user_hil_tests_run_on_the_chosen_board(board: str, pytester: pytest.Pytester, pio_core: PioCore,
                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCUKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MCUKIT_PIO_CORE_DIR", str(pio_core.core_dir))
    for key, value in pio_core.env.items():
        if key.lower().endswith("proxy"):
            monkeypatch.setenv(key, value)
    pytester.makepyfile(test_user=USER_TEST.format(model=str(GOLDEN / "fc_stack.tflite"),
                                                   golden=str(GOLDEN / "fc_stack.npz"), board=board))
    result = pytester.runpytest_subprocess("--mcukit-board", board, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_a_wrong_expectation_fails*"])


def test_plugin_options_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--mcukit-board*", "*--mcukit-port*"])
