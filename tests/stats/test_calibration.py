"""Calibration over realistic model states (the fast grid of benchmarks/calibration.py).

Every point runs the claim's own design through the evaluator's walk; at
allowed states false failures (FAIL or INCONCLUSIVE) stay within alpha, at
forbidden states misses (PASS) within beta. The full grid (2,000 runs per
point, `-m slow`, and benchmarks/calibration.py) requires each rate's exact
one-sided 95% upper bound to be within 1.5x its target; the quick grid (300
runs) fails a point whose rate is shown above its target (exact lower bound
beyond it), as 300 runs cannot bound a rate near its target within 1.5x.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats.calibration import HEADER, grid, run_point


def _check(full: bool, runs: int) -> None:
    rng = np.random.default_rng(20240312)
    rows = [run_point(p, runs, rng) for p in grid(full=full)]
    print("\n" + HEADER)
    for row in rows:
        print(row.line())
    bad = [row.line() for row in rows if (not row.ok if full else row.shown_above)]
    assert not bad, "\n".join(bad)
    regions = {row.point.region for row in rows}
    assert regions == {"allowed", "forbidden", "zone"}


def test_quick_grid() -> None:
    _check(full=False, runs=300)


@pytest.mark.slow
def test_full_grid() -> None:
    _check(full=True, runs=2000)
