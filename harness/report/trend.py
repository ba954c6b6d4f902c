"""Trend: each test's verdict and headline share over the earlier runs in the same report folder.

When ``reports/`` holds earlier runs, the page shows, per test and model, the
verdict and headline share of the last few runs beside this one, so a share
drifting over weeks is seen before it crosses a margin. Earlier runs are read
from their ``results.json`` as plain JSON (only the fields needed), so runs
written by an older harness still count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.report.labels import MIN_REPLIES, headline_share, node_name, row_label
from harness.results.run import RunResults

RUNS_SHOWN = 8  # earlier runs beside this one
MAX_BYTES = 200_000_000  # a results.json larger than this is not read for the trend

Key = tuple[str, str, str]  # (hypothesis, test[variant], model)


class Cell(BaseModel):
    verdict: str
    share: str


class TrendRun(BaseModel):
    """One run's cells: (hypothesis, row label, model) -> verdict and headline share."""

    run_id: str
    cells: dict[str, Cell]

    @staticmethod
    def key(hypothesis: str, label: str, model: str) -> str:
        return f"{hypothesis}\x1f{label}\x1f{model}"


def this_run(results: RunResults) -> TrendRun:
    cells = {
        TrendRun.key(o.hypothesis, row_label(o), o.model): Cell(
            verdict=o.verdict.value, share=headline_share(o)
        )
        for o in results.outcomes
    }
    return TrendRun(run_id=results.run_id, cells=cells)


def _raw_share(outcome: dict[str, Any]) -> str:
    """The headline share of an outcome read as plain JSON ('' if it cannot be told)."""
    claim = outcome.get("claim") or {}
    target = claim.get("share") or claim.get("treatment")
    if not isinstance(target, dict):
        return ""
    for arm in outcome.get("arms") or []:
        if arm.get("arm") == target.get("arm"):
            if int(arm.get("compliant", 0)) < MIN_REPLIES:
                return f"{target.get('category')}=n/a"
            share = (arm.get("shares") or {}).get(target.get("category"))
            return "" if share is None else f"{target.get('category')}={float(share):.2f}"
    return ""


def read_run(path: Path) -> TrendRun | None:
    """The trend cells of the run whose results.json is ``path`` (None if unreadable)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    cells: dict[str, Cell] = {}
    for o in data.get("outcomes") or []:
        try:
            test = str(o.get("test") or "")
            name = node_name(test, params=False) if test else str(o["hypothesis"])
            label = f"{name}[{o['variant']}]"
            key = TrendRun.key(str(o["hypothesis"]), label, str(o["model"]))
            cells[key] = Cell(verdict=str(o["verdict"]), share=_raw_share(o))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    run_id = str(data.get("run_id") or path.parent.name)
    return TrendRun(run_id=run_id, cells=cells) if cells else None


def earlier_runs(base: Path, before: str, limit: int = RUNS_SHOWN) -> list[TrendRun]:
    """Up to ``limit`` runs under ``base`` whose folder sorts before ``before``, oldest first."""
    if not base.is_dir():
        return []
    folders = sorted(
        (
            p
            for p in base.iterdir()
            if p.is_dir()
            and not p.is_symlink()
            and not p.name.startswith(".")
            and p.name < before
            and (p / "results.json").is_file()
        ),
        key=lambda p: p.name,
    )
    runs = [read_run(p / "results.json") for p in folders[-limit:]]
    return [r for r in runs if r is not None]
