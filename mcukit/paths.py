"""Where mcukit's shipped data lives: firmware/, templates/ and boards/.

In a wheel they are inside the package (`mcukit/_data/`); in a source checkout or an editable install they are
the top-level folders of the repository. Everything finds them through `data_dir`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def data_root() -> Path:
    installed = _PACKAGE / "_data"
    if (installed / "firmware").is_dir():
        return installed
    return _PACKAGE.parent


def data_dir(name: str) -> Path:
    """Path of a shipped folder: "firmware", "templates" or "boards"."""
    if name not in ("firmware", "templates", "boards"):
        raise ValueError(f"unknown data folder {name!r}")
    return data_root() / name


def firmware_include() -> Path:
    return data_dir("firmware") / "include"


def cache_dir() -> Path:
    """Content-addressed cache for converted models and built firmware."""
    import os

    root = os.environ.get("MCUKIT_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "mcukit"
