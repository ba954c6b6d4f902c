"""Baseline comparison: which watched shares, compliances and off-protocol gaps regressed.

The tests and the Holm adjustment described in :mod:`harness.results.baseline`
(the file format and its rows live there): every forbidden-direction move is a
one-sided test, adjusted together so that the chance of flagging anything that
did not move past the margin is at most ``alpha`` over the whole run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from pydantic import BaseModel, Field

from harness.define.claims import Direction
from harness.results.baseline import (
    GAP_TEST,
    SCORE_TEST,
    Baseline,
    Key,
    Kind,
    Watch,
    directions,
    gapped_arm,
    merge_watch,
)
from harness.results.records import Outcome


class Move(BaseModel):
    """One tested (row, value, direction): the values before and after and the adjusted p-value.

    ``kind`` says what was compared: a category's ``share`` of the on-protocol
    draws (``old_n``/``new_n`` on-protocol draws), an arm's ``compliance``
    (``n`` all draws), or the off-protocol ``gap`` of the row's arm over the
    other arm (``n`` the two arms' draws added).
    """

    row: str
    kind: Kind = "share"
    category: str = ""
    direction: Direction
    forbidden: bool
    old_share: float
    old_n: int
    new_share: float
    new_n: int
    p_value: float
    p_adjusted: float = 1.0
    significant: bool = False
    method: str = SCORE_TEST
    tests: list[str] = Field(default_factory=list, description="tests that claim this value")

    @property
    def what(self) -> str:
        """The compared value in words: ``'random' share``, ``compliance``, ``off-protocol gap``."""
        if self.kind == "compliance":
            return "compliance (on-protocol share of all replies)"
        if self.kind == "gap":
            return "off-protocol gap over the other arm"
        return f"'{self.category}' share"

    @property
    def change(self) -> float:
        return self.new_share - self.old_share

    def value(self, share: float, n: int) -> str:
        if self.kind == "gap":
            return f"{share:+.2f} (n={n})"
        if self.kind == "share" and n == 0:
            return "n/a (n=0)"
        return f"{share:.2f} (n={n})"

    def describe(self) -> str:
        arrow = "fell" if self.direction == "down" else "rose"
        line = (
            f"{self.row}: {self.what} {arrow} {self.value(self.old_share, self.old_n)} "
            f"-> {self.value(self.new_share, self.new_n)}, p={self.p_adjusted:.2g} (Holm)"
        )
        if self.kind == "compliance" and self.forbidden:
            line += ": the model follows the protocol less often"
        return line


class Comparison(BaseModel):
    """The result of checking a run against a baseline."""

    path: str
    margin: float
    alpha: float
    compared: int = Field(description="forbidden-direction comparisons in the Holm family")
    regressions: list[Move] = Field(default_factory=list)
    improvements: list[Move] = Field(default_factory=list)
    checked: list[Move] = Field(
        default_factory=list,
        description="every forbidden-direction comparison, with its Holm-adjusted p-value",
    )
    new_rows: list[str] = Field(default_factory=list)
    gone_rows: list[str] = Field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.regressions)

    def lines(self) -> list[str]:
        """The terminal section: regressions, then other moves, new and gone rows."""
        out = [
            f"baseline {self.path}: {self.compared} watched values compared (shares, compliance "
            f"per arm, off-protocol gaps), margin {self.margin:g}, family-wise alpha "
            f"{self.alpha:g} (Holm)"
        ]
        if self.regressions:
            out.append(f"REGRESSED ({len(self.regressions)}):")
            for m in self.regressions:
                out.append(f"  {m.describe()}")
                out.extend(f"    claimed by {t}" for t in m.tests)
        else:
            out.append("no regression beyond the margin")
        if self.improvements:
            out.append(f"moved in the allowed direction ({len(self.improvements)}, not failed):")
            out.extend(f"  {m.describe()}" for m in self.improvements)
        if self.new_rows:
            out.append(f"new rows, not in the baseline ({len(self.new_rows)}, not failed):")
            out.extend(f"  {r}" for r in self.new_rows)
        if self.gone_rows:
            out.append(f"rows in the baseline but not in this run ({len(self.gone_rows)}):")
            out.extend(f"  {r}" for r in self.gone_rows)
        return out


def p_moved(old_k: int, old_n: int, new_k: int, new_n: int, margin: float, d: Direction) -> float:
    """One-sided p-value that the share moved by more than ``margin`` in direction ``d``.

    Score test of H0: new - old >= -margin (``down``) or new - old <= margin (``up``).
    """
    if old_n == 0 or new_n == 0:
        return 1.0
    if (old_k == old_n and new_k == new_n) or (old_k == 0 and new_k == 0):
        return 1.0  # both all or both none: no move to test (the score test is undefined)
    from statsmodels.stats.proportion import test_proportions_2indep

    with np.errstate(divide="ignore", invalid="ignore"):  # ratios of a zero share
        result = test_proportions_2indep(
            new_k,
            new_n,
            old_k,
            old_n,
            value=-margin if d == "down" else margin,
            method="score",
            compare="diff",
            alternative="smaller" if d == "down" else "larger",
        )
    p = float(result.pvalue)
    return 1.0 if p != p else min(1.0, max(0.0, p))  # NaN (degenerate counts) -> no evidence


def p_gap_moved(
    old: tuple[int, int, int, int],
    new: tuple[int, int, int, int],
    margin: float,
    d: Direction,
) -> float:
    """One-sided p-value that the gap ``k1/n1 - k2/n2`` moved by more than ``margin`` in ``d``.

    ``old`` and ``new`` are ``(k1, n1, k2, n2)``: the off-protocol draws and all
    draws of the watched arm, then of the other arm. A z test of the change in
    the difference, each share taken as (k + 1) / (n + 2) (Agresti-Caffo).
    """
    from scipy.stats import norm

    if 0 in (old[1], old[3], new[1], new[3]):
        return 1.0

    def gap(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
        p1, p2 = (k1 + 1) / (n1 + 2), (k2 + 1) / (n2 + 2)
        return p1 - p2, p1 * (1 - p1) / (n1 + 2) + p2 * (1 - p2) / (n2 + 2)

    g_old, v_old = gap(*old)
    g_new, v_new = gap(*new)
    shift = g_new - g_old
    z = (
        (shift - margin) / math.sqrt(v_old + v_new)
        if d == "up"
        else (-(shift + margin) / math.sqrt(v_old + v_new))
    )
    return float(norm.sf(z))


def holm(p_values: list[float], alpha: float) -> tuple[list[float], list[bool]]:
    """Holm's step-down adjustment: the adjusted p-values and which are rejected at ``alpha``.

    >>> holm([0.01, 0.04, 0.03], 0.05)
    ([0.03, 0.06, 0.06], [True, False, False])
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return [round(a, 15) for a in adjusted], [a <= alpha for a in adjusted]


def _holm(moves: list[Move], alpha: float) -> list[Move]:
    adjusted, reject = holm([m.p_value for m in moves], alpha)
    return [
        m.model_copy(update={"p_adjusted": a, "significant": r})
        for m, a, r in zip(moves, adjusted, reject, strict=True)
    ]


def _other(arm: str) -> str:
    return "control" if arm == "treatment" else "treatment"


def compare(
    baseline: Baseline,
    current: Baseline,
    outcomes: Iterable[Outcome],
    margin: float,
    alpha: float,
    path: str = "",
) -> Comparison:
    """Check ``current`` rows against ``baseline`` (watches from either side)."""
    claimed: dict[tuple[Key, str, str], list[str]] = {}
    for o in outcomes:
        name = o.test or o.hypothesis
        for arm_name, category, direction in o.claim.watched():
            key = (o.hypothesis, o.variant, o.model, str(arm_name))
            claimed.setdefault((key, category, direction), []).append(name)
        for arm in o.arms:
            key = (o.hypothesis, o.variant, o.model, str(arm.arm))
            claimed.setdefault((key, "", "compliance"), []).append(name)
        gap_arm = gapped_arm(o)
        if gap_arm is not None:
            key = (o.hypothesis, o.variant, o.model, gap_arm)
            claimed.setdefault((key, "", "gap"), []).append(name)

    def tests(key: Key, category: str, what: str) -> list[str]:
        return sorted(set(claimed.get((key, category, what), [])))

    old_rows, new_rows = baseline.by_key(), current.by_key()
    moves: list[Move] = []
    for key in sorted(old_rows.keys() & new_rows.keys()):
        old, new = old_rows[key], new_rows[key]
        watch: dict[str, Watch] = dict(old.watch)
        for category, w in new.watch.items():
            for d in directions(w):
                watch[category] = merge_watch(watch.get(category), d)
        for category, w in sorted(watch.items()):
            bad = directions(w)
            for d in ("down", "up"):
                moves.append(
                    Move(
                        row=new.label,
                        category=category,
                        direction=d,
                        forbidden=d in bad,
                        old_share=old.share(category),
                        old_n=old.compliant,
                        new_share=new.share(category),
                        new_n=new.compliant,
                        p_value=p_moved(
                            old.counts.get(category, 0),
                            old.compliant,
                            new.counts.get(category, 0),
                            new.compliant,
                            margin,
                            d,
                        ),
                        tests=tests(key, category, d),
                    )
                )
        for d in ("down", "up"):
            moves.append(
                Move(
                    row=new.label,
                    kind="compliance",
                    direction=d,
                    forbidden=d == "down",
                    old_share=old.compliance,
                    old_n=old.n,
                    new_share=new.compliance,
                    new_n=new.n,
                    p_value=p_moved(old.compliant, old.n, new.compliant, new.n, margin, d),
                    tests=tests(key, "", "compliance"),
                )
            )
        other = (*key[:3], _other(key[3]))
        if (old.gap or new.gap) and other in old_rows and other in new_rows:
            o2, n2 = old_rows[other], new_rows[other]
            before = (old.off_protocol, old.n, o2.off_protocol, o2.n)
            after = (new.off_protocol, new.n, n2.off_protocol, n2.n)
            for d in ("down", "up"):
                moves.append(
                    Move(
                        row=f"{new.label} - {o2.arm}",
                        kind="gap",
                        direction=d,
                        forbidden=d == "up",
                        old_share=old.off_protocol / old.n - o2.off_protocol / o2.n,
                        old_n=old.n + o2.n,
                        new_share=new.off_protocol / new.n - n2.off_protocol / n2.n,
                        new_n=new.n + n2.n,
                        p_value=p_gap_moved(before, after, margin, d),
                        method=GAP_TEST,
                        tests=tests(key, "", "gap"),
                    )
                )
    forbidden = _holm([m for m in moves if m.forbidden], alpha)
    allowed = _holm([m for m in moves if not m.forbidden], alpha)
    return Comparison(
        path=path,
        margin=margin,
        alpha=alpha,
        compared=len(forbidden),
        regressions=[m for m in forbidden if m.significant],
        improvements=[m for m in allowed if m.significant],
        checked=forbidden,
        new_rows=[new_rows[k].label for k in sorted(new_rows.keys() - old_rows.keys())],
        gone_rows=[old_rows[k].label for k in sorted(old_rows.keys() - new_rows.keys())],
    )
