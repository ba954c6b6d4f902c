"""The HTML page: one self-contained report per run, rendered with jinja2.

The page has no script and no external reference (inline CSS, charts as
inline SVG, folds as ``<details>``), and its Content-Security-Policy forbids
both, so it opens from disk with no network. Every piece of model text goes
through jinja2's autoescaping; only the charts, drawn by matplotlib from
numbers and hypothesis-defined category names, are inserted as markup.
Secrets never reach the page: :func:`harness.report.publish.publish` masks
credential-like model arguments before anything is rendered, and no
environment is read.

Sections: the verdict matrix, the baseline check (when the run made one), the
trend over earlier runs (when the report folder holds some), the run and its
models, and one section per test with its chart, counts, gates, examples and
every reply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from harness.define.classifiers import OFF_PROTOCOL
from harness.files import write_text
from harness.report import first_token
from harness.report.charts import chart, gate_mark, gate_name
from harness.report.explain import HEADLINES
from harness.report.labels import (
    MIN_REPLIES,
    draw_variant,
    headline_share,
    node_name,
    row_label,
    share_text,
    variant_names,
)
from harness.report.progress import duration
from harness.report.trend import TrendRun, this_run
from harness.results.costs import ModelCost, cost_label
from harness.results.records import ArmResult, GateResult, Outcome
from harness.results.regression import Comparison, Move
from harness.results.run import RunResults
from harness.stats.decision import Decision

TEMPLATE = "report.html.j2"
EXAMPLES_PER_CATEGORY = 3

#: What each gate kind measures, in words.
GATE_KINDS = {
    "share": "share of one category among on-protocol replies",
    "difference": "difference of shares, treatment - control",
    "off_protocol": "off-protocol gap: treatment's off-protocol share - control's",
}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _arm_view(arm: ArmResult, outcome: Outcome) -> dict[str, Any]:
    few = arm.compliant < MIN_REPLIES  # no shares from a handful of replies
    rows = []
    for name in arm.categories:
        low, high = arm.intervals[name]
        rows.append(
            {
                "name": name,
                "rule": arm.classifiers.get(name, ""),
                "count": arm.counts.get(name, 0),
                "share": "n/a" if few else share_text(arm.counts.get(name, 0), arm.compliant),
                "ci": "n/a" if few else f"{_pct(low)} - {_pct(high)}",
            }
        )
    for name in OFF_PROTOCOL:
        if arm.counts.get(name):
            rows.append(
                {
                    "name": f"{name} (off-protocol)",
                    "rule": "",
                    "count": arm.counts[name],
                    "share": f"{share_text(arm.counts[name], arm.n)} of all",
                    "ci": "",
                }
            )
    names = variant_names(outcome)
    draws = []
    examples: dict[str, list[dict[str, Any]]] = {}
    for position, d in enumerate(arm.draws):
        category = d.category or ("error" if d.error else "")
        view = {
            "index": d.index,
            "variant": draw_variant(outcome, position, names),
            "category": category,
            "text": d.text if d.error is None else f"[error] {d.error}",
            "off": category in OFF_PROTOCOL,
        }
        draws.append(view)
        bucket = examples.setdefault(category, [])
        if len(bucket) < EXAMPLES_PER_CATEGORY and all(e["text"] != view["text"] for e in bucket):
            bucket.append(view)
    order = [*arm.categories, *OFF_PROTOCOL, "error"]
    return {
        "name": arm.arm,
        "n": arm.n,
        "compliant": arm.compliant,
        "compliance": share_text(arm.compliant, arm.n),
        "off_protocol": few,
        "errors": arm.errors,
        "rows": rows,
        "messages": arm.messages,
        "examples": [(c, examples[c]) for c in order if c in examples],
        "draws": draws,
        "pooled": len(names) > 1,
    }


def _gate_view(g: GateResult, outcome: Outcome) -> dict[str, Any]:
    mark = gate_mark(g, outcome)
    if mark.value is None:
        measured = mark.missing
    else:
        measured = f"{mark.value:+.3f} (95% interval {mark.low:+.3f} to {mark.high:+.3f})"
    return {
        "name": gate_name(g, outcome),
        "description": g.description,
        "kind": GATE_KINDS.get(g.kind, g.kind),
        "measured": measured,
        "estimate": "n/a" if g.estimate is None else f"{g.estimate:+.3f}",
        "allowed": f"{g.allowed:+g}",
        "forbidden": f"{g.forbidden:+g}",
        "fail": f"{g.fail_evidence:.2f} of {g.fail_threshold:.2f}",
        "pass": f"{g.pass_evidence:.2f} of {g.pass_threshold:.2f}",
        "observations": g.observations,
        "unit": "pairs" if g.kind in ("difference", "off_protocol") else "draws",
        "at_draw": "-" if g.at_draw is None else g.at_draw,
        "rates": f"{g.alpha:.3g} / {g.beta:.3g}",
        "decision": "undecided" if g.decision is Decision.UNDECIDED else g.decision.word.upper(),
    }


def _outcome_view(outcome: Outcome, index: int, charts: Path | None = None) -> dict[str, Any]:
    difference = None
    if outcome.difference is not None:
        low, high = outcome.difference
        difference = f"{low:+.3f} to {high:+.3f}"
    return {
        "anchor": f"outcome-{index}",
        "verdict": outcome.verdict.value,
        "label": row_label(outcome),
        "test": outcome.test,
        "model": outcome.model,
        "simulated": outcome.simulated,
        "headline": f"{outcome.model} {HEADLINES[outcome.verdict]}",
        "reason": outcome.reason,
        "rule": outcome.rule,
        # the chart is markup drawn from numbers and category identifiers, never model text
        "chart": Markup(chart(outcome, charts)),
        "arms": [_arm_view(a, outcome) for a in outcome.arms],
        "gates": [_gate_view(g, outcome) for g in outcome.gates],
        "difference": difference,
        "draws": outcome.draws_per_arm,
        "decided_at": outcome.decided_at,
        "budget": outcome.max_draws,
        "gate_alpha": f"{outcome.gate_alpha:.3g}",
        "alpha": f"{outcome.alpha:g}",
        "family_size": outcome.family_size,
        "beta": f"{outcome.beta:g}",
        "seed": outcome.seed,
        "cost": "",
        "first_token": first_token.fragment(outcome),  # markup; model text escaped inside
    }


def _models_view(results: RunResults) -> list[dict[str, Any]]:
    settings = results.settings
    out = []
    for s in results.summaries():
        args = settings.model_args.get(s.model, {})
        seconds = results.seconds.get(s.model)
        out.append(
            {
                "name": s.model,
                "provider": s.model.split("/", 1)[0],
                "simulated": s.simulated,
                "temperature": f"{settings.generation.temperature:g}",
                "max_tokens": settings.generation.max_tokens,
                "seed": settings.seed,
                "args": ", ".join(f"{k}={v}" for k, v in args.items()) or "-",
                "tests": s.tests,
                "draws": s.draws,
                "compliance": _pct(s.compliance) if s.draws else "n/a",
                "calls": s.usage.calls,
                "time": "-" if seconds is None else duration(seconds),
                "tokens": f"{s.usage.input_tokens} / {s.usage.output_tokens}",
                "cost": _usd(results.costs.models.get(s.model)),
            }
        )
    return out


def _usd(cost: ModelCost | None) -> str:
    """Dollars, or 'unpriced' for a model with no price in the table ($0 with no usage)."""
    return cost_label(0.0 if cost is None else cost.cost)


def _matrix(results: RunResults, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    models = results.models()
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for outcome, view in zip(results.outcomes, views, strict=True):
        key = (outcome.hypothesis, row_label(outcome))
        row = rows.setdefault(
            key, {"hypothesis": key[0], "label": key[1], "cells": [None] * len(models)}
        )
        row["cells"][models.index(outcome.model)] = {
            "anchor": view["anchor"],
            "verdict": outcome.verdict.value,
            "simulated": outcome.simulated,
            "share": headline_share(outcome),
            "n": outcome.draws_per_arm,
        }
    return list(rows.values())


def p_text(p: float) -> str:
    """An adjusted p-value for the page: ``0.031``, ``4.6e-10``, ``< 1e-16``."""
    if p < 1e-16:
        return "< 1e-16"
    return f"{p:.2g}"


SHORT_WHAT = {"compliance": "compliance", "gap": "off-protocol gap"}


def _move_view(m: Move) -> dict[str, Any]:
    def value(share: float, n: int) -> str:
        if m.kind == "gap":
            return f"{share:+.3f}"
        return "n/a" if n == 0 else f"{share:.3f}"

    return {
        "row": m.row,
        "what": SHORT_WHAT.get(m.kind, m.what),
        "direction": "fell" if m.direction == "down" else "rose",
        "old": value(m.old_share, m.old_n),
        "old_n": m.old_n,
        "new": value(m.new_share, m.new_n),
        "new_n": m.new_n,
        "change": f"{m.change:+.3f}",
        "p": p_text(m.p_adjusted),
        "method": m.method,
        "tests": [node_name(t) for t in m.tests],
        "status": "regressed" if m.forbidden and m.significant else "",
    }


def _baseline_view(check: Comparison | None) -> dict[str, Any] | None:
    if check is None:
        return None
    moved = sorted(check.checked, key=lambda m: m.p_adjusted)
    return {
        "path": check.path,
        "margin": f"{check.margin:g}",
        "alpha": f"{check.alpha:g}",
        "compared": check.compared,
        "failed": check.failed,
        "regressions": [_move_view(m) for m in check.regressions],
        "improvements": [_move_view(m) for m in check.improvements],
        "checked": [_move_view(m) for m in moved],
        "new_rows": check.new_rows,
        "gone_rows": check.gone_rows,
    }


def _trend_view(results: RunResults, trend: list[TrendRun]) -> dict[str, Any] | None:
    if not trend:
        return None
    runs = [*trend, this_run(results)]
    rows = []
    for o in results.outcomes:
        key = TrendRun.key(o.hypothesis, row_label(o), o.model)
        cells = [run.cells.get(key) for run in runs]
        verdicts = [c.verdict for c in cells if c is not None]
        rows.append(
            {
                "label": row_label(o),
                "hypothesis": o.hypothesis,
                "model": o.model,
                "cells": [
                    None if c is None else {"verdict": c.verdict, "share": c.share} for c in cells
                ],
                "changed": len(set(verdicts)) > 1,
            }
        )
    return {"runs": [r.run_id for r in runs], "rows": rows}


def render(
    results: RunResults, trend: list[TrendRun] | None = None, charts: Path | None = None
) -> str:
    """The report page of ``results`` (and the earlier runs of ``trend``) as one HTML string;
    ``charts``: a folder that keeps drawings between runs (see :func:`charts.chart`)."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    views = [_outcome_view(o, i, charts) for i, o in enumerate(results.outcomes)]
    for outcome, view in zip(results.outcomes, views, strict=True):
        view["cost"] = _usd(results.costs.tests.get(outcome.test, {}).get(outcome.model))
    settings = results.settings
    counts: dict[str, int] = {}
    for o in results.outcomes:
        counts[o.verdict.value] = counts.get(o.verdict.value, 0) + 1
    totals = f"{len(results.outcomes)} tests on {len(results.models())} models: " + ", ".join(
        f"{v} {k}" for k, v in counts.items()
    )
    seconds = (results.finished - results.started).total_seconds()
    run = {
        "run_id": results.run_id,
        "started": results.started.isoformat(timespec="seconds"),
        "finished": results.finished.isoformat(timespec="seconds"),
        "duration": f"{seconds:.1f} s",
        "harness_version": results.harness_version,
        "alpha": f"{settings.alpha:g}",
        "beta": f"{settings.beta:g}",
        "family_size": results.family_size,
        "gate_alpha": f"{settings.alpha / max(1, results.family_size):.3g}",
        "max_draws": settings.max_draws,
        "batch_size": settings.batch_size,
        "min_compliance": _pct(settings.min_compliance),
        "seed": settings.seed,
        "min_replies": MIN_REPLIES,
    }
    return env.get_template(TEMPLATE).render(
        run=run,
        totals=totals,
        models=_models_view(results),
        rows=_matrix(results, views),
        outcomes=views,
        baseline=_baseline_view(results.baseline),
        trend=_trend_view(results, trend or []),
    )


def write_html(
    results: RunResults,
    path: Path,
    trend: list[TrendRun] | None = None,
    charts: Path | None = None,
) -> Path:
    """Render ``results`` to ``path`` (written whole, then moved into place)."""
    return write_text(path, render(results, trend, charts))


FRAGMENT = """\
<div class="harness-outcome">
<p><b>{{ o.verdict }}</b>: {{ o.headline }}: {{ o.reason }}. <i>{{ o.rule }}</i></p>
<div>{{ o.chart }}</div>
<table>
<tr><th>arm</th><th>category</th><th>count</th><th>share</th><th>95% CI</th></tr>
{% for arm in o.arms %}{% for c in arm.rows %}
<tr><td>{{ arm.name }}</td><td>{{ c.name }}</td><td>{{ c.count }}</td><td>{{ c.share }}</td>
<td>{{ c.ci }}</td></tr>
{% endfor %}{% endfor %}
</table>
<table>
<tr><th>arm</th><th>category</th><th>examples</th></tr>
{% for arm in o.arms %}{% for cat, items in arm.examples %}
<tr><td>{{ arm.name }}</td><td>{{ cat }}</td><td>{% for e in items %}\
<pre style="margin:0 0 .3em 0;white-space:pre-wrap"><code>#{{ e.index }} [{{ e.variant }}] \
{{ e.text }}</code></pre>{% endfor %}</td></tr>
{% endfor %}{% endfor %}
</table>
<p>Draws: {{ o.draws }} per arm of {{ o.budget }}; alpha {{ o.gate_alpha }}, beta {{ o.beta }}.</p>
</div>
"""


def fragment(outcome: Outcome) -> str:
    """A small HTML block (chart, counts, examples) for one test, e.g. for pytest-html."""
    env = Environment(autoescape=True, undefined=StrictUndefined)
    return env.from_string(FRAGMENT).render(o=_outcome_view(outcome, 0))
