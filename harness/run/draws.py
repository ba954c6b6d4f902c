"""Per-arm draw helpers shared by per-variant and pooled evaluation.

Labelling draws with their category, keeping the valid and compliant ones,
noticing a budget stop, judging compliance, and summarizing an arm.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.define.classifiers import OFF_PROTOCOL, classify
from harness.define.pair import ArmName, ResolvedVariant
from harness.results.records import ArmResult, Draw
from harness.stats.intervals import jeffreys

EXAMPLES_PER_CATEGORY = 3
Progress = Callable[[str], None]


def labelled(draws: list[Draw], variant: ResolvedVariant, arm: ArmName) -> list[Draw]:
    predicates = variant.arm(arm).predicates()
    return [
        d
        if d.error is not None
        else d.model_copy(update={"category": classify(d.text, predicates)})
        for d in draws
    ]


def valid(draws: list[Draw]) -> list[Draw]:
    return [d for d in draws if d.error is None]


def compliant(draws: list[Draw]) -> list[Draw]:
    return [d for d in valid(draws) if d.category not in OFF_PROTOCOL]


def budget_stop(draws: dict[ArmName, list[Draw]]) -> str | None:
    """Why drawing stopped early: a budget reached, or most calls failing; else None."""
    for arm_draws in draws.values():
        for d in arm_draws:
            if d.stop is not None:
                return d.stop.reason
    errors = [d for arm_draws in draws.values() for d in arm_draws if d.error is not None]
    total = sum(len(a) for a in draws.values())
    if total >= 8 and len(errors) > total // 2:
        return f"{len(errors)} of {total} calls failed (last: {errors[-1].error})"
    return None


def summarize(arm: ArmName, variant: ResolvedVariant, draws: list[Draw]) -> ArmResult:
    """What one arm's draws showed: counts, shares, intervals, examples."""
    names = list(variant.arm(arm).category_names)
    rules = {c.name: c.rule for c in variant.arm(arm).categories}
    kept = valid(draws)
    counts = {name: 0 for name in [*names, *OFF_PROTOCOL]}
    examples: dict[str, list[str]] = {name: [] for name in counts}
    for d in kept:
        counts[d.category] = counts.get(d.category, 0) + 1
        bucket = examples.setdefault(d.category, [])
        if len(bucket) < EXAMPLES_PER_CATEGORY and d.text not in bucket:
            bucket.append(d.text)
    compliant = sum(counts[name] for name in names)
    return ArmResult(
        arm=arm,
        categories=names,
        classifiers=rules,
        n=len(kept),
        compliant=compliant,
        counts=counts,
        shares={name: (counts[name] / compliant if compliant else 0.0) for name in names},
        intervals={name: jeffreys(counts[name], compliant) for name in names},
        examples={k: v for k, v in examples.items() if v},
        draws=draws,
        messages=list(variant.arm(arm).messages),
        errors=len(draws) - len(kept),
    )
