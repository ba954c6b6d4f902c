"""Files: the one way the harness writes a file, whole or not at all, and its cache folder."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def cache_home() -> Path:
    """The harness's per-user cache folder: ``$XDG_CACHE_HOME/behavior-harness`` (default
    ``~/.cache``), for data built once per machine (an assembled GGUF, classifier tables)."""
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(home) / "behavior-harness"


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file renamed into place (atomic on POSIX).

    The temporary name is private to this process and thread, so writers of the
    same file never write into one another's temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all (see :func:`write_bytes`)."""
    return write_bytes(path, text.encode("utf-8"))
