"""The terminal summary: a compact tests x models table, per-model totals, report paths."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.costs import money
from harness.records import Outcome
from harness.results import RunResults

if TYPE_CHECKING:
    from harness.report import RunPaths

SHORT = {
    "PASS": "pass",
    "FAIL": "FAIL",
    "INCONCLUSIVE": "undecided",
    "NONCOMPLIANT": "off-protocol",
}


def _cell(outcome: Outcome) -> str:
    share = ""
    if outcome.claim.shares():
        target = outcome.claim.shares()[0]
        for arm in outcome.arms:
            if arm.arm == target.arm and arm.compliant:
                share = f" {target.category}={arm.shares[target.category]:.2f}"
    return f"{SHORT[outcome.verdict.value]}{share} n={outcome.draws_per_arm}"


def _model_cost(results: RunResults, model: str) -> str:
    found = results.costs.models.get(model)
    return money(found.cost if found is not None else 0.0)


def _row_name(outcome: Outcome) -> str:
    test = outcome.test.split("::")[-1].split("[")[0] if outcome.test else outcome.hypothesis
    return f"{test}[{outcome.variant}]"


def summary_lines(results: RunResults) -> list[str]:
    """Lines of the table, then one line per model."""
    models = results.models()
    rows: dict[str, dict[str, str]] = {}
    several = len({o.hypothesis for o in results.outcomes}) > 1
    for o in results.outcomes:
        cost = results.costs.test_cost(o.test, o.model)
        priced = f" {money(cost)}" if cost else ""  # shown only where a test cost money
        # two hypotheses may use the same test name: then the hypothesis names the row
        name = f"{o.hypothesis}: {_row_name(o)}" if several else _row_name(o)
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
            f"misses {s.usage.cache_misses}, tokens {s.usage.input_tokens} in / "
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
