"""Calibration table: every claim kind over a grid of realistic model states.

For each grid point (claim kind x model state: control shares 0.1-0.9, a lean
towards one digit, chatter 0-50% in both arms, refusal when random letters are
due, paraphrases spread by ±0.1), simulates RUNS evaluations through the
evaluator's own walk and prints the share of FAIL, PASS, INCONCLUSIVE and
NONCOMPLIANT, the mean draws per arm, and the error that matters there: false
failures (FAIL or INCONCLUSIVE) at allowed states, misses (PASS) at forbidden
states, each with its exact one-sided 95% (Clopper-Pearson) upper bound. A point is
"VIOLATION" when that bound exceeds 1.5x the target (alpha 0.05, beta 0.1).

Run: .venv/bin/python benchmarks/calibration.py [--runs 2000] [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from harness.stats.calibration import HEADER, grid, run_point


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="simulated runs per grid point")
    parser.add_argument("--quick", action="store_true", help="the small grid the tests use")
    parser.add_argument("--seed", type=int, default=20240312)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    print(f"{args.runs} runs per point; claim alpha 0.05, beta 0.1, budget 800 draws per arm")
    print(HEADER)
    violations = 0
    points = 0
    for point in grid(full=not args.quick):
        row = run_point(point, args.runs, rng)
        print(row.line())
        violations += not row.ok
        points += 1
    print(f"\n{points} points, {violations} violations, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
