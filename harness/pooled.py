"""Pooled claims over paraphrases: a paraphrase-level, group-sequential t-test.

Draws of one paraphrase are more alike than draws of different paraphrases, so
pooling all draws into one binomial test understates the error (DESIGN.md: 5
paraphrases x 40 draws with modest spread fail falsely 13.6% of the time at a
5% level). The pooled claim here is about the *average over paraphrases* of a
share (one-arm claims) or of the treatment - control difference (paired
claims), and its unit of analysis is the paraphrase: each paraphrase gives one
estimate, and the test is a one-sample t-test on those J estimates (J - 1
degrees of freedom), whose standard error includes the between-paraphrase
spread. The standard error is floored at the pure binomial one, so identical
estimates cannot fake certainty.

Sampling is sequential in a few planned looks (draws per paraphrase and arm
doubling from 16 up to ``max_draws``); the K looks split alpha and beta by
Bonferroni, so the claim's error rates hold whatever look it stops at. At
each look, for each of the claim's gates (``ok`` allowed, ``bad`` forbidden):

* FAIL when the mean is shown beyond ``ok`` towards ``bad`` (one-sided t at
  alpha / K): false failure at most alpha when the mean is ``ok`` or better;
* PASS when the mean is shown short of ``bad`` (one-sided t at beta / K):
  passing a mean of ``bad`` or worse at most beta.

Paired gates work on differences at the reference control share 0.5, where the
discordant-pair theta equals the treatment share: difference = theta - 0.5.
The between-paraphrase spread is reported as DerSimonian-Laird tau
(``statsmodels.stats.meta_analysis.combine_effects``) with the range of the
per-paraphrase estimates.

The paraphrases must be independent: variants that send the same messages in
an arm the claim uses share draws, and are rejected (:func:`check_independent`,
called by ``@behavior(..., pooled=True)``). Compliance is checked per
paraphrase: one paraphrase shown off-protocol ends the claim NONCOMPLIANT,
named; a paraphrase with no compliant draws yet keeps the test undecided.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict
from scipy.stats import t as t_dist

from harness.claims import Claim, OneArmGate, PairedGate, Share
from harness.config import RunSettings
from harness.hypothesis import ArmName, HypothesisError, Message, PromptPair, ResolvedVariant
from harness.planning import OperatingPoint, Plan
from harness.records import ArmResult, Draw, GateResult, Outcome, Verdict
from harness.runner import (
    Progress,
    _budget_stop,
    _compliant,
    _labelled,
    _noncompliance_reason,
    _noncompliant_arms,
    _summarize,
    _valid,
    gate_alpha,
    make_outcome,
)
from harness.sampling import Sampler
from harness.stats import FAIL, PASS, UNDECIDED

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int_]
FIRST_LOOK = 16
POOLED = "pooled"
PerVariant = list[dict[ArmName, list[Draw]]]


class PooledGate(BaseModel):
    """One gate of a claim, on the paraphrase-level mean (share or difference)."""

    model_config = ConfigDict(frozen=True)

    share: Share
    control: Share | None = None
    ok: float
    bad: float
    alpha: float
    beta: float

    @property
    def direction(self) -> float:
        """+1 when the forbidden value lies above the allowed one, else -1."""
        return 1.0 if self.bad > self.ok else -1.0


def pooled_gates(claim: Claim, alpha: float, beta: float) -> list[PooledGate]:
    """The claim's gates, moved to the paraphrase-level scale."""
    out = []
    for g in claim.gates(alpha, beta):
        s = g.sprt
        if isinstance(g, OneArmGate):
            out.append(
                PooledGate(share=g.share, ok=s.p_ok, bad=s.p_bad, alpha=s.alpha, beta=s.beta)
            )
        elif isinstance(g, PairedGate):
            out.append(
                PooledGate(
                    share=g.treatment,
                    control=g.control,
                    ok=s.p_ok - 0.5,
                    bad=s.p_bad - 0.5,
                    alpha=s.alpha,
                    beta=s.beta,
                )
            )
    return out


def looks(max_draws: int, first: int = FIRST_LOOK) -> list[int]:
    """Draws per paraphrase and arm at each look: doubling from ``first`` to the cap."""
    out = []
    n = min(first, max_draws)
    while n < max_draws:
        out.append(n)
        n *= 2
    return [*out, max_draws]


def estimates(
    k_t: Ints, n_t: Ints, k_c: Ints | None = None, n_c: Ints | None = None
) -> tuple[Floats, Floats]:
    """Per-paraphrase estimates (share, or treatment - control difference) and variances.

    Arrays are (..., J). The binomial variances use (k + 1/2) / (n + 1), so a
    paraphrase at 0% or 100% still carries sampling error.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        value = k_t / n_t
        smooth = (k_t + 0.5) / (n_t + 1.0)
        var = smooth * (1.0 - smooth) / n_t
        if k_c is not None and n_c is not None:
            value = value - k_c / n_c
            smooth_c = (k_c + 0.5) / (n_c + 1.0)
            var = var + smooth_c * (1.0 - smooth_c) / n_c
    return np.asarray(value, dtype=float), np.asarray(var, dtype=float)


def t_statistics(values: Floats, variances: Floats, gate: PooledGate) -> tuple[Floats, Floats]:
    """(t towards ``bad`` from ``ok``, standard error) of the paraphrase mean."""
    j = values.shape[-1]
    mean = values.mean(axis=-1)
    spread_se = values.std(axis=-1, ddof=1) / math.sqrt(j)
    binomial_se = np.sqrt(variances.mean(axis=-1) / j)
    se = np.maximum(spread_se, binomial_se)
    return gate.direction * (mean - gate.ok) / se, se


def critical(level: float, paraphrases: int) -> float:
    """One-sided t critical value with J - 1 degrees of freedom."""
    return float(t_dist.ppf(1.0 - level, paraphrases - 1))


def gate_codes(
    values: Floats, variances: Floats, gate: PooledGate, n_looks: int
) -> tuple[Ints, Floats, float, Floats]:
    """Decision codes at one look, with t, its FAIL bound, and its PASS bound."""
    j = values.shape[-1]
    t, se = t_statistics(values, variances, gate)
    fail_at = critical(gate.alpha / n_looks, j)
    pass_at = abs(gate.bad - gate.ok) / se - critical(gate.beta / n_looks, j)
    known = np.isfinite(t)
    codes = np.where(
        known & (t >= fail_at), FAIL, np.where(known & (t <= pass_at), PASS, UNDECIDED)
    )
    return codes.astype(np.int_), t, fail_at, pass_at


def combine(codes: list[Ints]) -> Ints:
    """Claim code: any gate FAIL fails; every gate PASS passes."""
    stacked = np.stack(codes)
    return np.where(
        (stacked == FAIL).any(axis=0),
        FAIL,
        np.where((stacked == PASS).all(axis=0), PASS, UNDECIDED),
    ).astype(np.int_)


class Spread(BaseModel):
    """How much the paraphrases disagree."""

    mean: float
    tau: float
    low: float
    high: float

    def text(self) -> str:
        return (
            f"paraphrase mean {self.mean:.2f}, between-paraphrase sd (DerSimonian-Laird tau) "
            f"{self.tau:.3f}, range {self.low:.2f} to {self.high:.2f}"
        )


def spread(values: Floats, variances: Floats) -> Spread:
    """Between-paraphrase spread of one set of per-paraphrase estimates."""
    from statsmodels.stats.meta_analysis import combine_effects

    tau2 = float(combine_effects(values, variances, method_re="dl").tau2)
    return Spread(
        mean=float(values.mean()),
        tau=math.sqrt(max(tau2, 0.0)),
        low=float(values.min()),
        high=float(values.max()),
    )


# -- simulation and planning --------------------------------------------------------------


def simulate_pooled(
    claim: Claim,
    alpha: float,
    beta: float,
    shares: Sequence[float] | Floats,
    rng: np.random.Generator,
    runs: int = 2000,
    max_draws: int = 400,
    control_shares: Sequence[float] | Floats | None = None,
    first_look: int = FIRST_LOOK,
) -> tuple[Ints, Ints]:
    """Verdict codes and draws per paraphrase and arm of simulated pooled runs.

    ``shares`` are the true treatment shares of the J paraphrases, (J,) or
    (runs, J) to draw fresh paraphrases per run; ``control_shares`` likewise
    (0.5 by default). Every draw is compliant. Uses the same look schedule
    and decision code as :func:`evaluate_pooled`.
    """
    gates = pooled_gates(claim, alpha, beta)
    schedule = looks(max_draws, first_look)
    p_t = np.asarray(shares, dtype=float)
    j = p_t.shape[-1]
    p_c = np.asarray(control_shares, dtype=float) if control_shares is not None else np.full(j, 0.5)
    verdict = np.full(runs, UNDECIDED, dtype=np.int_)
    draws = np.full(runs, max_draws, dtype=np.int_)
    k_t = np.zeros((runs, j), dtype=np.int_)
    k_c = np.zeros((runs, j), dtype=np.int_)
    done = 0
    for n in schedule:
        k_t += rng.binomial(n - done, p_t, size=k_t.shape)
        k_c += rng.binomial(n - done, p_c, size=k_c.shape)
        done = n
        n_arr = np.full(k_t.shape, n)
        codes = []
        for g in gates:
            vals, var = (
                estimates(k_t, n_arr, k_c, n_arr)
                if g.control is not None
                else estimates(k_t, n_arr)
            )
            codes.append(gate_codes(vals, var, g, len(schedule))[0])
        now = combine(codes)
        fresh = (verdict == UNDECIDED) & (now != UNDECIDED)
        verdict[fresh] = now[fresh]
        draws[fresh] = n
    return verdict, draws


def plan_pooled(
    claim: Claim,
    gate_alpha_: float,
    beta: float,
    max_draws: int,
    paraphrases: int,
    runs: int = 2000,
    seed: int = 0,
) -> Plan:
    """Operating characteristics of a pooled claim by seeded simulation (no spread)."""
    rng = np.random.default_rng(seed)
    gates = pooled_gates(claim, gate_alpha_, beta)
    offset = 0.5 if gates[0].control is not None else 0.0

    def point(share: float) -> OperatingPoint:
        verdict, draws = simulate_pooled(
            claim, gate_alpha_, beta, [share + offset] * paraphrases, rng, runs, max_draws
        )
        return OperatingPoint(
            share=share + offset,
            p_fail=float((verdict == FAIL).mean()),
            p_pass=float((verdict == PASS).mean()),
            p_inconclusive=float((verdict == UNDECIDED).mean()),
            mean_draws=float(draws.mean()),
            p95_draws=int(np.quantile(draws, 0.95, method="higher")),
        )

    forbidden = min((point(g.bad) for g in gates), key=lambda p: p.p_fail)
    return Plan(
        rule=f"pooled over {paraphrases} paraphrases: {claim.rule()}",
        gate_alpha=math.fsum(g.alpha for g in gates),
        beta=max(g.beta for g in gates),
        max_draws=max_draws,
        batch_size=looks(max_draws)[0],
        compliance=1.0,
        trial_rate=1.0,
        allowed=point(gates[0].ok),
        forbidden=forbidden,
    )


# -- evaluation with a model --------------------------------------------------------------


def repeated_prompts(
    pair: PromptPair, variant_ids: Sequence[str], arms: Sequence[ArmName]
) -> list[str]:
    """Arms whose messages repeat across the chosen variants, e.g. "control arm of 'a', 'b'".

    Identical messages are one request (same request key, same seeds), so
    such variants would share their draws and not be independent paraphrases.
    """
    out = []
    for arm in arms:
        groups: dict[tuple[Message, ...], list[str]] = {}
        for vid in variant_ids:
            groups.setdefault(pair.variant(vid).arm(arm).messages, []).append(vid)
        out += [
            f"{arm} arm of {', '.join(repr(v) for v in ids)}"
            for ids in groups.values()
            if len(ids) > 1
        ]
    return out


def check_independent(pair: PromptPair, variant_ids: Sequence[str], claim: Claim) -> None:
    """Raise HypothesisError if two pooled variants send the same messages in an arm the claim uses.

    The paraphrase-level t-test assumes one independent estimate per
    paraphrase; variants that share draws would be counted twice and make it
    anti-conservative.
    """
    repeats = repeated_prompts(pair, variant_ids, claim.arms)
    if repeats:
        raise HypothesisError(
            f"hypothesis {pair.id!r}: a pooled claim needs a distinct prompt per paraphrase in "
            f"every arm it uses, but the same messages are sent in the {'; '.join(repeats)} "
            "(they would share draws and be counted twice); pool only variants that rewrite "
            "those arms"
        )


def evaluate_pooled(
    pair: PromptPair,
    variant_ids: Sequence[str],
    claim: Claim,
    model: str,
    sampler: Sampler,
    settings: RunSettings,
    family_size: int = 1,
    test: str = "",
    progress: Progress | None = None,
) -> Outcome:
    """Sample every chosen paraphrase until the pooled ``claim`` is decided for ``model``.

    Compliance is checked per paraphrase as well as over all of them: one
    paraphrase shown off-protocol ends the claim NONCOMPLIANT naming it (its
    share would otherwise be unmeasurable while the merged compliance hides it).
    """
    variants = [pair.variant(v) for v in variant_ids]
    if len(variants) < 2:
        raise ValueError("a pooled claim needs at least two variants")
    check_independent(pair, variant_ids, claim)
    alpha = gate_alpha(settings.alpha, family_size)
    gates = pooled_gates(claim, alpha, settings.beta)
    schedule = looks(settings.max_draws)
    verdict, reason = Verdict.INCONCLUSIVE, ""
    results: list[GateResult] = []
    # one batch first, so an off-protocol paraphrase is named without a full first look
    n = min(settings.batch_size, settings.max_draws)
    per_variant = _sample(variants, claim, model, sampler, n)
    off = _off_protocol(variants, per_variant, claim, settings)
    if off is not None:
        schedule, verdict, reason = [], Verdict.NONCOMPLIANT, off
    for n in schedule:
        per_variant = _sample(variants, claim, model, sampler, n)
        if progress is not None:
            progress(f"{n} draws per arm and paraphrase")
        merged = _merge(per_variant, claim)
        stalled = _budget_stop(merged)
        results, codes, spreads = _look(gates, variants, per_variant, len(schedule), n)
        decided = int(combine([np.asarray([c]) for c in codes])[0])
        spread_text = "; ".join(spreads)
        if decided == FAIL:
            verdict = Verdict.FAIL
            reason = (
                f"the forbidden behavior was shown over {len(variants)} paraphrases ({spread_text})"
            )
            break
        if decided == PASS:
            verdict = Verdict.PASS
            reason = (
                f"the forbidden behavior was ruled out over {len(variants)} paraphrases "
                f"({spread_text})"
            )
            break
        off = _off_protocol(variants, per_variant, claim, settings)
        if off is not None:
            verdict, reason = Verdict.NONCOMPLIANT, off
            break
        if stalled is not None:
            verdict, reason = Verdict.INCONCLUSIVE, f"stopped early: {stalled}"
            break
        reason = (
            f"budget of {settings.max_draws} draws per arm and paraphrase reached before a "
            f"decision ({spread_text})"
        )
    merged = _merge(per_variant, claim)
    arms = [_pooled_arm(arm, variants, merged[arm], n) for arm in claim.arms]
    return make_outcome(
        pair,
        POOLED,
        claim,
        model,
        settings,
        verdict,
        reason,
        arms,
        results,
        n,
        gate=alpha,
        family_size=family_size,
        test=test,
        rule=f"averaged over paraphrases {', '.join(variant_ids)}: {claim.rule()}",
    )


def _sample(
    variants: list[ResolvedVariant], claim: Claim, model: str, sampler: Sampler, n: int
) -> PerVariant:
    """Draws 0..n-1 of every arm the claim uses, per paraphrase (labelled)."""
    return [
        {arm: _labelled(sampler.draws(model, v.arm(arm).messages, n), v, arm) for arm in claim.arms}
        for v in variants
    ]


def _merge(per_variant: PerVariant, claim: Claim) -> dict[ArmName, list[Draw]]:
    """Each arm's draws of all paraphrases, paraphrase by paraphrase."""
    return {arm: [d for pv in per_variant for d in pv[arm]] for arm in claim.arms}


def _off_protocol(
    variants: list[ResolvedVariant], per_variant: PerVariant, claim: Claim, settings: RunSettings
) -> str | None:
    """Why to end NONCOMPLIANT, if a paraphrase's arm or a merged arm is shown off-protocol.

    Paraphrases are named unless all of them are off-protocol (the merged counts say that).
    """
    parts, named = [], set()
    for v, pv in zip(variants, per_variant, strict=True):
        for arm in _noncompliant_arms(pv, settings):
            k, total = len(_compliant(pv[arm])), len(_valid(pv[arm]))
            parts.append(f"paraphrase {v.id!r} {arm} compliance {k}/{total} = {k / total:.0%}")
            named.add(v.id)
    merged = _merge(per_variant, claim)
    low = _noncompliant_arms(merged, settings)
    if low and len(named) in (0, len(variants)):
        every = "every paraphrase is off-protocol; " if named else ""
        return f"{every}over all paraphrases: {_noncompliance_reason(low, merged, settings)}"
    if not parts:
        return None
    return (
        f"{'; '.join(parts)}, below the required {settings.min_compliance:.0%}: the model does "
        "not follow the protocol of every paraphrase, so their average cannot be measured"
    )


def _pooled_arm(
    arm: ArmName, variants: list[ResolvedVariant], draws: list[Draw], n: int
) -> ArmResult:
    """The arm's summary over all paraphrases.

    Each draw was sent its own paraphrase's prompt, so ``messages`` holds a
    note saying so (which paraphrase, in which order) instead of one prompt.
    Draw indices repeat across paraphrases: they are the seeds' identity.
    """
    ids = ", ".join(repr(v.id) for v in variants)
    note = Message(
        role="user",
        content=(
            f"(pooled over paraphrases {ids}: each draw was sent the {arm} prompt of its own "
            f"paraphrase; the draws are listed paraphrase by paraphrase in that order, {n} "
            "each, and their indices restart at 0 for each paraphrase)"
        ),
    )
    return _summarize(arm, variants[0], draws).model_copy(update={"messages": [note]})


def _counts(draws: list[Draw], share: Share) -> tuple[int, int]:
    compliant = _compliant(draws)
    return sum(d.category == share.category for d in compliant), len(compliant)


def _look(
    gates: list[PooledGate],
    variants: list[ResolvedVariant],
    per_variant: PerVariant,
    n_looks: int,
    n: int,
) -> tuple[list[GateResult], list[int], list[str]]:
    """Gate results, codes, and spread texts at one look.

    A paraphrase without compliant draws in an arm has no estimate yet: the
    gate stays undecided (the t-test never sees a NaN) and waits for more draws.
    """
    results, codes, spreads = [], [], []
    for g in gates:
        kt, nt = np.array([_counts(pv[g.share.arm], g.share) for pv in per_variant]).T
        empty = nt == 0
        if g.control is not None:
            kc, nc = np.array([_counts(pv[g.control.arm], g.control) for pv in per_variant]).T
            empty |= nc == 0
            values, variances = estimates(kt, nt, kc, nc)
            what = f"{g.share} - {g.control}"
        else:
            values, variances = estimates(kt, nt)
            what = str(g.share)
        if empty.any():
            waiting = ", ".join(repr(v.id) for v, e in zip(variants, empty, strict=True) if e)
            c, t, pass_at = UNDECIDED, math.nan, -math.inf
            fail_at = critical(g.alpha / n_looks, len(per_variant))
            spreads.append(f"{what}: no compliant draws yet in paraphrase(s) {waiting}")
        else:
            code, t_arr, fail_at, pass_at_arr = gate_codes(values, variances, g, n_looks)
            c, t, pass_at = int(code), float(t_arr), float(pass_at_arr)
            spreads.append(f"{what}: {spread(values, variances).text()}")
        codes.append(c)
        results.append(
            GateResult(
                description=(
                    f"paraphrase-level t on the mean {what} over {len(per_variant)} "
                    f"paraphrases: {g.ok:+g} allowed vs {g.bad:+g} (look {n} draws of "
                    f"{n_looks} looks; 't' shown as LLR)"
                ),
                decision={FAIL: "fail", PASS: "pass"}.get(c),
                llr=t if math.isfinite(t) else 0.0,
                upper=fail_at,
                lower=pass_at if math.isfinite(pass_at) else -math.inf,
                hits=int(kt.sum()),
                trials=int(nt.sum()),
                alpha=g.alpha,
                beta=g.beta,
            )
        )
    return results, codes, spreads
