"""The HTML page: one self-contained report per run, rendered with jinja2.

The page has no script and no external reference (inline CSS, charts as
inline SVG, folds as ``<details>``), and its Content-Security-Policy forbids
both, so it opens from disk with no network. Every piece of model text goes
through jinja2's autoescaping; only the charts, drawn by matplotlib from
numbers and hypothesis-defined category names, are inserted as markup.
Secrets never reach the page: :func:`harness.report.publish.publish` masks
credential-like model arguments before anything is rendered, and no
environment is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from harness.define.classifiers import OFF_PROTOCOL
from harness.report.charts import share_chart
from harness.report.explain import HEADLINES
from harness.report.files import write_text
from harness.report.labels import headline_share, row_label
from harness.results.costs import ModelCost, cost_label
from harness.results.records import ArmResult, Outcome
from harness.results.run import RunResults

TEMPLATE = "report.html.j2"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _arm_view(arm: ArmResult) -> dict[str, Any]:
    rows = []
    for name in arm.categories:
        low, high = arm.intervals[name]
        rows.append(
            {
                "name": name,
                "count": arm.counts.get(name, 0),
                "share": _pct(arm.shares[name]),
                "ci": f"{_pct(low)} - {_pct(high)}",
            }
        )
    for name in OFF_PROTOCOL:
        if arm.counts.get(name):
            rows.append({"name": f"{name} (off-protocol)", "count": arm.counts[name]})
            rows[-1].update({"share": "", "ci": ""})
    return {
        "name": arm.arm,
        "n": arm.n,
        "compliant": arm.compliant,
        "compliance": _pct(arm.compliance),
        "errors": arm.errors,
        "rows": rows,
        "messages": arm.messages,
        "examples": list(arm.examples.items()),
        "draws": [
            {
                "index": d.index,
                "category": d.category or ("error" if d.error else ""),
                "text": d.text if d.error is None else f"[error] {d.error}",
            }
            for d in arm.draws
        ],
    }


def _outcome_view(outcome: Outcome, index: int) -> dict[str, Any]:
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
        "chart": Markup(share_chart(outcome, chart_id=f"chart{index}")),
        "arms": [_arm_view(a) for a in outcome.arms],
        "gates": [
            {
                "description": g.description,
                "estimate": "n/a" if g.estimate is None else f"{g.estimate:+.3f}",
                "regions": f"allowed {g.allowed:+g} / forbidden {g.forbidden:+g}",
                "fail": f"{g.fail_evidence:.2f} of {g.fail_threshold:.2f}",
                "pass": f"{g.pass_evidence:.2f} of {g.pass_threshold:.2f}",
                "observations": g.observations,
                "rates": f"{g.alpha:.3g} / {g.beta:.3g}",
                "decision": g.decision.word.upper(),
            }
            for g in outcome.gates
        ],
        "difference": difference,
        "draws": outcome.draws_per_arm,
        "budget": outcome.max_draws,
        "gate_alpha": f"{outcome.gate_alpha:.3g}",
        "alpha": f"{outcome.alpha:g}",
        "family_size": outcome.family_size,
        "beta": f"{outcome.beta:g}",
        "seed": outcome.seed,
    }


def _models_view(results: RunResults) -> list[dict[str, Any]]:
    settings = results.settings
    out = []
    for s in results.summaries():
        args = settings.model_args.get(s.model, {})
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
                "compliance": _pct(s.compliance),
                "calls": s.usage.calls,
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


def render(results: RunResults) -> str:
    """The report page of ``results`` as one HTML string."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    views = [_outcome_view(o, i) for i, o in enumerate(results.outcomes)]
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
    }
    return env.get_template(TEMPLATE).render(
        run=run,
        totals=totals,
        models=_models_view(results),
        rows=_matrix(results, views),
        outcomes=views,
    )


def write_html(results: RunResults, path: Path) -> Path:
    """Render ``results`` to ``path`` (written whole, then moved into place)."""
    return write_text(path, render(results))


FRAGMENT = """\
<div class="harness-outcome">
<p><b>{{ o.verdict }}</b>: {{ o.headline }}: {{ o.reason }}. <i>{{ o.rule }}</i></p>
<div>{{ o.chart }}</div>
<table>
<tr><th>arm</th><th>category</th><th>count</th><th>share</th><th>95% CI</th><th>examples</th></tr>
{% for arm in o.arms %}{% for c in arm.rows %}
<tr><td>{{ arm.name }}</td><td>{{ c.name }}</td><td>{{ c.count }}</td><td>{{ c.share }}</td>
<td>{{ c.ci }}</td><td>{% for cat, texts in arm.examples if cat == c.name.split(' ')[0] %}\
{% for t in texts %}<code>{{ t }}</code> {% endfor %}{% endfor %}</td></tr>
{% endfor %}{% endfor %}
</table>
<p>Draws: {{ o.draws }} per arm of {{ o.budget }}; alpha {{ o.gate_alpha }}, beta {{ o.beta }}.</p>
</div>
"""


def fragment(outcome: Outcome) -> str:
    """A small HTML block (chart, counts, examples) for one test, e.g. for pytest-html."""
    env = Environment(autoescape=True, undefined=StrictUndefined)
    return env.from_string(FRAGMENT).render(o=_outcome_view(outcome, 0))
