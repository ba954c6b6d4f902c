"""The llama thread: one thread that runs every llama.cpp call and batches requests.

llama.cpp's OpenMP team belongs to the calling thread (calls from several
threads made each draw twice as slow, measured), and its contexts are not
thread-safe, so every call runs here. The thread gathers the requests that
arrive within ``GATHER_QUIET_S`` of each other (at most ``GATHER_MAX_S``): the
harness issues a batch's draws at once, so they reach the serve function
together and decode as one batch. A lone request waits only ``GATHER_QUIET_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inspect_ai.model import GenerateConfig, ModelOutput

GATHER_QUIET_S = 0.004  # a batch is complete once no request arrived for this long
GATHER_MAX_S = 0.05  # and is served after this long even if requests keep coming


@dataclass
class Pending:
    """One pending ``generate`` call, answered through its event loop's future."""

    api: Any  # the LocalLlamaAPI that received the call
    messages: list[dict[str, str]]
    config: GenerateConfig
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[ModelOutput]

    def settle(self, output: ModelOutput | None, error: BaseException | None = None) -> None:
        def done() -> None:
            if self.future.done():  # the caller gave up (timeout, cancellation)
                return
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(output)  # type: ignore[arg-type]

        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
            self.loop.call_soon_threadsafe(done)


class Worker:
    """The one thread that runs llama.cpp; coalesces concurrent requests into batches."""

    def __init__(self, serve: Callable[[list[Pending]], None]) -> None:
        self._serve = serve
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, request: Pending) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="llama", daemon=True)
                self._thread.start()
        self._queue.put(request)

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            pending, stop = [first], False
            deadline = time.monotonic() + GATHER_MAX_S
            while (wait := min(GATHER_QUIET_S, deadline - time.monotonic())) > 0:
                try:
                    item = self._queue.get(timeout=wait)
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                pending.append(item)
            self._serve(pending)
            if stop:
                return
