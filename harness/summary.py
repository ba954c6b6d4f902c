"""The terminal summary: a compact tests x models table and per-model totals."""

from __future__ import annotations

from harness.records import Outcome
from harness.results import RunResults

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


def _row_name(outcome: Outcome) -> str:
    test = outcome.test.split("::")[-1].split("[")[0] if outcome.test else outcome.hypothesis
    return f"{test}[{outcome.variant}]"


def summary_lines(results: RunResults) -> list[str]:
    """Lines of the table, then one line per model."""
    models = results.models()
    rows: dict[str, dict[str, str]] = {}
    for o in results.outcomes:
        rows.setdefault(_row_name(o), {})[o.model] = _cell(o)
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
            f"over {s.draws} draws; calls {s.usage.calls}, cache hits {s.usage.cache_hits}, "
            f"tokens {s.usage.input_tokens} in / {s.usage.output_tokens} out"
        )
    lines.append(
        f"family-wise alpha {results.settings.alpha:g} over {results.family_size} claims "
        f"(Bonferroni: {results.settings.alpha / max(1, results.family_size):.3g} each), "
        f"beta {results.settings.beta:g}, seed {results.settings.seed}"
    )
    return lines
