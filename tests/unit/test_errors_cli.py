"""Bad model files given to `mcukit inspect`: one clear error line, a fix, a non-zero exit code, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcukit.__main__ import main

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
GOOD = (GOLDEN / "conv_block.tflite").read_bytes()


def _corrupt(buf: bytes) -> bytes:
    b = bytearray(buf)
    b[8:64] = bytes(range(56))  # the root table offsets and the start of the vtable
    return bytes(b)


CASES = {
    "empty.tflite": (b"", "empty"),
    "truncated.tflite": (GOOD[: len(GOOD) // 3], "corrupt or truncated"),
    "corrupt.tflite": (_corrupt(GOOD), "corrupt"),
    "notes.txt": (b"hello, this is not a model\n", "text file"),
    "image.tflite": (b"\x89PNG\r\n\x1a\n" + bytes(64), "TFLite"),
    "image.png": (b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG image"),
    "model.bin": (bytes(range(256)), "not a model"),
    "broken.h5": (b"\x89HDF\r\n\x1a\n" + bytes(200), ""),
}


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def _assert_clean_error(code: int, text: str, expect: str) -> None:
    assert code != 0
    assert "Traceback" not in text
    errors = [ln for ln in text.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, text
    assert expect.lower() in errors[0].lower(), text
    assert any(ln.strip().startswith("fix: ") for ln in text.splitlines()), text


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_files(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, expect = CASES[name]
    path = tmp_path / name
    path.write_bytes(data)
    for extra in ([], ["--json"]):
        code, text = _run(["inspect", str(path), *extra], capsys)
        _assert_clean_error(code, text, expect)


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(["inspect", str(tmp_path / "nope.tflite")], capsys)
    _assert_clean_error(code, text, "does not exist")


def test_folder_that_is_not_a_savedmodel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.txt").write_text("x")
    code, text = _run(["inspect", str(tmp_path)], capsys)
    _assert_clean_error(code, text, "")


def test_subprocess_exit_code_and_no_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "empty.tflite"
    path.write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "mcukit", "inspect", str(path)], check=False,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
