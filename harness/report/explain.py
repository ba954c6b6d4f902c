"""Explanations: an :class:`Outcome` in words a person reads in five seconds (failure text)."""

from __future__ import annotations

from harness.define.classifiers import OFF_PROTOCOL
from harness.results.records import ArmResult, GateResult, Outcome, Verdict
from harness.stats.decision import Decision

HEADLINES = {
    Verdict.FAIL: "showed the forbidden behavior",
    Verdict.PASS: "ruled out the forbidden behavior",
    Verdict.INCONCLUSIVE: "could not be decided",
    Verdict.NONCOMPLIANT: "does not follow the protocol",
}


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def arm_line(arm: ArmResult) -> str:
    """``n=24, compliant 24 (100%): plain 12 (50%, CI 29-71%), ...``."""
    parts = []
    for name in arm.categories:
        low, high = arm.intervals[name]
        parts.append(
            f"{name} {arm.counts[name]} ({pct(arm.shares[name])}, CI {pct(low)}-{pct(high)})"
        )
    other = sum(arm.counts.get(name, 0) for name in OFF_PROTOCOL)
    tail = f"; off-protocol {other}" if other else ""
    errors = f"; errors {arm.errors}" if arm.errors else ""
    return (
        f"n={arm.n}, compliant {arm.compliant} ({pct(arm.compliance)}): "
        + ", ".join(parts)
        + tail
        + errors
    )


def examples_line(arm: ArmResult, limit: int = 3) -> str:
    seen: list[str] = []
    for texts in arm.examples.values():
        for text in texts:
            if len(seen) < limit:
                seen.append(_clip(text))
    return ", ".join(seen) if seen else "(none)"


def _clip(text: str, width: int = 60) -> str:
    one_line = " ".join(text.split())
    if len(one_line) > width:
        one_line = one_line[: width - 1] + "…"
    return repr(one_line)


def gate_line(g: GateResult) -> str:
    """One gate's state in words: its estimate, regions, evidence and decision."""
    state = g.decision.word.upper() if g.decision is not Decision.UNDECIDED else "undecided"
    seen = "no observations yet" if g.estimate is None else f"mean {g.estimate:+.3f}"
    unit = "pairs" if g.kind in ("difference", "off_protocol") else "draws"
    return (
        f"{g.description}: {seen} over {g.observations} {unit}; allowed {g.allowed:+g}, "
        f"forbidden {g.forbidden:+g}; evidence against allowed {g.fail_evidence:.2f} "
        f"(FAIL at {g.fail_threshold:.2f}), against forbidden {g.pass_evidence:.2f} "
        f"(PASS at {g.pass_threshold:.2f}) -> {state}"
    )


def decided_by(outcome: Outcome) -> str:
    return "\n              ".join(gate_line(g) for g in outcome.gates)


def explain(outcome: Outcome) -> str:
    """A short multi-line message: what was expected, what was seen, where."""
    simulated = " (simulated)" if outcome.simulated else ""
    lines = [
        f"{outcome.model}{simulated} {HEADLINES[outcome.verdict]}: {outcome.verdict.value}",
        f"  hypothesis  {outcome.hypothesis} / variant {outcome.variant}",
        f"  claim       {outcome.rule}",
        f"  verdict     {outcome.reason}",
        f"  decided by  {decided_by(outcome)}",
        f"  error rates alpha {outcome.gate_alpha:.3g} for this claim (run alpha "
        f"{outcome.alpha:g} over {outcome.family_size} claims), beta {outcome.beta:g}",
    ]
    for arm in outcome.arms:
        lines.append(f"  {arm.arm:<11} {arm_line(arm)}")
    if outcome.difference is not None:
        low, high = outcome.difference
        lines.append(
            f"  difference  treatment - control share: 95% Newcombe CI {low:+.2f} to {high:+.2f}"
        )
    lines.append(
        f"  draws       {outcome.draws_per_arm} per arm of {outcome.max_draws} allowed, "
        f"seed {outcome.seed}"
    )
    for arm in outcome.arms:
        lines.append(f"  e.g. {arm.arm:<6} {examples_line(arm)}")
    return "\n".join(lines)


def short(outcome: Outcome) -> str:
    """One line for skip reasons and summaries."""
    shares = "; ".join(
        f"{arm.arm} compliance {pct(arm.compliance)} ({arm.compliant}/{arm.n})"
        for arm in outcome.arms
    )
    return f"{outcome.verdict.value}: {outcome.reason} [{shares}]"
