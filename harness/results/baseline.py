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
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

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


def merge_watch(old: Watch | None, new: Direction) -> Watch:
    return new if old is None or old == new else "both"


def directions(watch: Watch) -> tuple[Direction, ...]:
    return ("down", "up") if watch == "both" else (watch,)


def gapped_arm(outcome: Outcome) -> str | None:
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
            table[category] = merge_watch(table.get(category), direction)
        gap_arm = gapped_arm(o)
        if gap_arm is not None:
            gaps.add((o.hypothesis, o.variant, o.model, gap_arm))
    rows = [
        r.model_copy(update={"watch": dict(sorted(watches.get(k, {}).items())), "gap": k in gaps})
        for k, r in best.items()
    ]
    return Baseline(rows=sorted(rows, key=lambda r: r.key))
