"""The outcome of a claim decided in exact mode: verdict, reason, gates, arms and note.

Values are stated exactly where the exact part fixes them ("= +0.4312"), as a
range where the arms not sampled leave them open, and with the non-fixed
draws' shares plugged in where those were sampled.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from harness.define.claims import Claim
from harness.define.pair import ArmName, PromptPair, ResolvedVariant
from harness.models import is_simulated
from harness.results.logprobs import ExactNote, FirstToken
from harness.results.records import Draw, GateResult, Outcome, Verdict
from harness.run.draws import budget_stop, summarize
from harness.run.settings import RunSettings
from harness.stats.decision import Decision
from harness.stats.exact import ExactDesign, gate_range
from harness.stats.exact_walk import ExactWalk, GateOutcome, Sample
from harness.stats.gates import OFF, Gate
from harness.stats.walk import NONCOMPLIANT

#: Fewest on-protocol non-fixed draws an estimated share is given from (the report's rule).
MIN_ON_PROTOCOL = 10


def exact_outcome(
    pair: PromptPair,
    variant: ResolvedVariant,
    claim: Claim,
    model: str,
    settings: RunSettings,
    design: ExactDesign,
    walked: ExactWalk,
    draws: dict[ArmName, list[Draw]],
    samples: dict[str, Sample],
    tables: dict[ArmName, FirstToken],
    *,
    passes: int,
    claim_alpha: float,
    family_size: int,
    test: str,
) -> Outcome:
    n = max((len(v) for v in draws.values()), default=0)
    estimates = _estimates(design, samples, variant, claim)
    exact = walked.code != Decision.UNDECIDED and walked.at_draw == 0
    verdict, reason = _verdict(walked, design, samples, draws, n, settings, exact)
    kept = sum(len(s.codes) for s in samples.values())
    mode: Literal["exact", "mixed"]
    if exact:
        mode, note = "exact", "exact, no sampling error: decided from log-probabilities alone"
    else:
        mode = "mixed"
        total = sum(len(v) for v in draws.values())
        note = (
            f"fixed-string replies exact, the other replies sampled: {kept} of {total} draws "
            "were not fixed strings"
        )
    arms = []
    for arm in claim.arms:
        result = summarize(arm, variant, draws[arm])
        arms.append(result.model_copy(update={"first_token": tables[arm]}))
    return Outcome(
        hypothesis=pair.id,
        variant=variant.id,
        model=model,
        simulated=is_simulated(model),
        test=test,
        claim=claim,
        rule=claim.title(),
        verdict=verdict,
        reason=reason,
        arms=arms,
        gates=[_gate_result(o, design, samples) for o in walked.gates],
        draws_per_arm=n,
        decided_at=walked.at_draw if walked.at_draw is not None else n,
        **settings.outcome_fields(claim_alpha, family_size),
        exact=ExactNote(
            mode=mode,
            note=note,
            forward_passes=passes,
            draws=sum(len(v) for v in draws.values()),
            kept=kept,
            estimates=estimates,
        ),
    )


def _verdict(
    walked: ExactWalk,
    design: ExactDesign,
    samples: dict[str, Sample],
    draws: dict[ArmName, list[Draw]],
    n: int,
    settings: RunSettings,
    exact: bool,
) -> tuple[Verdict, str]:
    lead = "exact, no sampling error: " if exact else ""
    if walked.code == Decision.FAIL:
        failed = [o for o in walked.gates if o.code == Decision.FAIL]
        values = "; ".join(f"{o.gate.label} {_value(o.gate, design, samples)}" for o in failed)
        return Verdict.FAIL, f"{lead}shown in the forbidden region: {values}"
    if walked.code == Decision.PASS:
        values = "; ".join(
            f"{o.gate.label} {_value(o.gate, design, samples)}" for o in walked.gates
        )
        return Verdict.PASS, f"{lead}the forbidden region was ruled out for every gate ({values})"
    if walked.code == NONCOMPLIANT:
        return Verdict.NONCOMPLIANT, (
            f"{lead}on-protocol share shown below the required {settings.min_compliance:.0%} in "
            f"{' and '.join(walked.noncompliant)}: the model does not follow the protocol"
        )
    stalled = budget_stop(draws)
    if stalled is not None:
        return Verdict.INCONCLUSIVE, f"stopped early: {stalled}"
    if not any(design.arms[a].sampled for a in design.arms):
        return Verdict.INCONCLUSIVE, "the exact part leaves the claim open and nothing is sampled"
    return Verdict.INCONCLUSIVE, (
        f"budget of {settings.max_draws} draws per arm reached before a decision"
    )


def _distributions(
    design: ExactDesign, samples: dict[str, Sample]
) -> dict[str, np.ndarray[Any, Any] | None]:
    """Each arm's non-fixed label shares as sampled (None: not sampled)."""
    out: dict[str, np.ndarray[Any, Any] | None] = {}
    for arm, split in design.arms.items():
        got = samples.get(arm)
        if split.remainder <= 0.0:
            out[arm] = np.full(split.labels, 1.0 / split.labels)
        elif got is None or len(got.codes) == 0:
            out[arm] = None
        else:
            cols = split.column(got.codes[got.codes >= OFF])
            out[arm] = np.bincount(cols, minlength=split.labels) / max(1, len(cols))
    return out


def _value(gate: Gate, design: ExactDesign, samples: dict[str, Sample]) -> str:
    low, high = gate_range(gate, design.arms, _distributions(design, samples))
    if high - low < 5e-4:
        return f"= {(low + high) / 2:+.4f}"
    return f"between {low:+.4f} and {high:+.4f}"


def _estimates(
    design: ExactDesign, samples: dict[str, Sample], variant: ResolvedVariant, claim: Claim
) -> dict[str, float]:
    """'arm.category' -> share among on-protocol replies, where the draws so far fix it: the
    exact part holds most of the on-protocol mass, or :data:`MIN_ON_PROTOCOL` non-fixed draws
    were on protocol (as the report gives no share from fewer replies)."""
    out: dict[str, float] = {}
    q = _distributions(design, samples)
    for arm in claim.arms:
        split = design.arms[arm]
        dist = q.get(arm)
        if dist is None and split.remainder > 1e-6:
            continue
        share = np.asarray(split.fixed) + split.remainder * (dist if dist is not None else 0.0)
        on = float(share[:-1].sum())
        got = samples.get(arm)
        sampled_on = 0 if got is None else int((got.codes >= 0).sum())
        if split.on < on / 2 and sampled_on < MIN_ON_PROTOCOL:
            continue
        for i, name in enumerate(variant.arm(arm).category_names):
            if on > 0:
                out[f"{arm}.{name}"] = float(share[i]) / on
    return out


def _gate_result(o: GateOutcome, design: ExactDesign, samples: dict[str, Sample]) -> GateResult:
    low, high = gate_range(o.gate, design.arms, _distributions(design, samples))
    label = o.gate.label + (" (exact)" if o.exact else "")
    f, p = o.fail_run, o.pass_run
    return GateResult(
        description=label,
        kind=o.gate.kind,
        decision=o.code,
        allowed=o.gate.allowed,
        forbidden=o.gate.forbidden,
        estimate=(low + high) / 2 if high - low < 0.05 else None,
        observations=max(f.used, p.used),
        at_draw=o.at_draw,
        fail_evidence=f.log_wealth,
        fail_threshold=o.fail.threshold,
        pass_evidence=p.log_wealth,
        pass_threshold=o.pass_.threshold,
        alpha=o.fail.level,
        beta=o.pass_.level,
    )
