import subprocess
import sys

from mcukit.__main__ import main


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("quantize", "inspect", "compile"):
        assert name in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert "mcukit" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_help_does_not_import_tensorflow():
    code = "import sys; from mcukit.__main__ import main; main(['--help']); print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
