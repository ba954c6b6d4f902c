"""Terminal text: the tests x models table, per-model totals, report paths, the plan table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.report.labels import headline_share, node_name, row_label
from harness.results.costs import cost_label
from harness.results.records import Outcome
from harness.results.run import RunResults
from harness.stats.planning import Plan

if TYPE_CHECKING:
    from harness.report.publish import RunPaths

SHORT = {
    "PASS": "pass",
    "FAIL": "FAIL",
    "INCONCLUSIVE": "undecided",
    "NONCOMPLIANT": "off-protocol",
}


def _cell(outcome: Outcome) -> str:
    share = headline_share(outcome)
    share = f" {share}" if share else ""
    return f"{SHORT[outcome.verdict.value]}{share} n={outcome.draws_per_arm}"


def _model_cost(results: RunResults, model: str) -> str:
    found = results.costs.models.get(model)
    return cost_label(found.cost if found is not None else 0.0)


def summary_lines(results: RunResults) -> list[str]:
    """Lines of the table, then one line per model."""
    models = results.models()
    rows: dict[str, dict[str, str]] = {}
    several = len({o.hypothesis for o in results.outcomes}) > 1
    for o in results.outcomes:
        cost = results.costs.test_cost(o.test, o.model)
        priced = f" {cost_label(cost)}" if cost else ""  # shown only where a test cost money
        # two hypotheses may use the same test name: then the hypothesis names the row
        name = f"{o.hypothesis}: {row_label(o)}" if several else row_label(o)
        rows.setdefault(name, {})[o.model] = _cell(o) + priced
    width0 = max([len("test [variant]"), *(len(r) for r in rows)])
    widths = [max(len(m), *(len(cells.get(m, "")) for cells in rows.values())) for m in models]
    header = (
        "test [variant]".ljust(width0)
        + "  "
        + "  ".join(m.ljust(w) for m, w in zip(models, widths, strict=True))
    )
    lines = [header, "-" * len(header)]
    for name, cells in rows.items():
        lines.append(
            name.ljust(width0)
            + "  "
            + "  ".join(cells.get(m, "-").ljust(w) for m, w in zip(models, widths, strict=True))
        )
    lines.append("")
    for s in results.summaries():
        counts = ", ".join(f"{k.lower()} {v}" for k, v in s.verdicts.items() if v)
        tag = " (simulated)" if s.simulated else ""
        lines.append(
            f"{s.model}{tag}: {s.tests} tests ({counts}); compliance {s.compliance:.0%} "
            f"over {s.draws} draws; calls {s.usage.calls}, cache hits {s.usage.cache_hits} / "
            f"misses {s.usage.cache_misses}, retries {s.usage.retries}, transport errors "
            f"{s.usage.transport_errors}, tokens {s.usage.input_tokens} in / "
            f"{s.usage.output_tokens} out, cost {_model_cost(results, s.model)}"
        )
    lines.append(
        f"family-wise alpha {results.settings.alpha:g} over {results.family_size} claims "
        f"(Bonferroni: {results.settings.alpha / max(1, results.family_size):.3g} each), "
        f"beta {results.settings.beta:g}, seed {results.settings.seed}"
    )
    return lines


def _shown(path: Path, cwd: Path) -> str:
    try:
        return str(path.relative_to(cwd))
    except ValueError:
        return str(path)


def report_lines(
    paths: RunPaths | None, error: str | None = None, cwd: Path | None = None
) -> list[str]:
    """Where the run's report went (or why it was not written), in two lines at most."""
    if error is not None:
        return [f"report not written: {error}"]
    if paths is None:
        return []
    here = cwd or Path.cwd()
    return [
        f"report: {_shown(paths.html, here)}  "
        f"(latest: {_shown(paths.latest / paths.html.name, here)})",
        f"results: {_shown(paths.results, here)}; inspect logs: inspect view --log-dir "
        f"{_shown(paths.logs, here)}",
    ]


def plan_table(rows: list[dict[str, Any]]) -> list[str]:
    """The ``--plan`` terminal table from the plan records the tests produced.

    Each row is a :class:`Plan` dumped to JSON plus ``test``, ``family_size``,
    ``run_alpha`` and ``warnings`` (they travel from xdist workers as report
    attributes).
    """
    rows = sorted(rows, key=lambda r: str(r["test"]))
    width = max(4, *(len(node_name(r["test"])) for r in rows))
    header = (
        f"{'test':<{width}}  claim alpha  E[n] ok  p95 ok  P(pass) ok  E[n] bad  p95 bad  "
        "power  budget needed"
    )
    lines = [header, "-" * len(header)]
    warnings: list[str] = []
    for r in rows:
        plan = Plan.model_validate({k: v for k, v in r.items() if k in Plan.model_fields})
        a, f = plan.allowed, plan.forbidden
        lines.append(
            f"{node_name(r['test']):<{width}}  {plan.alpha:<11.3g}  {a.mean_draws:>7.1f}  "
            f"{a.p95_draws:>6}  {a.p_pass:>10.3f}  {f.mean_draws:>8.1f}  {f.p95_draws:>7}  "
            f"{1 - f.p_pass:>5.3f}  {plan.needed_draws:>13}"
        )
        warnings += [f"WARNING {node_name(r['test'])}: {w}" for w in r.get("warnings", [])]
    first = rows[0]
    lines.append("")
    lines.append(
        "'ok' = the edge of the allowed region, 'bad' = the edge of the forbidden region; "
        f"draws per arm (per paraphrase for pooled rows), batches of {first['batch_size']}, "
        f"budget {first['max_draws']}, compliance 1, control share 0.5; "
        f"{first['runs']} simulated runs each"
    )
    lines.append(
        "power = chance the forbidden edge does not pass; 'budget needed' keeps INCONCLUSIVE "
        "at the allowed edge within a quarter of the claim's alpha"
    )
    lines.append(
        f"family-wise alpha {first['run_alpha']:g} over {first['family_size']} claims per model "
        f"(Bonferroni: {first['run_alpha'] / first['family_size']:.3g} each), "
        f"beta {first['beta']:g}"
    )
    return lines + warnings
