"""A claim's decision over labelled draws: its gates' tests walked in draw order.

The claim FAILS at the first draw where any gate's FAIL test crossed, PASSES
at the draw where the last of its gates' PASS tests crossed, and is
NONCOMPLIANT at the draw where every arm's compliance test showed that arm
off-protocol (whichever comes first; ties go FAIL, then NONCOMPLIANT). All
tests are anytime-valid, so checking after every batch, or every draw, changes
nothing. Runs are rows: the evaluator walks one, the calibration thousands.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from harness.stats.decision import Decision
from harness.stats.gates import Codes, Gate, pooled_observations
from harness.stats.sequential import FAIL, PASS, UNDECIDED, BettingTest, GateTests, walk_gate

NONCOMPLIANT = int(Decision.NONCOMPLIANT)
NEVER = np.iinfo(np.int64).max // 2
Ints = npt.NDArray[np.int_]
Floats = npt.NDArray[np.float64]


class GateWalk(BaseModel):
    """One gate's state in one run (the evaluator's view; row 0 of a walk)."""

    model_config = ConfigDict(frozen=True)

    gate: Gate
    tests: GateTests
    code: int
    at_draw: int | None
    used: int
    available: int
    estimate: float | None
    fail_evidence: float
    pass_evidence: float


class ClaimWalk(BaseModel):
    """The result of walking a claim over (runs of) labelled draws."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    code: Ints
    at_draw: Ints
    gates: list[GateWalk]
    noncompliant_arms: list[list[str]]


def _times(at: Ints, used: Ints, crossed: npt.NDArray[np.bool_]) -> Ints:
    rows = np.arange(at.shape[0])
    idx = np.clip(used - 1, 0, max(at.shape[1] - 1, 0))
    when = at[rows, idx] if at.shape[1] else np.zeros(at.shape[0], dtype=np.int_)
    return np.where(crossed, when, NEVER).astype(np.int64)


def walk_claim(
    gates: Sequence[Gate],
    tests: Sequence[GateTests],
    codes: dict[str, Codes] | list[dict[str, Codes]],
    compliance: dict[str, BettingTest],
) -> ClaimWalk:
    """Walk ``gates`` (with ``tests``) and the arms' ``compliance`` tests over ``codes``.

    ``codes`` maps arm -> (runs, n) label codes; a list of such maps is a
    pooled claim over paraphrases (round-robin averages, see
    :func:`harness.stats.gates.pooled_observations`).
    """
    per_variant = codes if isinstance(codes, list) else [codes]
    runs = next(iter(per_variant[0].values())).shape[0]
    fail_at = np.full(runs, NEVER, dtype=np.int64)
    pass_at = np.zeros(runs, dtype=np.int64)
    details: list[GateWalk] = []
    for gate, test in zip(gates, tests, strict=True):
        x, at, count = pooled_observations(gate, per_variant)
        code, used, f_lw, p_lw = walk_gate(test, x, count)
        when = _times(at, used, code != UNDECIDED)
        fail_at = np.minimum(fail_at, np.where(code == FAIL, when, NEVER))
        pass_at = np.maximum(pass_at, np.where(code == PASS, when, NEVER))
        n0 = int(used[0])
        details.append(
            GateWalk(
                gate=gate,
                tests=test,
                code=int(code[0]),
                at_draw=int(when[0]) if code[0] != UNDECIDED else None,
                used=n0,
                available=int(count[0]),
                estimate=float(x[0, :n0].mean()) if n0 else None,
                fail_evidence=float(f_lw[0]),
                pass_evidence=float(p_lw[0]),
            )
        )
    off_at = np.zeros(runs, dtype=np.int64)
    off_arms: list[list[str]] = [[] for _ in range(runs)]
    for arm, check in compliance.items():
        gate = Gate(kind="compliance", arm=arm, allowed=check.bound, forbidden=check.target)
        x, at, count = pooled_observations(gate, per_variant)
        crossed, used, _ = check.first_crossing(x, count)
        when = _times(at, used, crossed)
        off_at = np.maximum(off_at, when)
        if runs == 1 and crossed[0]:
            off_arms[0].append(arm)
    if not compliance:
        off_at[:] = NEVER
    code = np.full(runs, UNDECIDED, dtype=np.int_)
    at_draw = np.full(runs, NEVER, dtype=np.int64)
    for value, when in ((PASS, pass_at), (NONCOMPLIANT, off_at), (FAIL, fail_at)):
        better = when <= at_draw
        code = np.where(better & (when < NEVER), value, code)
        at_draw = np.where(better, when, at_draw)
    return ClaimWalk(
        code=code,
        at_draw=at_draw.astype(np.int_),
        gates=details,
        noncompliant_arms=off_arms,
    )
