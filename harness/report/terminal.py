"""Terminal text: the tests x models table, per-model totals, report paths, the plan table."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.report import first_token
from harness.report.labels import headline_share, model_of, node_name, row_label, variant_of
from harness.report.progress import duration
from harness.results.costs import PriceTable, cost_label
from harness.results.records import Outcome, Usage
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
    return lines + first_token.terminal_lines(results)


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


@dataclass
class PlanContext:
    """What the ``--plan`` totals need besides the plans: models, prices, rates (see build)."""

    models: tuple[str, ...] = ()
    prices: PriceTable | None = None
    rates: dict[str, Rate] = field(default_factory=dict)
    max_tokens: int = 16  # output tokens per call assumed when no run measured them

    @classmethod
    def build(
        cls,
        models: tuple[str, ...],
        prices: PriceTable,
        report_dir: Path | None = None,
        max_tokens: int = 16,
    ) -> PlanContext:
        rates = measured_rates(models, report_dir) if report_dir else {}
        return cls(models, prices, rates, max_tokens)


def plan_table(rows: list[dict[str, Any]], context: PlanContext | None = None) -> list[str]:
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
    if context is not None and context.models:
        lines += ["", *plan_totals(rows, context)]
    return lines + warnings


@dataclass(frozen=True)
class Rate:
    """Model calls per second and tokens per call, with where the numbers come from."""

    calls_per_second: float | None  # None: instant (simulated)
    input_tokens: float
    output_tokens: float
    source: str


#: Stated rates (calls per second) for a model never run here before: simulated models are
#: instant, the embedded model draws about 2 per second on 2 cores, an API about 10 at the
#: default 32 connections and a few seconds per reply.
STATED_RATES = {"sim/": None, "local/": 2.0}
STATED_API_RATE = 10.0
STATED_INPUT_TOKENS = 60  # a protocol prompt of a few sentences
MIN_MEASURED_CALLS = 8
RUNS_SEARCHED = 20


def stated_rate(model: str, max_tokens: int = 16) -> Rate:
    """The rate assumed for ``model`` when no earlier run measured it."""
    for prefix, rate in STATED_RATES.items():
        if model.startswith(prefix):
            what = "simulated: instant" if rate is None else f"stated {rate:g} calls/s"
            return Rate(rate, STATED_INPUT_TOKENS, max_tokens, what)
    return Rate(
        STATED_API_RATE, STATED_INPUT_TOKENS, max_tokens, f"stated {STATED_API_RATE:g} calls/s"
    )


def measured_rates(models: tuple[str, ...], report_dir: Path) -> dict[str, Rate]:
    """Each model's rate in the newest earlier run under ``report_dir`` that called it.

    The rate is the model's calls over the time its tests took (``seconds`` in
    results.json), tokens per call its tokens over its calls; runs that made
    fewer than a handful of calls are passed over.
    """
    import json

    found: dict[str, Rate] = {}
    if not report_dir.is_dir():
        return found
    runs = sorted(
        (p for p in report_dir.iterdir() if p.is_dir() and not p.is_symlink()),
        key=lambda p: p.name,
        reverse=True,
    )
    for run in runs[:RUNS_SEARCHED]:
        try:
            data = json.loads((run / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        usage, seconds = data.get("usage") or {}, data.get("seconds") or {}
        for model in models:
            used, spent = usage.get(model) or {}, seconds.get(model)
            calls = int(used.get("calls", 0))
            if model in found or calls < MIN_MEASURED_CALLS or not spent:
                continue
            found[model] = Rate(
                calls / float(spent),
                used.get("input_tokens", 0) / calls,
                used.get("output_tokens", 0) / calls,
                f"measured {calls / float(spent):.3g} calls/s in {report_dir.name}/{run.name}",
            )
        if len(found) == len(models):
            break
    return found


_ARM = re.compile(r"\b(control|treatment) '[^']*' share")


def _arms(row: dict[str, Any]) -> list[str]:
    """The arms a planned claim draws (from the record, else from its rule's shares)."""
    if row.get("arms"):
        return [str(a) for a in row["arms"]]
    found = list(dict.fromkeys(_ARM.findall(str(row.get("rule", "")))))
    return found or ["treatment"]


def plan_totals(rows: list[dict[str, Any]], context: PlanContext) -> list[str]:
    """Calls, time and cost per model and in all, expected at the allowed edge (p95 beside).

    Tests that share an arm share its draws, so each (file, variant, model, arm)
    counts once, at the most draws any test plans for it.
    """
    expected: dict[tuple[str, str, str, str], tuple[float, float]] = {}
    for r in rows:
        test = str(r["test"])
        model = model_of(test, context.models)
        if model is None:
            continue
        variants = int(r.get("variants", 1))
        mean = float(r["allowed"]["mean_draws"]) * variants
        p95 = float(r["allowed"]["p95_draws"]) * variants
        where = (test.split("::")[0], variant_of(test, model), model)
        for arm in _arms(r):
            key = (*where, arm)
            old = expected.get(key, (0.0, 0.0))
            expected[key] = (max(old[0], mean), max(old[1], p95))
    lines = [
        "totals, expected at the allowed edge (p95 in brackets); tests sharing an arm share "
        "its draws:"
    ]
    total_calls = total_p95 = 0.0
    total_seconds: float | None = 0.0
    total_cost: float | None = 0.0
    for model in context.models:
        mine = [v for k, v in expected.items() if k[2] == model]
        if not mine:
            continue
        calls, p95 = sum(m for m, _ in mine), sum(p for _, p in mine)
        rate = context.rates.get(model) or stated_rate(model, context.max_tokens)
        total_calls, total_p95 = total_calls + calls, total_p95 + p95
        if rate.calls_per_second is None:
            time_text = "no time (simulated)"
            seconds: float | None = 0.0
        else:
            seconds = calls / rate.calls_per_second
            time_text = f"about {duration(seconds)} at {rate.source}"
        total_seconds = (
            None if total_seconds is None or seconds is None else total_seconds + seconds
        )
        cost: float | None = None
        if context.prices is not None:
            usage = Usage(
                input_tokens=round(calls * rate.input_tokens),
                output_tokens=round(calls * rate.output_tokens),
            )
            cost = context.prices.cost(model, usage)
        total_cost = None if cost is None or total_cost is None else total_cost + cost
        tokens = f"{rate.input_tokens:.0f} in / {rate.output_tokens:.0f} out tokens per call"
        cost_text = "unpriced" if cost is None else f"{cost_label(cost)} at {tokens}"
        lines.append(f"  {model}: about {calls:,.0f} calls ({p95:,.0f}); {time_text}; {cost_text}")
    if len(lines) > 2:
        when = "unknown" if total_seconds is None else f"about {duration(total_seconds)}"
        lines.append(
            f"  all models: about {total_calls:,.0f} calls ({total_p95:,.0f}); {when} one model "
            f"after another; cost {cost_label(total_cost)}"
        )
    return lines
