"""The cyclic garbage collector while requests are in flight.

A round of API requests allocates a few hundred objects per request (the SDK's
request and response models, httpx's, asyncio's), so Python's collector runs
hundreds of times a second, and each of its older-generation passes walks the
whole heap the run has built before: pytest's, scipy's, inspect-ai's, several
million objects that the round cannot free; a sampling profile of 1,000
loopback draws showed that walk as a large share of the client's CPU, and an
API run's client is CPU-bound. :func:`round_heap` sets that heap aside for the
round (:func:`gc.freeze`) and lets the young generation grow larger before a
pass; the round's own garbage is still collected, and everything set aside is
handed back to the collector when the round ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations (net of frees) between young-generation passes during a round
#: (Python's default is 700): fewer passes over a round's short-lived objects.
ROUND_THRESHOLD = 10_000


@contextmanager
def round_heap() -> Iterator[None]:
    """The heap built so far left out of collection passes for the block.

    Not re-entrant across threads in any useful way (the collector is one per
    process): a nested or concurrent block only ends the setting-aside early.
    """
    if not gc.isenabled():  # the caller manages the collector itself
        yield
        return
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], ROUND_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


__all__ = ["ROUND_THRESHOLD", "round_heap"]
