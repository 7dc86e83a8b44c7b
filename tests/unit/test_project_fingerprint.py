"""The firmware cache key (Project.fingerprint) must change whenever what the build produces can change."""

import shutil

from mcukit.boards import PlatformIO, get_board
from mcukit.pipeline.firmware import generate_for, load_model
from mcukit.project import render_project

MODEL = "tests/data/golden/fc_stack.tflite"


def _fingerprint(tmp_path, name):
    board = get_board("qemu-m4")
    generated = generate_for(load_model(MODEL), board)
    return render_project(generated, board, tmp_path / name, model_name="fc").fingerprint


def test_same_inputs_same_fingerprint(tmp_path):
    assert _fingerprint(tmp_path, "a") == _fingerprint(tmp_path, "b")


def test_builder_change_changes_fingerprint(tmp_path, monkeypatch):
    copy = tmp_path / "platform"
    shutil.copytree(get_board("qemu-m4").platformio.local_dir, copy)
    monkeypatch.setattr(PlatformIO, "local_dir", property(lambda self: copy))
    before = _fingerprint(tmp_path, "a")
    assert _fingerprint(tmp_path, "b") == before  # same platform folder, same everything
    with open(copy / "builder" / "main.py", "a") as f:
        f.write("\n# a changed compiler flag would go here\n")
    assert _fingerprint(tmp_path, "c") != before
