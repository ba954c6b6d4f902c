"""Paraphrase-level statistics of pooled claims: a group-sequential t-test on estimates.

Draws of one paraphrase are more alike than draws of different paraphrases, so
pooling all draws into one binomial test understates the error (5 paraphrases
x 40 draws with modest spread fail falsely 13.6% of the time at a 5% level).
The pooled claim here is about the *average over paraphrases* of a share
(one-arm claims) or of the treatment - control difference (paired claims), and
its unit of analysis is the paraphrase: each paraphrase gives one estimate,
and the test is a one-sample t-test on those J estimates (J - 1 degrees of
freedom), whose standard error includes the between-paraphrase spread. The
standard error is floored at the pure binomial one, so identical estimates
cannot fake certainty.

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
per-paraphrase estimates. Evaluation with a model is :mod:`harness.run.pooled`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict
from scipy.stats import t as t_dist

from harness.define.claims import Claim, OneArmGate, PairedGate, Share
from harness.stats.decision import Decision, combine
from harness.stats.planning import OperatingPoint, Plan

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int_]
FIRST_LOOK = 16


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
        known & (t >= fail_at),
        Decision.FAIL,
        np.where(known & (t <= pass_at), Decision.PASS, Decision.UNDECIDED),
    )
    return codes.astype(np.int_), t, fail_at, pass_at


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
    and decision rule as :func:`harness.run.pooled.evaluate_pooled`.
    """
    gates = pooled_gates(claim, alpha, beta)
    schedule = looks(max_draws, first_look)
    p_t = np.asarray(shares, dtype=float)
    j = p_t.shape[-1]
    p_c = np.asarray(control_shares, dtype=float) if control_shares is not None else np.full(j, 0.5)
    verdict = np.full(runs, Decision.UNDECIDED, dtype=np.int_)
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
        fresh = (verdict == Decision.UNDECIDED) & (now != Decision.UNDECIDED)
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
            p_fail=float((verdict == Decision.FAIL).mean()),
            p_pass=float((verdict == Decision.PASS).mean()),
            p_inconclusive=float((verdict == Decision.UNDECIDED).mean()),
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
