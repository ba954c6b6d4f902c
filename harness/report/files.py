"""Files: the one way the harness writes a file, whole or not at all."""

from __future__ import annotations

from pathlib import Path


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file renamed into place (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
