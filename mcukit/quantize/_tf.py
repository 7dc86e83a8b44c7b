"""The one door to TensorFlow: a lazy import with a clear error, and a muffle for its C++ chatter.

TensorFlow's C++ side writes banners and MLIR diagnostics straight to file descriptor 2; they would bury mcukit's
own one-line messages. Everything it prints while mcukit is converting is captured and logged at DEBUG level
(`mcukit -v` does not show it either; `--debug` plus logging configuration does).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any

from mcukit.errors import DependencyError

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'mcukit[tf]'"


class Captured:
    """Text written to fd 2 inside `muffled()`; readable after the block ends."""

    def __init__(self) -> None:
        self.text = ""


@contextlib.contextmanager
def muffled() -> Iterator[Captured]:
    """Redirect fd 2 and Python warnings while TensorFlow runs; log what was said at DEBUG level."""
    captured = Captured()
    with tempfile.TemporaryFile(mode="w+b") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured.text = tmp.read().decode(errors="replace")
            if captured.text.strip():
                log.debug("TensorFlow said:\n%s", captured.text)


def import_tf() -> Any:
    """Import TensorFlow (and with it Keras 3), or raise DependencyError with the install command."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # oneDNN reorders float sums between runs; the float reference outputs should not move.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        with muffled():
            import keras  # noqa: F401 - Keras 3 comes with TensorFlow >= 2.16
            import tensorflow as tf
    except ImportError as exc:
        raise DependencyError(
            f"TensorFlow is needed to quantize Keras models but could not be imported ({exc})",
            f"install it with: {INSTALL_HINT}",
        ) from exc
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return tf
