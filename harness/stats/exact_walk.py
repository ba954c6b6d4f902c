"""Exact mode's claim walk: each test over the non-fixed draws in draw order.

Pairs the k-th non-fixed draws of two arms, runs each test of an
:class:`~harness.stats.exact.ExactDesign`, and decides the claim as
:func:`harness.stats.walk.walk_claim` does in sampling mode: any FAIL fails,
all PASS passes, every arm shown off-protocol is NONCOMPLIANT; ties go FAIL,
then NONCOMPLIANT. A test the exact part settled counts at draw 0, and a PASS
settled there wins a tie with a FAIL (no sampling error: the value is not in
the forbidden region).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from harness.stats.decision import Decision
from harness.stats.exact import ArmSplit, ExactDesign, ExactTest
from harness.stats.gates import ERROR, Gate

Ints = npt.NDArray[np.int_]
NEVER = np.iinfo(np.int64).max // 2


@dataclass
class Sample:
    """One arm's non-fixed draws in order: label codes and the draw (1-based) each came from."""

    codes: Ints
    at: Ints


@dataclass
class TestRun:
    """Where one test stands on the draws so far."""

    crossed: bool
    at_draw: int  # 0 when decided exactly; NEVER when not crossed
    used: int
    log_wealth: float
    mean: float | None


def run_test(test: ExactTest, arms: dict[str, ArmSplit], samples: dict[str, Sample]) -> TestRun:
    """Walk ``test`` over the non-fixed draws (paired by rank across two arms)."""
    if test.exact == "reject":
        return TestRun(True, 0, 0, test.threshold, None)
    if test.exact == "never" or test.betting is None:
        return TestRun(False, NEVER, 0, 0.0, None)
    cols = []
    for name in test.arms:
        got = samples.get(name, Sample(np.zeros(0, np.int_), np.zeros(0, np.int_)))
        keep = got.codes != ERROR
        cols.append((arms[name].column(got.codes[keep]), got.at[keep]))
    n = min(len(c) for c, _ in cols)
    if n == 0:
        return TestRun(False, NEVER, 0, 0.0, None)
    index = tuple(c[:n] for c, _ in cols)
    x = test.table[index]
    at = np.max(np.stack([a[:n] for _, a in cols]), axis=0)
    crossed, used, lw = test.betting.first_crossing(x[None, :])
    u = int(used[0])
    when = int(at[u - 1]) if crossed[0] else NEVER
    return TestRun(bool(crossed[0]), when, u, float(lw[0]), float(x[:u].mean()))


@dataclass
class GateOutcome:
    """One gate's decision in exact mode."""

    gate: Gate
    fail: ExactTest
    pass_: ExactTest
    code: Decision
    at_draw: int | None
    fail_run: TestRun
    pass_run: TestRun

    @property
    def exact(self) -> bool:
        """Decided before any draw (no sampling error)."""
        return self.code != Decision.UNDECIDED and self.at_draw == 0


def decide_gate(
    gate: Gate,
    pair: tuple[ExactTest, ExactTest],
    arms: dict[str, ArmSplit],
    samples: dict[str, Sample],
) -> GateOutcome:
    """FAIL if the FAIL test crossed first (ties FAIL), PASS if the PASS test did; a PASS
    decided exactly wins a tie at draw 0 (no sampling error: the value is not forbidden)."""
    fail, pass_ = pair
    f = run_test(fail, arms, samples)
    p = run_test(pass_, arms, samples)
    if p.crossed and p.at_draw == 0:
        code, when = Decision.PASS, 0
    elif f.crossed and (not p.crossed or f.at_draw <= p.at_draw):
        code, when = Decision.FAIL, f.at_draw
    elif p.crossed:
        code, when = Decision.PASS, p.at_draw
    else:
        code, when = Decision.UNDECIDED, None
    return GateOutcome(gate, fail, pass_, code, when, f, p)


@dataclass
class ExactWalk:
    """The claim's decision: code (a :class:`Decision` or NONCOMPLIANT) and the draw it came at."""

    code: int
    at_draw: int | None
    gates: list[GateOutcome]
    noncompliant: list[str] = field(default_factory=list)
    compliance: dict[str, TestRun] = field(default_factory=dict)


def walk(design: ExactDesign, samples: dict[str, Sample], noncompliant_code: int) -> ExactWalk:
    """The claim's decision on the draws so far, in draw order (as :func:`walk_claim` decides:
    any FAIL fails, all PASS passes, every arm shown off-protocol is NONCOMPLIANT; ties go
    FAIL, then NONCOMPLIANT)."""
    outcomes = [
        decide_gate(g, p, design.arms, samples)
        for g, p in zip(design.gates, design.pairs, strict=True)
    ]
    fail_at = min((o.at_draw or 0 for o in outcomes if o.code == Decision.FAIL), default=NEVER)
    passed = [o.at_draw or 0 for o in outcomes if o.code == Decision.PASS]
    pass_at = max(passed) if len(passed) == len(outcomes) else NEVER
    runs = {arm: run_test(t, design.arms, samples) for arm, t in design.compliance.items()}
    shown = [arm for arm, r in runs.items() if r.crossed]
    off_at = (
        max((r.at_draw for r in runs.values()), default=NEVER)
        if runs and len(shown) == len(runs)
        else NEVER
    )
    code, at = int(Decision.UNDECIDED), NEVER
    for value, when in (
        (int(Decision.PASS), pass_at),
        (noncompliant_code, off_at),
        (int(Decision.FAIL), fail_at),
    ):
        if when < NEVER and when <= at:
            code, at = value, when
    return ExactWalk(code, None if at == NEVER else at, outcomes, shown, runs)
