"""Progress lines: long tests report their draws, throttled so that output stays compact.

A test that decides quickly (every simulated model) prints nothing; one that
keeps drawing prints one line per ``every`` seconds with its draws so far and
the budget, so a slow model is visibly alive without flooding the terminal.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest


class ThrottledProgress:
    """A ``progress`` callback for :func:`harness.run.evaluate.evaluate` that writes at most
    one line per ``every`` seconds (the first only after ``every`` seconds)."""

    def __init__(
        self,
        write: Callable[[str], None],
        label: str,
        budget: int,
        every: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.write = write
        self.label = label
        self.budget = budget
        self.every = every
        self.clock = clock
        self.start = clock()
        self.last = self.start
        self.lines = 0

    def __call__(self, message: str) -> None:
        now = self.clock()
        if now - self.last < self.every:
            return
        self.last = now
        self.lines += 1
        self.write(
            f"  ... {self.label}: {message} (budget {self.budget}), {now - self.start:.0f} s"
        )


def interval_for(verbosity: int) -> float | None:
    """Seconds between progress lines at a pytest verbosity (None: no progress at -qq)."""
    if verbosity <= -2:
        return None
    return 2.0 if verbosity > 0 else 10.0


def terminal_writer(config: pytest.Config) -> Callable[[str], None] | None:
    """Write a line to the terminal past output capturing (None without a terminal)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return None
    capture = config.pluginmanager.get_plugin("capturemanager")

    def write(line: str) -> None:
        if capture is None:
            reporter.write_line(line)
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)

    return write
