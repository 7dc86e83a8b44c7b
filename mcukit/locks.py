"""Cross-process locks for shared caches (`mcukit test --jobs`, two CI jobs or two terminals sharing one cache)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextmanager
def path_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock named after `path` (a `<name>.lock` file beside it) across threads and processes.
    flock is per open file, so threads of one process also need a plain lock. Without fcntl (Windows) this only
    serializes threads."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _THREAD_LOCKS_GUARD:
        thread_lock = _THREAD_LOCKS.setdefault(str(path.resolve()), threading.Lock())
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        with thread_lock:
            yield
        return
    with thread_lock, open(path.with_name(path.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
