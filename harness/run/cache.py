"""The draw cache: every completed draw kept on disk the moment it returns.

A draw is keyed by the model, its arguments, the full request (messages and
generation settings), the run seed and the draw index, so a second identical
run makes no model calls, a killed run (even ``kill -9``) resumes with only the
missing draws, and a reconfigured model (other model arguments, e.g. a provider
update simulated with ``--model-arg``) never reuses another configuration's
draws. The draw index is part of the key, so cached draws stay independent.

On disk each request is one append-only JSON-lines file ``<key>.jsonl``: a
header line describing the request, then one line per draw. Each line goes out
in a single ``write`` on an ``O_APPEND`` descriptor, so pytest-xdist workers
may append to the same file; when an index appears twice the last line wins
(``--refresh`` appends fresh draws over old ones).

A damaged file (a line cut short by a crash, bytes garbled on disk or in a
restored CI cache, a row that is not a draw) is repaired when it is first
read: the bad lines are dropped, the good ones written to a new file that
replaces the old one in one rename, and one :class:`CacheRepairWarning` says
how many draws will be drawn again (their indices are not in the file any
more, so the next run asks the model for them). A draw another process appends
while the file is being repaired may be dropped with the bad lines: it is
drawn again too, never garbled.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any

from harness.report.redact import without_secrets
from harness.results.records import Draw


class CacheRepairWarning(UserWarning):
    """A draw-cache file had damaged lines: they were dropped and the file rewritten."""


def public_args(model_args: dict[str, Any]) -> dict[str, Any]:
    """Model arguments without secrets: a credential neither keys a draw nor is written."""
    return without_secrets(model_args)


def store_key(request_key: str, model_args: dict[str, Any]) -> str:
    """The cache key of a request: its draw-seed key plus the model's arguments."""
    if not public_args(model_args):
        return request_key
    blob = json.dumps(
        {"request": request_key, "model_args": public_args(model_args)},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _row(line: bytes) -> object:
    """One cache line parsed (None if it is not JSON, or not UTF-8)."""
    try:
        return json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


class DrawStore:
    """Completed draws by key and index, in memory and optionally on disk.

    ``get`` returns a draw read from disk with ``cached=True``; draws made in
    this process come back as they were put. Draws with an error are kept in
    memory only (a failed call or a budget stop is retried next time).
    """

    def __init__(self, directory: Path | None = None, refresh: bool = False) -> None:
        self.directory = directory
        self.refresh = refresh
        self._memory: dict[str, dict[int, Draw]] = {}
        self._loaded: set[str] = set()
        self._torn: set[str] = set()  # files whose last line was cut short
        self._lock = threading.Lock()
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path | None:
        """The file of one request's draws (None for an in-memory store)."""
        return None if self.directory is None else self.directory / f"{key}.jsonl"

    def _load(self, key: str) -> dict[int, Draw]:
        table = self._memory.setdefault(key, {})
        if key in self._loaded:
            return table
        self._loaded.add(key)
        path = self.path(key)
        if path is None or not path.exists():
            return table
        raw = path.read_bytes()
        if raw and not raw.endswith(b"\n"):
            self._torn.add(key)
        kept: list[bytes] = []
        damaged = lost = 0
        for number, line in enumerate(raw.split(b"\n")):
            if not line.strip():
                continue
            row = _row(line)
            if isinstance(row, dict) and "header" in row and "index" not in row:
                kept.append(line)
                continue
            try:
                draw = Draw.model_validate(row)
            except ValueError:  # garbled, cut short, or not a draw
                damaged += 1
                lost += number > 0  # a damaged first line is the header, not a draw
                continue
            kept.append(line)
            if not self.refresh:
                table[draw.index] = draw.model_copy(update={"cached": True})
        if damaged:
            self._repair(key, path, kept, damaged, lost)
        return table

    def _repair(self, key: str, path: Path, kept: list[bytes], damaged: int, lost: int) -> None:
        """Rewrite ``path`` with only its good lines (atomically), and say so once."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.repair")
        try:
            tmp.write_bytes(b"".join(line + b"\n" for line in kept))
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            done = f"could not be rewritten ({exc})"
        else:
            self._torn.discard(key)
            done = "rewritten without them"
        plural = "s" if damaged != 1 else ""
        warnings.warn(
            CacheRepairWarning(
                f"draw cache {path}: {damaged} damaged line{plural} dropped, the file {done}; "
                f"{lost} draw{'s' if lost != 1 else ''} will be drawn again"
            ),
            stacklevel=2,
        )

    def get(self, key: str, index: int) -> Draw | None:
        with self._lock:
            return self._load(key).get(index)

    def put(self, key: str, draw: Draw, header: dict[str, Any]) -> None:
        """Keep ``draw``; on disk at once if it has no error."""
        with self._lock:
            self._load(key)[draw.index] = draw
            path = self.path(key)
            if path is None or draw.error is not None:
                return
            text = ""
            if key in self._torn:
                text = "\n"
                self._torn.discard(key)
            if not path.exists():
                text += json.dumps({"header": header}, ensure_ascii=False, default=str) + "\n"
            text += draw.model_dump_json(exclude={"cached", "category"}) + "\n"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, text.encode("utf-8"))
            finally:
                os.close(fd)
