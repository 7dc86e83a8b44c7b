"""One exception root for everything a user can cause or fix.

Every user-side failure is a McukitError: a one-line message naming the problem and a hint naming the fix.
`mcukit.__main__` is the only place these become exit codes; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class McukitError(Exception):
    """A failure the user can act on. `exit_code` is what the CLI returns."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class UsageError(McukitError):
    """Bad arguments or configuration."""

    exit_code = 2


class ModelError(McukitError):
    """A model file that cannot be read: missing, empty, corrupt, truncated, wrong type."""


class UnsupportedModelError(McukitError):
    """A readable model that mcukit cannot quantize or run (unsupported op, layer or dtype)."""


class CalibrationError(McukitError):
    """Calibration or test data that is missing, unreadable or of the wrong shape."""


class DependencyError(McukitError):
    """A package or tool mcukit needs is not installed (TensorFlow, a toolchain, QEMU)."""


class CompileError(McukitError):
    """The model could not be turned into C, or the C did not build."""


class BoardError(McukitError):
    """Unknown board, model too big for the board, or a board that misbehaves."""


class DeviceError(McukitError):
    """Serial link problems: no port, timeout, disconnect, corrupted frames."""
