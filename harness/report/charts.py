"""Charts: one figure per decided test for the HTML page, drawn by matplotlib as inline SVG.

The figure has two panels:

* **shares**: the share of each category among the on-protocol replies of
  each arm, as bars with their 95% Jeffreys intervals (the claim's categories
  outlined). An arm with fewer than :data:`~harness.report.labels.MIN_REPLIES`
  on-protocol replies has no shares worth drawing: it is drawn as a hatched
  "off-protocol" band saying how many of its replies were on-protocol.
* **gates**: one strip per gate of the claim over the gate's scale (a share
  from 0 to 1, a difference from -1 to 1), coloured by region: the *allowed*
  region (green), the *forbidden* region (red) and the zone between them
  (grey, hatched: no error rate is promised there). The measured value is a
  dot with its 95% interval (Jeffreys for a share, Newcombe for a difference),
  unless its arms were off-protocol, which the strip then says.

Text is drawn as paths (no fonts needed to view it) and each chart gets its own
``svg.hashsalt`` so that element ids of several inline SVGs never collide.
A chart is drawn once per process and kept (:func:`chart`), so the page and the
pytest-html extra of the same test share one drawing; the page's drawings are
also kept in the report folder (``.charts``), so an unchanged rerun draws none.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.files import write_text
from harness.report.labels import MIN_REPLIES
from harness.results.records import ArmResult, GateResult, Outcome
from harness.stats.intervals import jeffreys, newcombe_interval

ARM_COLORS = {"control": "#4c72b0", "treatment": "#dd8452"}
ALLOWED = "#a5d6a7"
FORBIDDEN = "#ef9a9a"
BETWEEN = "#eeeeee"
OFF = "#7b1fa2"
_DRAWN: dict[str, str] = {}
#: Bumped when the drawing changes for the same numbers (kept drawings then go stale).
LAYOUT = 1
#: Days a kept drawing survives without being used.
KEEP_DAYS = 30


@dataclass(frozen=True)
class Mark:
    """What a gate strip shows: the value, its interval, or why there is none."""

    value: float | None
    low: float
    high: float
    missing: str = ""


def gate_name(gate: GateResult, outcome: Outcome) -> str:
    """A short name for a gate's strip: ``treatment 'random'``, ``treatment - control`` ..."""
    if gate.kind == "off_protocol":
        return "off-protocol gap"
    shares = outcome.claim.shares()
    if gate.kind == "difference" and len(shares) == 2:
        return f"'{shares[0].category}' - '{shares[1].category}' share"
    if gate.kind == "share" and shares:
        side = "not too low" if gate.allowed > gate.forbidden else "not too high"
        return f"{shares[0].arm} '{shares[0].category}', {side}"
    return gate.description


def _arm(outcome: Outcome, name: str) -> ArmResult | None:
    return next((a for a in outcome.arms if a.arm == name), None)


def _off(arm: ArmResult) -> int:
    return arm.n - arm.compliant


def gate_mark(gate: GateResult, outcome: Outcome) -> Mark:
    """The gate's value over all draws with its 95% interval, or why it is not drawn."""
    shares = outcome.claim.shares()
    if gate.kind == "off_protocol":
        arms = [a for a in outcome.arms if a.n]
        if len(arms) != 2 or not shares:
            return Mark(None, 0, 0, "no replies")
        first = _arm(outcome, shares[0].arm)
        other = next(a for a in arms if a is not first)
        if first is None or not first.n:
            return Mark(None, 0, 0, "no replies")
        low, high = newcombe_interval(_off(first), first.n, _off(other), other.n)
        return Mark(_off(first) / first.n - _off(other) / other.n, low, high)
    used = [_arm(outcome, s.arm) for s in shares[: 2 if gate.kind == "difference" else 1]]
    few = [a for a in used if a is not None and a.compliant < MIN_REPLIES]
    if any(a is None for a in used) or few:
        words = "; ".join(f"{a.arm} {a.compliant} of {a.n}" for a in few)
        return Mark(None, 0, 0, f"off-protocol: {words} replies on-protocol")
    counts = [
        (a.counts.get(s.category, 0), a.compliant)
        for a, s in zip(used, shares, strict=False)
        if a is not None
    ]
    if gate.kind == "difference" and len(counts) == 2:
        (k1, n1), (k2, n2) = counts
        low, high = newcombe_interval(k1, n1, k2, n2)
        return Mark(k1 / n1 - k2 / n2, low, high)
    k, n = counts[0]
    low, high = jeffreys(k, n)
    return Mark(k / n, low, high)


def regions(gate: GateResult, lo: float, hi: float) -> list[tuple[str, float, float]]:
    """``(region, start, end)`` of the allowed and forbidden regions and the zone between.

    >>> regions(GateResult.model_construct(allowed=0.0, forbidden=-0.2), -1.0, 1.0)
    [('forbidden', -1.0, -0.2), ('between', -0.2, 0.0), ('allowed', 0.0, 1.0)]
    """
    a, f = gate.allowed, gate.forbidden
    if a >= f:
        return [("forbidden", lo, f), ("between", f, a), ("allowed", a, hi)]
    return [("allowed", lo, a), ("between", a, f), ("forbidden", f, hi)]


def _scale(gates: list[GateResult]) -> tuple[float, float]:
    return (0.0, 1.0) if all(g.kind == "share" for g in gates) else (-1.0, 1.0)


def _key(outcome: Outcome) -> str:
    """What the chart depends on, hashed: equal inputs give the same (kept) drawing."""
    data: dict[str, Any] = {
        "layout": LAYOUT,
        "id": [outcome.test, outcome.hypothesis, outcome.variant, outcome.model],
        "claim": outcome.claim.model_dump(mode="json"),
        "arms": [
            a.model_dump(mode="json", exclude={"draws", "examples", "messages"})
            for a in outcome.arms
        ],
        "gates": [g.model_dump(mode="json") for g in outcome.gates],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def chart(outcome: Outcome, folder: Path | None = None) -> str:
    """The test's figure as SVG markup, drawn on first use and then kept for the process.

    With ``folder`` (the report folder's ``.charts``) a drawing is also kept on
    disk, named by the hash of what it shows, so a rerun whose results did not
    change (every draw cached) reads its charts instead of importing matplotlib
    and drawing them again.
    """
    key = _key(outcome)
    if key not in _DRAWN:
        path = None if folder is None else folder / f"{key}.svg"
        try:
            if path is not None:
                _DRAWN[key] = path.read_text(encoding="utf-8")
                os.utime(path)  # in use: not pruned
        except OSError:
            pass
        if key not in _DRAWN:
            _DRAWN[key] = _draw(outcome, salt=f"c{key}")
            if path is not None:
                _keep(path, _DRAWN[key])
    return _DRAWN[key]


def _keep(path: Path, svg: str) -> None:
    """Write one drawing into the chart folder; drop drawings unused for KEEP_DAYS."""
    try:
        write_text(path, svg)
        cutoff = time.time() - KEEP_DAYS * 86400
        for old in path.parent.glob("*.svg"):
            if old.stat().st_mtime < cutoff:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a drawing not kept is only drawn again next time


def _draw(outcome: Outcome, salt: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    categories: list[str] = []
    for arm in outcome.arms:
        categories.extend(c for c in arm.categories if c not in categories)
    gates = list(outcome.gates)
    bars_width = 1.0 + 0.55 * len(categories) * max(1, len(outcome.arms))
    height = max(2.5, 1.45 + 0.6 * len(gates))
    width = bars_width + 4.6
    with plt.rc_context(
        {"svg.fonttype": "path", "svg.hashsalt": salt, "font.size": 8, "axes.titlesize": 8.5}
    ):
        fig = plt.figure(figsize=(width, height))
        try:
            bottom, top = 0.95 / height, 1 - 0.3 / height  # fixed margins: no layout pass
            left = fig.add_axes((0.5 / width, bottom, (bars_width - 0.6) / width, top - bottom))
            right = fig.add_axes(
                (
                    (bars_width + 0.4) / width,
                    bottom,
                    (width - bars_width - 1.15) / width,
                    top - bottom,
                )
            )
            _share_panel(left, outcome, categories)
            _gate_panel(right, outcome, gates)
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        finally:
            plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _share_panel(ax: Any, outcome: Outcome, categories: list[str]) -> None:
    targets = {(s.arm, s.category) for s in outcome.claim.shares()}
    width = 0.8 / max(1, len(outcome.arms))
    for i, arm in enumerate(outcome.arms):
        offset = -0.4 + width * (i + 0.5)
        color = ARM_COLORS.get(arm.arm, "#888888")
        if arm.compliant < MIN_REPLIES:  # no shares from a handful of replies
            xs = [j + offset for j, name in enumerate(categories) if name in arm.categories]
            ax.bar(
                xs,
                [1.0] * len(xs),
                width * 0.9,
                color="none",
                edgecolor=OFF,
                hatch="///",
                linewidth=0.8,
                label=f"{arm.arm}: off-protocol, {arm.compliant} of {arm.n} on-protocol",
            )
            for x in xs:
                ax.text(
                    x,
                    0.5,
                    "off-protocol",
                    rotation=90,
                    ha="center",
                    va="center",
                    color=OFF,
                    fontsize=7.5,
                )
            continue
        xs, ys, lows, highs, edges = [], [], [], [], []
        for j, name in enumerate(categories):
            if name not in arm.categories:
                continue
            share = arm.shares[name]
            low, high = arm.intervals[name]
            xs.append(j + offset)
            ys.append(share)
            lows.append(max(0.0, share - low))
            highs.append(max(0.0, high - share))
            edges.append("black" if (arm.arm, name) in targets else "none")
        ax.bar(
            xs,
            ys,
            width * 0.9,
            yerr=[lows, highs],
            capsize=3,
            color=color,
            edgecolor=edges,
            linewidth=1.2,
            label=f"{arm.arm} ({arm.compliant} of {arm.n} on-protocol)",
            error_kw={"elinewidth": 1, "ecolor": "#333333"},
        )
    ax.set_xticks(range(len(categories)), categories)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of on-protocol replies")
    ax.set_title("shares (95% Jeffreys intervals)")
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(-0.05, -0.11), ncol=1, frameon=False)


def _gate_panel(ax: Any, outcome: Outcome, gates: list[GateResult]) -> None:
    from matplotlib.patches import Patch, Rectangle

    lo, hi = _scale(gates)
    colors = {"allowed": ALLOWED, "forbidden": FORBIDDEN, "between": BETWEEN}
    for row, gate in enumerate(gates):
        y = len(gates) - 1 - row
        for region, start, end in regions(gate, lo, hi):
            start, end = max(lo, start), min(hi, end)
            if end <= start:
                continue
            ax.add_patch(
                Rectangle(
                    (start, y - 0.27),
                    end - start,
                    0.5,
                    facecolor=colors[region],
                    edgecolor="#9e9e9e" if region == "between" else "none",
                    hatch="//" if region == "between" else None,
                    linewidth=0.4,
                )
            )
        mark = gate_mark(gate, outcome)
        if mark.value is None:
            ax.text(
                (lo + hi) / 2,
                y,
                mark.missing,
                ha="center",
                va="center",
                color=OFF,
                fontsize=7.5,
                bbox={"facecolor": "white", "edgecolor": OFF, "pad": 2},
            )
        else:
            ax.errorbar(
                [mark.value],
                [y],
                xerr=[[mark.value - mark.low], [mark.high - mark.value]],
                fmt="o",
                color="#212121",
                markersize=5,
                capsize=3,
                linewidth=1.2,
            )
        decided = gate.decision.word.upper() if gate.decision.word != "undecided" else "undecided"
        ax.text(hi + 0.02 * (hi - lo), y - 0.02, decided, va="center", ha="left", fontsize=7.5)
        ax.text(lo, y + 0.27, gate_name(gate, outcome), va="bottom", ha="left", fontsize=7.5)
    ax.set_xlim(lo, hi)
    ax.set_ylim(-0.4, len(gates) - 0.25)
    ax.set_yticks([])
    ax.set_xlabel("share" if lo == 0 else "share or difference of shares (treatment - control)")
    ax.set_title("gates: measured value (95% interval) against the claim's regions")
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.legend(
        handles=[
            Patch(facecolor=ALLOWED, label="allowed"),
            Patch(facecolor=BETWEEN, edgecolor="#9e9e9e", hatch="//", label="between (no promise)"),
            Patch(facecolor=FORBIDDEN, label="forbidden"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.3 if len(gates) < 3 else -0.2),
        ncol=3,
        frameon=False,
    )
