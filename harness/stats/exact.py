"""Exact mode's tests: a claim's gates when part of each arm's distribution is known exactly.

In exact mode an arm's replies are split in two (``docs/statistics.md``,
"Exact mode"): a finite set of *fixed strings* ("1", "zero", "", ...) whose
probabilities are computed exactly from log-probabilities, with total mass
1 - R, and everything else (mass R), sampled only among itself (by rejection:
draws that are fixed strings are set aside). Write f(l) for the exact mass of
the fixed strings labelled l (a declared category, or off-protocol) and q(l)
for the share of label l among the non-fixed replies. Then each label's
probability is

    P(l) = f(l) + R q(l),

and one non-fixed draw with label L gives an unbiased estimate of the whole
vector P: ``f + R e_L`` (e_L the indicator of L). Every gate's question is
the sign of a mean that is linear in P (one arm) or bilinear in the two arms'
P (two arms):

* share s = P(k) / P(on) >= b  <=>  P(k) - b P(on) >= 0;
* difference s_T - s_C >= b  <=>  P_T(k) P_C(on) - P_C(k') P_T(on) - b P_T(on) P_C(on) >= 0;
* off-protocol gap P_T(off) - P_C(off) >= b  (already linear);
* compliance P(on) >= m.

So with W the gate's coefficient table, g(L) = sum W (f + R e_L) (one arm) or
(f_T + R e_{L_T})' W (f_C + R e_{L_C}) (two arms, the k-th non-fixed draws of
each paired; independent, so the expectation factorizes) is a bounded
observation whose mean has the sign of (gate mean - b), and the gate's FAIL
and PASS tests become the same :class:`~harness.stats.sequential.BettingTest`
on g with bound 0, at the same levels as in sampling mode: the guarantees
carry over unchanged (Ville's inequality needs only i.i.d. bounded
observations and the null's mean).

The range of g is the range of the gate's possible values: when it lies
wholly on one side of 0 the test is decided before any draw ("exact, no
sampling error"). An arm that is not sampled (its unknown part tiny, or
nothing to learn) enters at its worst case: the table is maximized (or
minimized) over its non-fixed label, which bounds the mean over every
possible non-fixed distribution of that arm. ``slack`` (a bound on mass the
exact computation left unexplored) moves each test's bound against
rejection by the most that mass could change the mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from harness.stats.gates import OFF, Gate
from harness.stats.sequential import BettingTest, GateTests, Side

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int_]
#: Planning share of on-protocol replies among the non-fixed ones (sets the bet's size only).
PLANNED_ON_SHARE = 0.5


@dataclass(frozen=True)
class ArmSplit:
    """One arm's label distribution: exact fixed-string mass per label, and the remainder.

    ``fixed`` has one entry per declared category (in order) and a last one
    for off-protocol replies; ``remainder`` is the mass of every other reply
    (1 - sum(fixed)); ``slack`` bounds the mass the exact computation may have
    put on the wrong side. ``sampled``: whether non-fixed draws of this arm
    are drawn (if not, its non-fixed part enters at its worst case).
    """

    fixed: tuple[float, ...]
    remainder: float
    slack: float = 0.0
    sampled: bool = True

    @property
    def labels(self) -> int:
        """Declared categories plus one (off-protocol)."""
        return len(self.fixed)

    @property
    def on(self) -> float:
        """Exact on-protocol mass."""
        return float(sum(self.fixed[:-1]))

    def rows(self) -> Floats:
        """Row l: the label distribution estimated from one non-fixed draw labelled l."""
        base = np.asarray(self.fixed, dtype=float)
        return base[None, :] + self.remainder * np.eye(self.labels)

    def column(self, codes: Ints) -> Ints:
        """Table indices of label codes (categories 0..K-1; off-protocol K)."""
        return np.where(codes == OFF, self.labels - 1, codes).astype(np.int_)

    def planned_on(self) -> float:
        return self.on + self.remainder * PLANNED_ON_SHARE

    def bounds(self, on_share: tuple[float, float] = (0.0, 1.0)) -> tuple[float, float]:
        """Range of the on-protocol mass given the non-fixed on-protocol share's range."""
        return self.on + self.remainder * on_share[0], self.on + self.remainder * on_share[1]


@dataclass
class ExactTest:
    """One one-sided test: reject 'E[g] >= bound' (side below) or 'E[g] <= bound' (above).

    ``table`` is g over the non-fixed labels of the sampled arms ``arms`` (0, 1
    or 2 axes). ``exact`` is set when the range of g decides the test before
    any draw: "reject" (the null is impossible) or "never" (it is certain).
    """

    name: str
    arms: tuple[str, ...]
    table: Floats
    side: Side
    level: float
    bound: float
    exact: Literal["reject", "never"] | None = None
    betting: BettingTest | None = None

    @property
    def threshold(self) -> float:
        return float(np.log(1.0 / self.level))


def _table(kind: str, split: list[ArmSplit], w: Floats) -> Floats:
    """g over the non-fixed labels: rows of each arm's estimate, contracted with W."""
    if len(split) == 1:
        return split[0].rows() @ w
    return split[0].rows() @ w @ split[1].rows().T


def _coefficients(gate: Gate, sizes: list[int], edge: float) -> Floats:
    """The gate's coefficient table W at ``edge`` (its mean - edge has the sign of sum W P)."""
    t = np.arange(sizes[0])
    on_t = (t < sizes[0] - 1).astype(float)  # the last label is off-protocol
    if gate.kind == "compliance":
        table = on_t - edge
    elif gate.kind == "share":
        table = (t == gate.category).astype(float) - edge * on_t
    elif len(sizes) == 1:  # a difference of two categories of one arm
        hit = (t == gate.category).astype(float)
        table = hit - (t == gate.control_category).astype(float) - edge * on_t
    else:
        c = np.arange(sizes[1])
        on_c = (c < sizes[1] - 1).astype(float)
        if gate.kind == "difference":
            hit_t = (t == gate.category).astype(float)
            hit_c = (c == gate.control_category).astype(float)
            table = np.outer(hit_t, on_c) - np.outer(on_t, hit_c) - edge * np.outer(on_t, on_c)
        else:  # off-protocol gap
            table = (1.0 - on_t)[:, None] - (1.0 - on_c)[None, :] - edge
    return np.asarray(table, dtype=np.float64)


def _scale(gate: Gate, split: list[ArmSplit]) -> float:
    """Planned factor between (gate mean - edge) and E[g]: P(on), P_T(on) P_C(on), or 1."""
    if gate.kind in ("off_protocol", "compliance"):
        return 1.0
    if len(split) == 1:
        return split[0].planned_on()
    return split[0].planned_on() * split[1].planned_on()


def one_test(
    name: str,
    gate: Gate,
    arms: dict[str, ArmSplit],
    edge: float,
    other: float,
    side: Side,
    level: float,
) -> ExactTest:
    """The test of 'the gate's mean is on the null side of ``edge``', planned towards ``other``."""
    names = [gate.arm] if gate.control_arm in (None, gate.arm) else [gate.arm, gate.control_arm]
    split = [arms[n] for n in names]
    w = _coefficients(gate, [s.labels for s in split], edge)
    table = _table(gate.kind, split, w)
    spread = float(w.max() - w.min())
    slacks = [s.slack for s in split]
    slack = spread * (sum(slacks) + (slacks[0] * slacks[1] if len(slacks) == 2 else 0.0))
    sampled: list[str] = []
    for axis in reversed(range(len(names))):  # worst case over each unsampled arm's label
        if split[axis].sampled and split[axis].remainder > 0.0:
            sampled.insert(0, names[axis])
        else:
            table = table.max(axis=axis) if side == "below" else table.min(axis=axis)
    bound = -slack if side == "below" else slack
    test = ExactTest(name, tuple(sampled), np.asarray(table, dtype=float), side, level, bound)
    lo, hi = float(np.min(table)), float(np.max(table))
    if side == "below":
        test.exact = "reject" if hi < bound else "never" if lo >= bound else None
    else:
        test.exact = "reject" if lo > bound else "never" if hi <= bound else None
    if test.exact is None:
        gap = abs(other - edge) * _scale(gate, split)
        width = hi - lo
        gap = min(max(gap, 0.05 * width), 0.5 * width)
        target = bound - gap if side == "below" else bound + gap
        test.betting = BettingTest(
            bound=bound,
            side=side,
            target=target,
            level=level,
            lo=lo,
            hi=hi,
            binary=False,
            second_moment=target**2 + (width / 4) ** 2,
        )
    return test


def gate_pair(
    gate: Gate, tests: GateTests, arms: dict[str, ArmSplit]
) -> tuple[ExactTest, ExactTest]:
    """The gate's FAIL test (rejects 'allowed') and PASS test (rejects 'forbidden')."""
    low_bad = tests.low_is_bad
    fail = one_test(
        f"{gate.label}: FAIL test",
        gate,
        arms,
        tests.allowed,
        tests.forbidden,
        "below" if low_bad else "above",
        tests.alpha,
    )
    pass_ = one_test(
        f"{gate.label}: PASS test",
        gate,
        arms,
        tests.forbidden,
        tests.allowed,
        "above" if low_bad else "below",
        tests.beta,
    )
    return fail, pass_


def compliance_test(arm: str, check: BettingTest, arms: dict[str, ArmSplit]) -> ExactTest:
    """Test that the arm's on-protocol share is below ``check.bound`` (the required compliance)."""
    gate = Gate(kind="compliance", arm=arm, allowed=check.bound, forbidden=check.target)
    return one_test(
        f"{arm} compliance", gate, arms, check.bound, check.target, "below", check.level
    )


@dataclass
class ExactDesign:
    """A claim in exact mode: each gate's test pair and each arm's compliance test."""

    gates: list[Gate]
    pairs: list[tuple[ExactTest, ExactTest]]
    compliance: dict[str, ExactTest]
    arms: dict[str, ArmSplit]

    def sampled_arms(self) -> list[str]:
        """The arms whose non-fixed draws some undecided test reads."""
        tests = [t for pair in self.pairs for t in pair] + list(self.compliance.values())
        return sorted({a for t in tests if t.exact is None for a in t.arms})


def exact_design(
    gates: list[Gate],
    tests: list[GateTests],
    compliance: dict[str, BettingTest],
    arms: dict[str, ArmSplit],
) -> ExactDesign:
    """Every test of a claim (sampling mode's levels) on the split arms."""
    pairs = [gate_pair(g, t, arms) for g, t in zip(gates, tests, strict=True)]
    checks = {arm: compliance_test(arm, check, arms) for arm, check in compliance.items()}
    return ExactDesign(gates, pairs, checks, arms)


def _mean(gate: Gate, dists: list[Floats]) -> float | None:
    """The gate's mean for given label distributions of its arms (None: undefined)."""
    p = dists[0]
    on = float(p[:-1].sum())
    if gate.kind == "compliance":
        return on
    if gate.kind == "off_protocol":
        return float(p[-1] - dists[1][-1])
    if on <= 0.0:
        return None
    if gate.kind == "share":
        return float(p[gate.category or 0]) / on
    if len(dists) == 1:  # two categories of one arm
        return (float(p[gate.category or 0]) - float(p[gate.control_category or 0])) / on
    c = dists[1]
    on_c = float(c[:-1].sum())
    if on_c <= 0.0:
        return None
    return float(p[gate.category or 0]) / on - float(c[gate.control_category or 0]) / on_c


def gate_range(
    gate: Gate, arms: dict[str, ArmSplit], shares: dict[str, Floats | None]
) -> tuple[float, float]:
    """The gate's mean given each arm's non-fixed label shares, or its range over every
    possible share vector of the arms whose shares are None (reached at point masses: the
    mean is linear-fractional in each arm). NaN when undefined everywhere."""
    names = [gate.arm] if gate.control_arm in (None, gate.arm) else [gate.arm, gate.control_arm]
    options = []
    for name in names:
        split = arms[name]
        got = shares.get(name)
        base = np.asarray(split.fixed, dtype=float)
        if got is not None:
            options.append([base + split.remainder * np.asarray(got, dtype=float)])
        else:
            options.append(list(split.rows()))
    values = []
    for first in options[0]:
        for second in options[1] if len(options) > 1 else [None]:
            found = _mean(gate, [first] if second is None else [first, second])
            if found is not None:
                values.append(found)
    if not values:
        return float("nan"), float("nan")
    return min(values), max(values)
