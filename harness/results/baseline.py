"""Behavioral baselines: each row's category counts stored, and moves flagged in review and CI.

A *row* is one (hypothesis, variant, model, arm). The baseline file keeps, per
row, the counts of every category among that arm's draws and ``n``, the
compliant draws (shares are counts / n), plus the *watched* categories: those
a claim names, with the direction the claim forbids (``down`` for a share that
must not drop, ``up`` for one that must not rise, ``both``). It is JSON with
one row per line, sorted, so it is small, stable (seeded draws repeat) and
diffs line by line in review.

Comparing a run with the baseline tests every watched (row, category, forbidden
direction) with a one-sided two-sample score test (statsmodels
``test_proportions_2indep``) of "the share moved by more than ``margin`` in the
forbidden direction" (H0: new - old >= -margin for ``down``); the p-values of
all comparisons are adjusted together by Holm's method, so the chance of
flagging any row whose share did not move past the margin is at most ``alpha``
over the whole run. Moves in the allowed direction are tested the same way (a
separate Holm family) and reported, never failed. Rows that are new or gone
are listed, never failed.

Why on the controller: a row's counts are best taken from the largest sample
any test of the run drew for it (tests sharing an arm share its draws), and
Holm needs every p-value at once, so the comparison runs once on the pytest-xdist
controller after all tests have reported. A regression turns the session's
exit code to 1 and is printed (and written to ``baseline-check.json`` beside
``results.json``) naming each regressed row and the tests that claim it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import test_proportions_2indep

from harness.define.claims import Direction
from harness.results.records import Outcome

FORMAT = 1
Watch = Literal["down", "up", "both"]


class Row(BaseModel):
    """One (hypothesis, variant, model, arm): its category counts and watched shares."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hypothesis: str
    variant: str
    model: str
    arm: str
    n: int = Field(ge=0, description="compliant draws: the denominator of every share")
    counts: dict[str, int]
    watch: dict[str, Watch] = Field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.hypothesis, self.variant, self.model, self.arm)

    @property
    def label(self) -> str:
        return f"{self.hypothesis}[{self.variant}] {self.model} {self.arm}"

    def share(self, category: str) -> float:
        return self.counts.get(category, 0) / self.n if self.n else 0.0


class Baseline(BaseModel):
    """The stored rows, sorted by key."""

    format: int = FORMAT
    rows: list[Row] = Field(default_factory=list)

    def by_key(self) -> dict[tuple[str, str, str, str], Row]:
        return {r.key: r for r in self.rows}

    @classmethod
    def read(cls, path: Path) -> Baseline:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))

    def dumps(self) -> str:
        """JSON with one row per line (sorted keys), for line-by-line review diffs."""
        rows = sorted(self.rows, key=lambda r: r.key)
        lines = [
            "  " + json.dumps(r.model_dump(), sort_keys=True, ensure_ascii=False) for r in rows
        ]
        body = ",\n".join(lines)
        return f'{{\n "format": {self.format},\n "rows": [\n{body}\n ]\n}}\n'

    def merged(self, newer: Baseline) -> Baseline:
        """These rows with ``newer``'s rows replacing or adding theirs."""
        rows = self.by_key()
        rows.update(newer.by_key())
        return Baseline(rows=sorted(rows.values(), key=lambda r: r.key))


def _merge_watch(old: Watch | None, new: Direction) -> Watch:
    return new if old is None or old == new else "both"


def _directions(watch: Watch) -> tuple[Direction, ...]:
    return ("down", "up") if watch == "both" else (watch,)


def rows_from(outcomes: Iterable[Outcome]) -> Baseline:
    """The rows of a run: per row the largest sample any test drew, and all watches."""
    best: dict[tuple[str, str, str, str], Row] = {}
    watches: dict[tuple[str, str, str, str], dict[str, Watch]] = {}
    for o in outcomes:
        for arm in o.arms:
            key = (o.hypothesis, o.variant, o.model, str(arm.arm))
            row = Row(
                hypothesis=o.hypothesis,
                variant=o.variant,
                model=o.model,
                arm=arm.arm,
                n=arm.compliant,
                counts=dict(sorted(arm.counts.items())),
            )
            if key not in best or row.n > best[key].n:
                best[key] = row
        for arm_name, category, direction in o.claim.watched():
            key = (o.hypothesis, o.variant, o.model, str(arm_name))
            table = watches.setdefault(key, {})
            table[category] = _merge_watch(table.get(category), direction)
    rows = [
        r.model_copy(update={"watch": dict(sorted(watches.get(k, {}).items()))})
        for k, r in best.items()
    ]
    return Baseline(rows=sorted(rows, key=lambda r: r.key))


class Move(BaseModel):
    """One tested (row, category, direction): the shares and the adjusted p-value."""

    row: str
    category: str
    direction: Direction
    forbidden: bool
    old_share: float
    old_n: int
    new_share: float
    new_n: int
    p_value: float
    p_adjusted: float = 1.0
    significant: bool = False
    tests: list[str] = Field(default_factory=list, description="tests that claim this share")

    def describe(self) -> str:
        arrow = "fell" if self.direction == "down" else "rose"
        return (
            f"{self.row}: '{self.category}' share {arrow} {self.old_share:.2f} (n={self.old_n}) "
            f"-> {self.new_share:.2f} (n={self.new_n}), p={self.p_adjusted:.2g} (Holm)"
        )


class Comparison(BaseModel):
    """The result of checking a run against a baseline."""

    path: str
    margin: float
    alpha: float
    compared: int = Field(description="forbidden-direction comparisons in the Holm family")
    regressions: list[Move] = Field(default_factory=list)
    improvements: list[Move] = Field(default_factory=list)
    new_rows: list[str] = Field(default_factory=list)
    gone_rows: list[str] = Field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.regressions)

    def lines(self) -> list[str]:
        """The terminal section: regressions, then other moves, new and gone rows."""
        out = [
            f"baseline {self.path}: {self.compared} watched shares compared, margin "
            f"{self.margin:g}, family-wise alpha {self.alpha:g} (Holm)"
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


def _holm(moves: list[Move], alpha: float) -> list[Move]:
    if not moves:
        return []
    reject, adjusted, _, _ = multipletests([m.p_value for m in moves], alpha=alpha, method="holm")
    return [
        m.model_copy(update={"p_adjusted": float(a), "significant": bool(r)})
        for m, a, r in zip(moves, adjusted, reject, strict=True)
    ]


def compare(
    baseline: Baseline,
    current: Baseline,
    outcomes: Iterable[Outcome],
    margin: float,
    alpha: float,
    path: str = "",
) -> Comparison:
    """Check ``current`` rows against ``baseline`` (watches from either side)."""
    claimed: dict[tuple[tuple[str, str, str, str], str, Direction], list[str]] = {}
    for o in outcomes:
        for arm_name, category, direction in o.claim.watched():
            key = (o.hypothesis, o.variant, o.model, str(arm_name))
            claimed.setdefault((key, category, direction), []).append(o.test or o.hypothesis)
    old_rows, new_rows = baseline.by_key(), current.by_key()
    forbidden: list[Move] = []
    allowed: list[Move] = []
    for key in sorted(old_rows.keys() & new_rows.keys()):
        old, new = old_rows[key], new_rows[key]
        watch: dict[str, Watch] = dict(old.watch)
        for category, w in new.watch.items():
            for d in _directions(w):
                watch[category] = _merge_watch(watch.get(category), d)
        for category, w in sorted(watch.items()):
            bad = _directions(w)
            for d in ("down", "up"):
                move = Move(
                    row=new.label,
                    category=category,
                    direction=d,
                    forbidden=d in bad,
                    old_share=old.share(category),
                    old_n=old.n,
                    new_share=new.share(category),
                    new_n=new.n,
                    p_value=p_moved(
                        old.counts.get(category, 0),
                        old.n,
                        new.counts.get(category, 0),
                        new.n,
                        margin,
                        d,
                    ),
                    tests=sorted(set(claimed.get((key, category, d), []))),
                )
                (forbidden if move.forbidden else allowed).append(move)
    return Comparison(
        path=path,
        margin=margin,
        alpha=alpha,
        compared=len(forbidden),
        regressions=[m for m in _holm(forbidden, alpha) if m.significant],
        improvements=[m for m in _holm(allowed, alpha) if m.significant],
        new_rows=[new_rows[k].label for k in sorted(new_rows.keys() - old_rows.keys())],
        gone_rows=[old_rows[k].label for k in sorted(old_rows.keys() - new_rows.keys())],
    )
