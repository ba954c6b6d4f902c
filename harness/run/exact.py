"""Exact mode and first-token tables: shares from log-probabilities where a model exposes them.

:func:`evaluate_claim` is what the plugin calls for every claim. It decides
the claim as :func:`harness.run.evaluate.evaluate` does (sampling), unless
exact mode is on for the hypothesis (``--exact``, ``exact = true`` in
``[tool.harness]``, or ``generation={"exact": True}`` on the pair or a
variant) and the model supports it; then:

1. **Fixed strings.** Each arm's fixed-string replies are the protocol's
   literal answers of both arms' categories (``one`` -> "1", ``zero_word`` ->
   "zero", ``digit_zero`` -> "0", ``one_word`` -> "one", a ``pattern`` that is
   a plain word), in a few surface forms ("Zero", "ZERO", "zero.", "zero!",
   '"zero"', "**zero**"), and the empty reply. Each is labelled by the arm's
   own classifiers, so a category's fixed strings are exactly the ones it
   accepts.
2. **Exact part.** Their probabilities as whole replies come from the local
   model's logits (:func:`harness.models.logprobs.local_scores`), with the
   draws' temperature, top-p/top-k, stop sequences and ``max_tokens``.
3. **Sampled part.** Everything else (mass R) is sampled by rejection: draws
   are made as in sampling mode (same seeds, same cache) and those whose text
   is a fixed string are set aside. The claim's gates become tests on these
   draws (:mod:`harness.stats.exact`), at sampling mode's levels. A claim
   whose tests the exact part already decides takes no draw at all ("exact,
   no sampling error").

Where exact mode cannot be used (an API model, a simulated one, a pooled
claim, a chat format the local provider does not template itself) the claim
is sampled and :class:`~harness.results.logprobs.ExactNote` says why.

The **first-token table** (:class:`~harness.results.logprobs.FirstToken`) is
attached to every per-variant outcome of a local model (one forward pass per
prompt, computed once per process), and, in exact mode, of an API model that
returns ``top_logprobs`` (one call per prompt, with the mass it did not
return reported as ``uncovered``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from harness.define.claims import Claim
from harness.define.fixed_strings import fixed_texts
from harness.define.pair import Arm, ArmName, PromptPair, ResolvedVariant
from harness.results.logprobs import ExactNote, FirstToken
from harness.results.records import ArmResult, Draw, Outcome
from harness.run.draws import Progress, budget_stop, labelled
from harness.run.evaluate import claim_design, evaluate
from harness.run.exact_outcome import exact_outcome
from harness.run.logprobs import ApiSource, LocalSource, request_messages, source_for
from harness.run.settings import GenerationSettings, RunSettings
from harness.stats.decision import Decision
from harness.stats.design import Design
from harness.stats.exact import ArmSplit, ExactDesign, exact_design
from harness.stats.exact_walk import ExactWalk, Sample, walk
from harness.stats.gates import OFF
from harness.stats.walk import NONCOMPLIANT

if TYPE_CHECKING:
    from harness.run.sampling import Sampler

#: An arm of a two-arm gate whose non-fixed mass is at most this share of the gate's margin
#: is not sampled when the other arm is: its unknown part enters at its worst case, which
#: moves the gate's edges by about that mass (sampling it would cost 1/R draws per reply).
WORST_CASE_SHARE = 0.5


def evaluate_claim(
    pair: PromptPair,
    variant_ids: Sequence[str] | str,
    claim: Claim,
    model: str,
    sampler: Sampler,
    settings: RunSettings,
    *,
    claim_alpha: float,
    family_size: int = 1,
    test: str = "",
    progress: Progress | None = None,
) -> Outcome:
    """Decide ``claim`` on ``model``: in exact mode where it is on and supported, else by
    sampling; per-variant outcomes carry each arm's first-token table where one is available."""
    pooled = not isinstance(variant_ids, str)
    first_id = next(iter([variant_ids] if isinstance(variant_ids, str) else variant_ids))
    variant = pair.variant(first_id)
    gen = sampler.settings.for_hypothesis(variant.generation.overrides())
    source, why = source_for(sampler, model)
    if gen.exact and isinstance(source, LocalSource) and not pooled:
        messages = [request_messages(variant, arm, gen) for arm in claim.arms]
        why = next((w for m in messages if (w := source.supports(m))), "")
        if not why:
            return _exact(
                pair,
                variant,
                claim,
                model,
                sampler,
                settings,
                gen,
                source,
                claim_alpha=claim_alpha,
                family_size=family_size,
                test=test,
                progress=progress,
            )
    elif gen.exact and pooled:
        why = "a pooled claim is about the average over paraphrases; it is sampled"
    elif gen.exact and isinstance(source, ApiSource):
        why = "an API returns the first token's alternatives only, not whole replies"
    outcome = evaluate(
        pair,
        variant_ids,
        claim,
        model,
        sampler,
        settings,
        claim_alpha=claim_alpha,
        family_size=family_size,
        test=test,
        progress=progress,
    )
    arms = outcome.arms
    missing: list[str] = []
    if not pooled and source is not None and (isinstance(source, LocalSource) or gen.exact):
        tabled = [_with_table(a, variant, gen, source) for a in arms]
        arms = [a for a, _ in tabled]
        missing = list(dict.fromkeys(w for _, w in tabled if w))
    note = None
    if gen.exact:
        text = f"exact mode fell back to sampling: {why}"
        if missing:
            text += f"; no first-token table: {'; '.join(missing)}"
        note = ExactNote(mode="sampling", note=text)
    return outcome.model_copy(update={"arms": arms, "exact": note})


def _with_table(
    arm: ArmResult,
    variant: ResolvedVariant,
    gen: GenerationSettings,
    source: LocalSource | ApiSource,
) -> tuple[ArmResult, str]:
    """The arm with its first-token table, or unchanged and why there is none."""
    messages = request_messages(variant, arm.arm, gen)
    try:
        if isinstance(source, LocalSource):  # a kept table needs no model loaded
            kept = source.kept(messages, gen, variant.arm(arm.arm))
            why = None if kept is not None else source.supports(messages)
            table: FirstToken | str = (
                kept or why or source.first_token(messages, gen, variant.arm(arm.arm))
            )
        else:
            table = source.first_token(messages, gen, variant.arm(arm.arm))
    except Exception as exc:  # a table is extra information: never fail a test for it
        table = f"{type(exc).__name__}: {exc}"
    if isinstance(table, str):
        return arm, table
    return arm.model_copy(update={"first_token": table}), ""


def _exact(
    pair: PromptPair,
    variant: ResolvedVariant,
    claim: Claim,
    model: str,
    sampler: Sampler,
    settings: RunSettings,
    gen: GenerationSettings,
    source: LocalSource,
    *,
    claim_alpha: float,
    family_size: int,
    test: str,
    progress: Progress | None,
) -> Outcome:
    """Exact mode on one variant of a local model (see the module docstring)."""
    texts = fixed_texts(variant)
    tables: dict[ArmName, FirstToken] = {}
    splits: dict[str, ArmSplit] = {}
    for arm in claim.arms:
        messages = request_messages(variant, arm, gen)
        table = source.first_token(messages, gen, variant.arm(arm), texts)
        tables[arm] = table
        splits[arm] = _split(table, variant.arm(arm))
    passes = sum(t.forward_passes for t in tables.values())
    d = claim_design(claim, variant, settings, claim_alpha)
    fixed_only = {a: _with(s, sampled=False) for a, s in splits.items()}
    design = exact_design(d.gates, d.tests, d.compliance, fixed_only)
    walked = walk(design, {}, NONCOMPLIANT)
    draws: dict[ArmName, list[Draw]] = {arm: [] for arm in claim.arms}
    samples: dict[str, Sample] = {}
    if walked.code == Decision.UNDECIDED:
        design = exact_design(d.gates, d.tests, d.compliance, _choose(d, splits, walked))
        walked, draws, samples = _sample_rest(
            design, variant, claim, model, sampler, settings, gen, set(texts), progress
        )
    return exact_outcome(
        pair,
        variant,
        claim,
        model,
        settings,
        design,
        walked,
        draws,
        samples,
        tables,
        passes=passes,
        claim_alpha=claim_alpha,
        family_size=family_size,
        test=test,
    )


def _with(split: ArmSplit, *, sampled: bool) -> ArmSplit:
    return ArmSplit(split.fixed, split.remainder, split.slack, sampled)


def _split(table: FirstToken, arm: Arm) -> ArmSplit:
    """The arm's exact masses per label (categories, then off-protocol) from its table."""
    names = arm.category_names
    fixed = [0.0] * (len(names) + 1)
    for reply in table.replies:
        index = names.index(reply.category) if reply.category in names else len(names)
        fixed[index] += reply.p
    total = sum(fixed)
    return ArmSplit(tuple(fixed), max(0.0, 1.0 - total), float(table.stray or 0.0))


def _choose(d: Design, splits: dict[str, ArmSplit], walked: ExactWalk) -> dict[str, ArmSplit]:
    """Which arms' non-fixed replies to sample, given the gates the exact part left open.

    An arm of an undecided gate is sampled unless its non-fixed mass is at most
    :data:`WORST_CASE_SHARE` of the gate's margin and the gate's other arm is
    sampled instead (its unknown part then enters at its worst case). While NONCOMPLIANT is still
    possible (no arm certainly compliant), arms not yet shown off-protocol are
    sampled too.
    """
    wanted: set[str] = set()
    for o in walked.gates:
        if o.code != Decision.UNDECIDED:
            continue
        g = o.gate
        arms = [g.arm] if g.control_arm in (None, g.arm) else [g.arm, g.control_arm]
        live = [a for a in arms if splits[a].remainder > 0.0]
        small = WORST_CASE_SHARE * abs(g.allowed - g.forbidden)
        wanted.update([a for a in live if splits[a].remainder > small] or live)
    checks = exact_design(d.gates, d.tests, d.compliance, splits).compliance
    if checks and not any(t.exact == "never" for t in checks.values()):
        wanted.update(a for a, t in checks.items() if t.exact is None)
    return {a: _with(s, sampled=a in wanted) for a, s in splits.items()}


def _sample_rest(
    design: ExactDesign,
    variant: ResolvedVariant,
    claim: Claim,
    model: str,
    sampler: Sampler,
    settings: RunSettings,
    gen: GenerationSettings,
    fixed: set[str],
    progress: Progress | None,
) -> tuple[ExactWalk, dict[ArmName, list[Draw]], dict[str, Sample]]:
    """Draw until the claim is decided: each round, enough draws of every sampled arm for
    ``--batch-size`` more non-fixed replies (expected), at most ``--max-draws`` per arm."""
    arms = [a for a in claim.arms if design.arms[a].sampled and design.arms[a].remainder > 0.0]
    draws: dict[ArmName, list[Draw]] = {arm: [] for arm in claim.arms}
    samples: dict[str, Sample] = {}
    wanted = 0
    while True:
        wanted += settings.batch_size
        for arm in arms:
            rate = max(design.arms[arm].remainder, 1e-9)
            count = min(settings.max_draws, max(len(draws[arm]), math.ceil(wanted / rate)))
            messages = variant.arm(arm).messages
            got = sampler.draws_many(model, [messages], count, generation=gen)[0]
            draws[arm] = labelled(got, variant, arm)
            kept = [
                (i + 1, d)
                for i, d in enumerate(draws[arm])
                if d.error is None and d.text not in fixed
            ]
            samples[arm] = Sample(
                codes=np.asarray([_code(d, variant.arm(arm)) for _, d in kept], dtype=np.int_),
                at=np.asarray([i for i, _ in kept], dtype=np.int_),
            )
        if progress is not None:
            progress(f"{max((len(v) for v in draws.values()), default=0)} draws per arm")
        walked = walk(design, samples, NONCOMPLIANT)
        done = walked.code != Decision.UNDECIDED
        full = all(len(draws[a]) >= settings.max_draws for a in arms)
        if done or full or not arms or budget_stop(draws) is not None:
            return walked, draws, samples


def _code(draw: Draw, arm: Arm) -> int:
    names = arm.category_names
    return names.index(draw.category) if draw.category in names else OFF
