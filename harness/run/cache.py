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
may append to the same file; a line cut short by a crash is skipped on reading
(and the next write starts on a fresh line); when an index appears twice the
last line wins (``--refresh`` appends fresh draws over old ones).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from harness.report.redact import without_secrets
from harness.results.records import Draw


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
        if self.refresh:
            return table
        for line in raw.decode("utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
            if not isinstance(row, dict) or "index" not in row:
                continue  # the header
            try:
                draw = Draw.model_validate(row)
            except ValueError:
                continue
            table[draw.index] = draw.model_copy(update={"cached": True})
        return table

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
