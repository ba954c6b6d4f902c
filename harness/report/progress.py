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
            _line(reporter, line)
            return
        with capture.global_and_fixture_disabled():
            _line(reporter, line)

    return write


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``1 h 2 min``: a time for people.

    >>> duration(4.2), duration(185), duration(3720)
    ('4 s', '3 min 5 s', '1 h 2 min')
    """
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def _line(reporter: pytest.TerminalReporter, line: str) -> None:
    """A line of its own, also after xdist's progress dots (which pytest does not track)."""
    if reporter._tw.width_of_current_line:
        reporter.write("\n")
    reporter.write_line(line)


class ModelProgress:
    """One progress line per model, written as tests finish, at most once per ``every`` seconds.

    Each line says how many of the model's tests are done, the draws and model
    calls so far, the time spent in its tests and an estimate of the time left
    (the mean time of its finished tests times the tests to go; tests stop at
    different draws, so it is rough). Nothing is written before ``every``
    seconds have passed, so a quick run prints nothing.
    """

    def __init__(
        self,
        write: Callable[[str], None],
        totals: dict[str, int],
        every: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.write = write
        self.totals = dict(totals)
        self.every = every
        self.clock = clock
        self.last = clock()
        self.done: dict[str, int] = {}
        self.draws: dict[str, int] = {}
        self.calls: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.changed: set[str] = set()

    def finished(self, model: str, draws: int, calls: int, seconds: float) -> None:
        """A test of ``model`` finished after ``seconds`` with ``draws`` new draws and ``calls``."""
        self.done[model] = self.done.get(model, 0) + 1
        self.draws[model] = self.draws.get(model, 0) + draws
        self.calls[model] = self.calls.get(model, 0) + calls
        self.seconds[model] = self.seconds.get(model, 0.0) + seconds
        self.changed.add(model)
        now = self.clock()
        if now - self.last < self.every:
            return
        self.last = now
        for name in sorted(self.changed):
            self.write(self.line(name))
        self.changed.clear()

    def line(self, model: str) -> str:
        done = self.done.get(model, 0)
        total = max(self.totals.get(model, 0), done)
        spent = self.seconds.get(model, 0.0)
        if done >= total:
            left = "done"
        elif done:
            left = f"about {duration(spent / done * (total - done))} left"
        else:
            left = "time left unknown"
        return (
            f"  ... {model}: {done} of {total} tests, {self.draws.get(model, 0)} draws, "
            f"{self.calls.get(model, 0)} calls, {duration(spent)}; {left}"
        )
