"""Planning: the operating characteristics of a claim's sequential gates, computed exactly.

A plan answers, before any model is called: how many draws per arm will this
claim take when the behavior is as allowed (``p_ok``) and when the forbidden
behavior is present at the stated size (``p_bad``), how often will it decide
each way, and can it reach the wanted power within ``--max-draws``?

The numbers come from dynamic programming over the SPRT's state (hits after
t trials, plus which of the claim's gates have already passed), so they are
exact for Wald's test as the runner applies it, cap included. Trials are then
turned into draws per arm: a gate trial is a compliant draw (one-arm gates) or
a discordant compliant pair (paired gates), so with per-draw trial chance q the
draw at which trial t arrives is t plus a negative-binomial wait; the runner
checks after each batch, so draws are rounded up to the batch and capped.

For paired gates q = compliance x discordance, with the discordance rate taken
at a reference control share (0.5 by default: then it is 0.5 whatever the
treatment share). This is exact at compliance 1; below it pairs need both arms
compliant at the same rank, which this approximates by the smaller per-arm rate.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import nbinom

from harness.define.claims import Claim, Gate, OneArmGate, PairedGate
from harness.stats.decision import Decision, combine
from harness.stats.sprt import SPRT

Array = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int_]
Bools = npt.NDArray[np.bool_]
POWER_TARGET = 0.9


def trial_distribution(sprts: list[SPRT], p: float, max_trials: int) -> tuple[Array, Array]:
    """Chance that the claim FAILs / PASSes exactly at trial t = 1..max_trials.

    All ``sprts`` read the same Bernoulli(``p``) trials; the claim fails when
    any gate's first decision is FAIL and passes once every gate has passed
    (a passed gate stays passed), as in :func:`harness.run.evaluate.evaluate`.
    """
    gates = len(sprts)
    full = (1 << gates) - 1
    prob = np.zeros((full + 1, 1))
    prob[0, 0] = 1.0
    fail_at = np.zeros(max_trials)
    pass_at = np.zeros(max_trials)
    for t in range(1, max_trials + 1):
        grown = np.zeros((full + 1, t + 1))
        grown[:, :t] += prob * (1.0 - p)
        grown[:, 1:] += prob * p
        k = np.arange(t + 1)
        llr = [k * s.step_hit + (t - k) * s.step_miss for s in sprts]
        up = [v >= s.upper for v, s in zip(llr, sprts, strict=True)]
        low = [v <= s.lower for v, s in zip(llr, sprts, strict=True)]
        nxt = np.zeros_like(grown)
        for mask in range(full + 1):
            mass = grown[mask]
            if not mass.any():
                continue
            fails = np.zeros(t + 1, dtype=bool)
            target = np.full(t + 1, mask)
            for g in range(gates):
                if mask & (1 << g):
                    continue
                fails |= up[g]
                target = target | np.where(low[g], 1 << g, 0)
            fail_at[t - 1] += mass[fails].sum()
            keep = ~fails
            np.add.at(nxt, (target[keep], k[keep]), mass[keep])
        pass_at[t - 1] = nxt[full].sum()
        nxt[full] = 0.0
        prob = nxt
        if prob.sum() < 1e-12:
            break
    return fail_at, pass_at


class OperatingPoint(BaseModel):
    """What a claim does at one true share: decision chances and draws per arm."""

    model_config = ConfigDict(frozen=True)

    share: float = Field(description="true gate-level share (theta for paired gates)")
    p_fail: float
    p_pass: float
    p_inconclusive: float
    mean_draws: float = Field(description="expected draws per arm, batches and cap included")
    p95_draws: int = Field(description="95th percentile of draws per arm")


class Plan(BaseModel):
    """A claim's operating characteristics under a run's settings."""

    model_config = ConfigDict(frozen=True)

    rule: str
    gate_alpha: float
    beta: float
    max_draws: int
    batch_size: int
    compliance: float
    trial_rate: float = Field(description="chance that a draw (per arm) adds a gate trial")
    allowed: OperatingPoint
    forbidden: OperatingPoint = Field(description="the forbidden share with the lowest power")

    @property
    def power(self) -> float:
        """Chance of FAIL within the budget when the forbidden behavior is present."""
        return self.forbidden.p_fail

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.power < POWER_TARGET:
            out.append(
                f"power {self.power:.2f} < {POWER_TARGET:g} at share {self.forbidden.share:g} "
                f"within {self.max_draws} draws"
            )
        if self.allowed.p_pass < POWER_TARGET:
            out.append(
                f"passes only {self.allowed.p_pass:.2f} of the time at share "
                f"{self.allowed.share:g} within {self.max_draws} draws"
            )
        return out

    def line(self) -> str:
        """One line for a test's skip message and the plan table."""
        a, f = self.allowed, self.forbidden
        text = (
            f"at {a.share:g}: E[n]={a.mean_draws:.1f} p95={a.p95_draws} pass={a.p_pass:.3f}; "
            f"at {f.share:g}: E[n]={f.mean_draws:.1f} p95={f.p95_draws} power={f.p_fail:.3f}"
        )
        if self.warnings:
            text += " | WARNING: " + "; ".join(self.warnings)
        return text


def _draws(
    fail_at: Array, pass_at: Array, rate: float, max_draws: int, batch_size: int
) -> tuple[float, float, Array]:
    """Turn per-trial decision chances into (P fail, P pass, pmf of draws per arm)."""
    trials = np.arange(1, len(fail_at) + 1)
    draws = np.arange(1, max_draws + 1)
    if rate >= 1.0:
        wait = np.eye(len(trials), max_draws)
    else:
        wait = nbinom.pmf(draws[None, :] - trials[:, None], trials[:, None], rate)
    fail_m = fail_at @ wait
    pass_m = pass_at @ wait
    checkpoint = np.minimum(np.ceil(draws / batch_size) * batch_size, max_draws).astype(int)
    pmf = np.zeros(max_draws + 1)
    np.add.at(pmf, checkpoint, fail_m + pass_m)
    p_fail, p_pass = float(fail_m.sum()), float(pass_m.sum())
    pmf[max_draws] += max(0.0, 1.0 - p_fail - p_pass)
    return p_fail, p_pass, pmf


def operating_point(
    sprts: list[SPRT], share: float, rate: float, max_draws: int, batch_size: int
) -> OperatingPoint:
    """Decision chances and draw counts of gates on one arm/pair sequence at ``share``."""
    fail_at, pass_at = trial_distribution(sprts, share, max_draws)
    p_fail, p_pass, pmf = _draws(fail_at, pass_at, rate, max_draws, batch_size)
    cdf = np.cumsum(pmf)
    return OperatingPoint(
        share=share,
        p_fail=p_fail,
        p_pass=p_pass,
        p_inconclusive=max(0.0, 1.0 - p_fail - p_pass),
        mean_draws=float((np.arange(max_draws + 1) * pmf).sum()),
        p95_draws=int(np.searchsorted(cdf, 0.95 - 1e-12)),
    )


def discordance(theta: float, control_share: float) -> float:
    """Chance a (control, treatment) pair is discordant when its theta is ``theta``."""
    odds = theta / (1.0 - theta) * control_share / (1.0 - control_share)
    treated = odds / (1.0 + odds)
    return treated * (1.0 - control_share) + control_share * (1.0 - treated)


def plan_gates(
    gates: list[Gate],
    rule: str,
    max_draws: int,
    batch_size: int = 1,
    compliance: float = 1.0,
    control_share: float = 0.5,
) -> Plan:
    """The plan of a claim's gates (all on one arm, or all paired)."""
    if not gates:
        raise ValueError("a claim needs at least one gate")
    if not 0.0 < compliance <= 1.0:
        raise ValueError("compliance must be in (0, 1]")
    sprts = [g.sprt for g in gates]
    paired = all(isinstance(g, PairedGate) for g in gates)
    if not paired and not all(isinstance(g, OneArmGate) for g in gates):
        raise ValueError("cannot plan a claim mixing one-arm and paired gates")
    allowed_share = sprts[0].p_ok

    def rate(share: float) -> float:
        return compliance * discordance(share, control_share) if paired else compliance

    allowed = operating_point(sprts, allowed_share, rate(allowed_share), max_draws, batch_size)
    forbidden = min(
        (operating_point(sprts, s.p_bad, rate(s.p_bad), max_draws, batch_size) for s in sprts),
        key=lambda point: point.p_fail,
    )
    return Plan(
        rule=rule,
        gate_alpha=math.fsum(s.alpha for s in sprts),
        beta=max(s.beta for s in sprts),
        max_draws=max_draws,
        batch_size=batch_size,
        compliance=compliance,
        trial_rate=rate(allowed_share),
        allowed=allowed,
        forbidden=forbidden,
    )


def plan_claim(
    claim: Claim,
    gate_alpha: float,
    beta: float,
    max_draws: int,
    batch_size: int = 1,
    compliance: float = 1.0,
    control_share: float = 0.5,
) -> Plan:
    """Operating characteristics of ``claim`` with ``gate_alpha`` (after the family split).

    >>> from harness import claims
    >>> p = plan_claim(claims.at_least("treatment", "random", value=0.5, margin=0.2),
    ...                gate_alpha=0.05, beta=0.1, max_draws=400)
    >>> round(p.allowed.mean_draws), p.power > 0.9
    (26, True)
    """
    gates = claim.gates(gate_alpha, beta)
    return plan_gates(gates, claim.rule(), max_draws, batch_size, compliance, control_share)


# -- vectorized simulation (cross-check of the exact plans; calibration) ----------------


def _pack(flags: Bools, keep: Bools) -> tuple[Bools, Ints, Ints]:
    """Move the kept entries of each row to its front (order kept).

    Returns the packed flags, each row's count of kept entries, and for every
    packed position the 1-based index of the draw it came from.
    """
    order = np.argsort(~keep, axis=1, kind="stable")
    packed = np.take_along_axis(flags, order, axis=1)
    return packed, keep.sum(axis=1), order + 1


def simulate_claim(
    claim: Claim,
    alpha: float,
    beta: float,
    p_treatment: float,
    rng: np.random.Generator,
    runs: int = 4000,
    cap: int = 600,
    p_control: float = 0.5,
    compliance: float = 1.0,
    batch_size: int = 1,
) -> tuple[Ints, Ints]:
    """Verdict codes and draws per arm of ``runs`` simulated runs of ``claim``.

    The vectorized twin of :func:`harness.run.evaluate.evaluate` on Bernoulli draws,
    through the claim's real gates and :meth:`SPRT.walk`: one-arm gates read
    the compliant treatment draws, paired gates the discordant pairs of
    compliant draws (k-th compliant control with k-th compliant treatment);
    any gate FAIL fails the claim, all gates PASS passes it. Draws per arm are
    rounded up to the batch and capped at ``cap`` (INCONCLUSIVE there).
    Used by the calibration suite and to check the exact plans.
    """
    gates = claim.gates(alpha, beta)
    treated = rng.random((runs, cap)) < p_treatment
    keep_t = rng.random((runs, cap)) < compliance
    if all(isinstance(g, OneArmGate) for g in gates):
        flags, lengths, origin = _pack(treated, keep_t)
    else:
        assert all(isinstance(g, PairedGate) for g in gates)
        control = rng.random((runs, cap)) < p_control
        keep_c = rng.random((runs, cap)) < compliance
        t_hits, t_n, t_origin = _pack(treated, keep_t)
        c_hits, c_n, c_origin = _pack(control, keep_c)
        pairs = np.minimum(t_n, c_n)
        rank = np.arange(cap)[None, :]
        discordant = (t_hits != c_hits) & (rank < pairs[:, None])
        pair_origin = np.maximum(t_origin, c_origin)  # the draw at which the pair exists
        flags, lengths, order = _pack(t_hits, discordant)
        origin = np.take_along_axis(pair_origin, order - 1, axis=1)
    verdict, draws = _combine(gates, flags, lengths, origin, cap)
    return verdict, np.minimum(-(-draws // batch_size) * batch_size, cap)


def _combine(
    gates: list[Gate], flags: Bools, lengths: Ints, origin: Ints, cap: int
) -> tuple[Ints, Ints]:
    """The claim's verdict as the runner reaches it (:func:`combine`) and its draw."""
    walked = [g.sprt.walk(flags, lengths) for g in gates]
    codes = np.stack([c for c, _ in walked])
    used = np.stack([u for _, u in walked])
    at = np.take_along_axis(origin, np.maximum(used - 1, 0).T, axis=1).T  # draw of the decision
    big = np.iinfo(np.int_).max
    verdict = combine(list(codes))
    fail_draw = np.where(codes == Decision.FAIL, at, big).min(axis=0)
    pass_draw = at.max(axis=0)
    draws = np.where(
        verdict == Decision.FAIL,
        fail_draw,
        np.where(verdict == Decision.PASS, pass_draw, cap),
    )
    return verdict, draws
