"""Behavioral baselines: each row's category counts stored, and moves flagged in review and CI.

A *row* is one (hypothesis, variant, model, arm). The baseline file keeps, per
row, ``n`` (the draws analysed, errors excluded) and the counts of every
category among them, the off-protocol ones (``refusal``, ``other``, ``empty``) included,
so that both the *shares* (of the on-protocol draws) and the *compliance* (the
on-protocol share of all draws) can be compared. It also keeps what the claims
watch: the categories a claim names, with the direction the claim forbids
(``down`` for a share that must not drop, ``up`` for one that must not rise,
``both``), and ``gap`` on the arm whose off-protocol share a two-arm claim
compares with the other arm's (the *off-protocol gap*, which must not rise).
It is JSON with one row per line, sorted, so it is small, stable (seeded draws
repeat) and diffs line by line in review.

Comparing a run with the baseline tests, for every row present in both:

* each watched (category, forbidden direction): one-sided two-sample score
  test (statsmodels ``test_proportions_2indep``) of "the share moved by more
  than ``margin`` in the forbidden direction";
* the compliance of every row, forbidden to fall (the same test): a model that
  stops following the protocol is a regression even though every test on it
  is only skipped as NONCOMPLIANT;
* each watched off-protocol gap (treatment - control off-protocol share),
  forbidden to rise: a one-sided z test of the difference of the two
  differences, with Agresti-Caffo's adjustment (one success and one failure
  added to each of the four counts) so that empty or full arms keep a variance.

The p-values of all forbidden-direction comparisons are adjusted together by
Holm's method, so the chance of flagging anything that did not move past the
margin is at most ``alpha`` over the whole run. Moves in the allowed direction
are tested the same way (a separate Holm family) and reported, never failed.
Rows that are new or gone are listed, never failed.

Why on the controller: a row's counts are best taken from the largest sample
any test of the run drew for it (tests sharing an arm share its draws), and
Holm needs every p-value at once, so the comparison runs once on the pytest-xdist
controller after all tests have reported. A regression turns the session's
exit code to 1, is printed naming each regressed row and the tests that claim
it, is shown on the report page and written to ``baseline-check.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError, model_validator

from harness.define.claims import Direction
from harness.define.classifiers import OFF_PROTOCOL
from harness.results.records import Outcome

FORMAT = 2
Watch = Literal["down", "up", "both"]
Kind = Literal["share", "compliance", "gap"]
Key = tuple[str, str, str, str]

SCORE_TEST = "one-sided score test of two independent shares"
GAP_TEST = "one-sided z test of the change in the off-protocol gap (Agresti-Caffo)"


class BaselineError(ValueError):
    """A baseline file that cannot be used; the message names the file and the field."""


class Row(BaseModel):
    """One (hypothesis, variant, model, arm): its category counts and what the claims watch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hypothesis: str
    variant: str
    model: str
    arm: Literal["control", "treatment"]
    n: int = Field(ge=1, description="draws analysed (errors excluded); counts sum to n")
    counts: dict[str, NonNegativeInt] = Field(
        description="draws per category, off-protocol ones ('refusal', 'other', 'empty') too"
    )
    watch: dict[str, Watch] = Field(default_factory=dict)
    gap: bool = Field(
        default=False,
        description="this arm's off-protocol share minus the other arm's is watched (rise "
        "forbidden)",
    )

    @model_validator(mode="after")
    def _counts_add_up(self) -> Row:
        total = sum(self.counts.values())
        if total != self.n:
            raise ValueError(f"the counts add up to {total}, not n={self.n}")
        return self

    @property
    def key(self) -> Key:
        return (self.hypothesis, self.variant, self.model, self.arm)

    @property
    def label(self) -> str:
        return f"{self.hypothesis}[{self.variant}] {self.model} {self.arm}"

    @property
    def off_protocol(self) -> int:
        return sum(self.counts.get(c, 0) for c in OFF_PROTOCOL)

    @property
    def compliant(self) -> int:
        """On-protocol draws: the denominator of every share."""
        return self.n - self.off_protocol

    @property
    def compliance(self) -> float:
        return self.compliant / self.n

    def share(self, category: str) -> float:
        return self.counts.get(category, 0) / self.compliant if self.compliant else 0.0


class Baseline(BaseModel):
    """The stored rows, sorted by key."""

    model_config = ConfigDict(extra="forbid")

    format: int = FORMAT
    rows: list[Row] = Field(default_factory=list)

    @model_validator(mode="after")
    def _readable(self) -> Baseline:
        if self.format != FORMAT:
            raise ValueError(
                f"format {self.format} is not read by this harness (it reads format {FORMAT}): "
                "write the file again with --update-baseline"
            )
        seen: set[Key] = set()
        for row in self.rows:
            if row.key in seen:
                raise ValueError(f"row {row.label!r} appears twice")
            seen.add(row.key)
        return self

    def by_key(self) -> dict[Key, Row]:
        return {r.key: r for r in self.rows}

    @classmethod
    def read(cls, path: Path) -> Baseline:
        """The baseline at ``path``; a bad file raises :class:`BaselineError` naming the field."""
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise BaselineError(f"baseline {path}: cannot be read: {exc}") from None
        except json.JSONDecodeError as exc:
            raise BaselineError(f"baseline {path}: not JSON: {exc}") from None
        if not isinstance(data, dict) or "format" not in data:
            raise BaselineError(
                f'baseline {path}: format: missing (a baseline is {{"format": {FORMAT}, '
                '"rows": [...]}, written by --update-baseline)'
            )
        if data["format"] != FORMAT:  # before the rows: an old file's rows mean other things
            raise BaselineError(
                f"baseline {path}: format: {data['format']!r} is not read by this harness (it "
                f"reads format {FORMAT}): write the file again with --update-baseline"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise BaselineError(f"baseline {path}: {_errors(exc, data)}") from None

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


def _errors(exc: ValidationError, data: dict[str, Any]) -> str:
    """pydantic errors as ``rows[3] (label).counts.random: message``, joined by '; '."""
    parts = []
    rows = data.get("rows")
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc) or "(root)"
        if len(loc) >= 2 and loc[0] == "rows" and isinstance(loc[1], int):
            rest = "".join(f".{p}" for p in loc[2:])
            row = rows[loc[1]] if isinstance(rows, list) and loc[1] < len(rows) else None
            named = ""
            if isinstance(row, dict) and {"hypothesis", "variant", "model", "arm"} <= row.keys():
                named = f" ({row['hypothesis']}[{row['variant']}] {row['model']} {row['arm']})"
            where = f"rows[{loc[1]}]{named}{rest}"
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def _merge_watch(old: Watch | None, new: Direction) -> Watch:
    return new if old is None or old == new else "both"


def _directions(watch: Watch) -> tuple[Direction, ...]:
    return ("down", "up") if watch == "both" else (watch,)


def _gap_arm(outcome: Outcome) -> str | None:
    """The arm whose off-protocol share a two-arm claim compares with the other's, if any."""
    if not any(g.kind == "off_protocol" for g in outcome.gates):
        return None
    return str(outcome.claim.shares()[0].arm)


def rows_from(outcomes: Iterable[Outcome]) -> Baseline:
    """The rows of a run: per row the largest sample any test drew, and all watches."""
    best: dict[Key, Row] = {}
    watches: dict[Key, dict[str, Watch]] = {}
    gaps: set[Key] = set()
    for o in outcomes:
        for arm in o.arms:
            if arm.n == 0:  # only errors: nothing to store
                continue
            key = (o.hypothesis, o.variant, o.model, str(arm.arm))
            row = Row(
                hypothesis=o.hypothesis,
                variant=o.variant,
                model=o.model,
                arm=arm.arm,
                n=arm.n,
                counts=dict(sorted((k, v) for k, v in arm.counts.items() if v)),
            )
            if key not in best or row.n > best[key].n:
                best[key] = row
        for arm_name, category, direction in o.claim.watched():
            key = (o.hypothesis, o.variant, o.model, str(arm_name))
            table = watches.setdefault(key, {})
            table[category] = _merge_watch(table.get(category), direction)
        gap_arm = _gap_arm(o)
        if gap_arm is not None:
            gaps.add((o.hypothesis, o.variant, o.model, gap_arm))
    rows = [
        r.model_copy(update={"watch": dict(sorted(watches.get(k, {}).items())), "gap": k in gaps})
        for k, r in best.items()
    ]
    return Baseline(rows=sorted(rows, key=lambda r: r.key))


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
        gap_arm = _gap_arm(o)
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
            for d in _directions(w):
                watch[category] = _merge_watch(watch.get(category), d)
        for category, w in sorted(watch.items()):
            bad = _directions(w)
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
