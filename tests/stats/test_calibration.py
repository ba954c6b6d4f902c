"""Calibration: the real decision code holds its stated error rates.

Seeded, vectorized simulation drives the gates that ``harness.define.claims``
builds through ``SPRT.walk`` (the code path of ``SPRT.first_decision``, which
the runner uses), combining gates with ``harness.stats.decision.combine`` as
``harness.run.evaluate.evaluate`` does. Every rate
is checked with its Monte Carlo error accounted for: the assertion is that an
exact one-sided binomial test does not show the rate on the wrong side of its
bound (p < 0.001). Runs marked ``slow`` repeat the checks with 10x the runs.

Pytest-level checks drive ``harness.run.evaluate.evaluate`` with the ``sim/``
models: a reached cap ends INCONCLUSIVE, and the paired gate reads the draws as
the vectorized simulation does.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from scipy.stats import binom, binomtest

from harness import DrawStore, GenerationSettings, Sampler, claims
from harness.define.claims import Claim
from harness.results.records import Verdict
from harness.run.evaluate import evaluate
from harness.run.pooled import evaluate_pooled
from harness.run.settings import RunSettings
from harness.stats.decision import Decision, gate_alpha
from harness.stats.fixed_n import fixed_n_size
from harness.stats.paraphrase import simulate_pooled
from harness.stats.planning import simulate_claim
from harness.stats.sprt import SPRT

RUNS = 4000
SLOW_RUNS = 40_000


def _not_above(count: int, runs: int, bound: float) -> None:
    """The rate count/runs is not shown (exactly, p < 0.001) to exceed ``bound``."""
    p = binomtest(count, runs, bound, alternative="greater").pvalue
    assert p > 0.001, f"{count}/{runs} = {count / runs:.4f} exceeds {bound} (p = {p:.2g})"


def _not_below(count: int, runs: int, bound: float) -> None:
    p = binomtest(count, runs, bound, alternative="less").pvalue
    assert p > 0.001, f"{count}/{runs} = {count / runs:.4f} is below {bound} (p = {p:.2g})"


def make_claim(kind: str, margin: float) -> Claim:
    """The claims under calibration, on the seed hypothesis's shares."""
    if kind == "at_least":
        return claims.at_least("treatment", "random", value=0.5, margin=margin)
    if kind == "equivalent":
        return claims.equivalent("treatment", "random", value=0.5, margin=margin)
    return claims.not_lower(("treatment", "random"), ("control", "word"), margin=margin)


# -- false failures, power, draws ----------------------------------------------------------


def _failures(kind: str, margin: float, share: float, runs: int, seed: int) -> int:
    """FAIL count over ``runs`` simulated runs, in chunks of RUNS to bound memory."""
    rng = np.random.default_rng(seed)
    total = 0
    for start in range(0, runs, RUNS):
        chunk = min(RUNS, runs - start)
        verdict, _ = simulate_claim(make_claim(kind, margin), 0.05, 0.1, share, rng, runs=chunk)
        total += int((verdict == Decision.FAIL).sum())
    return total


def _false_failure(kind: str, margin: float, runs: int, seed: int) -> None:
    _not_above(_failures(kind, margin, 0.5, runs, seed), runs, 0.05)


@pytest.mark.parametrize("margin", [0.1, 0.2])
@pytest.mark.parametrize("kind", ["at_least", "equivalent", "not_lower"])
def test_false_failure_rate_at_half(kind: str, margin: float) -> None:
    """True random-string share 0.5 (control 0.5): FAIL at most alpha = 0.05."""
    _false_failure(kind, margin, RUNS, seed=11)


@pytest.mark.parametrize("p_control", [0.2, 0.8])
def test_paired_size_does_not_depend_on_the_control_share(p_control: float) -> None:
    """Equal shares away from 0.5, with 80% compliance: theta stays 0.5."""
    verdict, _ = simulate_claim(
        make_claim("not_lower", 0.2),
        0.05,
        0.1,
        p_control,
        np.random.default_rng(12),
        p_control=p_control,
        compliance=0.8,
    )
    _not_above(int((verdict == Decision.FAIL).sum()), RUNS, 0.05)


@pytest.mark.parametrize("kind", ["at_least", "not_lower"])
def test_power_against_a_share_of_0_3(kind: str) -> None:
    """True share 0.3 (control 0.5), margin 0.2: FAIL at least 0.9 of the time."""
    verdict, _ = simulate_claim(make_claim(kind, 0.2), 0.05, 0.1, 0.3, np.random.default_rng(13))
    _not_below(int((verdict == Decision.FAIL).sum()), RUNS, 0.9)


def test_equivalence_power_on_both_sides() -> None:
    """Equivalence fails for shares 0.3 and 0.7 (margin 0.2) at least 0.9 of the time."""
    for p in (0.3, 0.7):
        verdict, _ = simulate_claim(
            make_claim("equivalent", 0.2), 0.05, 0.1, p, np.random.default_rng(14)
        )
        _not_below(int((verdict == Decision.FAIL).sum()), RUNS, 0.9)


def test_mean_draws_beat_fixed_n_of_equal_power() -> None:
    """At share 0.5 (margin 0.2, alpha 0.05, beta 0.1): mean draws <= 0.6 x fixed n (53)."""
    fixed = fixed_n_size(0.5, 0.3, 0.05, 0.1)
    verdict, draws = simulate_claim(
        make_claim("at_least", 0.2), 0.05, 0.1, 0.5, np.random.default_rng(15)
    )
    assert (verdict != Decision.UNDECIDED).all()
    mean, se = draws.mean(), draws.std(ddof=1) / np.sqrt(RUNS)
    assert mean + 3 * se <= 0.6 * fixed, f"mean draws {mean:.1f} vs fixed n {fixed}"


def test_family_of_twenty_null_gates() -> None:
    """20 null claims (10 one-arm, 10 paired) with the run's split alpha: any FAIL <= 5%."""
    alpha = gate_alpha(0.05, 20)
    rng = np.random.default_rng(16)
    any_fail = np.zeros(RUNS // 2, dtype=bool)
    for i in range(20):
        claim = make_claim("at_least", 0.2) if i % 2 else make_claim("not_lower", 0.2)
        verdict, _ = simulate_claim(claim, alpha, 0.1, 0.5, rng, runs=RUNS // 2, cap=300)
        any_fail |= verdict == Decision.FAIL
    _not_above(int(any_fail.sum()), RUNS // 2, 0.05)


def test_deciding_by_sign_at_the_cap_would_break_size() -> None:
    """Why the cap ends INCONCLUSIVE: forcing a decision at the cap overshoots alpha."""
    sprt = SPRT(p_ok=0.5, p_bad=0.4, alpha=0.05, beta=0.1)
    rng = np.random.default_rng(17)
    flags = rng.random((RUNS, 40)) < 0.5
    codes, _ = sprt.walk(flags)
    undecided = codes == Decision.UNDECIDED
    assert undecided.mean() > 0.5  # the cap is reached in most runs
    _not_above(int((codes == Decision.FAIL).sum()), RUNS, 0.05)
    llr = sprt.llr(flags.sum(axis=1), 40)
    forced = (codes == Decision.FAIL) | (undecided & (llr > 0))
    assert forced.mean() > 0.1


@pytest.mark.slow
@pytest.mark.parametrize("margin", [0.1, 0.2])
@pytest.mark.parametrize("kind", ["at_least", "equivalent", "not_lower"])
def test_false_failure_rate_long(kind: str, margin: float) -> None:
    _false_failure(kind, margin, SLOW_RUNS, seed=21)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["at_least", "not_lower"])
def test_power_long(kind: str) -> None:
    _not_below(_failures(kind, 0.2, 0.3, SLOW_RUNS, seed=22), SLOW_RUNS, 0.9)


# -- the runner with sim models ------------------------------------------------------------


def _sim_settings(**kw: object) -> RunSettings:
    return RunSettings(models=("sim/indifferent",), **kw)  # type: ignore[arg-type]


def _sampler(settings: RunSettings) -> Sampler:
    return Sampler(GenerationSettings(), settings.seed, store=DrawStore())


def test_cap_reached_ends_inconclusive() -> None:
    """An indifferent model at a tiny budget: neither gate can decide, so INCONCLUSIVE."""
    from evals.test_zero_vs_random import ZERO_VS_RANDOM

    settings = _sim_settings(max_draws=8, batch_size=4)
    claim = claims.equivalent("treatment", "random", value=0.5, margin=0.1)
    outcome = evaluate(
        ZERO_VS_RANDOM, "original", claim, "sim/indifferent", _sampler(settings), settings
    )
    assert outcome.verdict is Verdict.INCONCLUSIVE
    assert outcome.draws_per_arm == 8
    assert all(g.decision is Decision.UNDECIDED for g in outcome.gates)


@pytest.mark.parametrize("model", ["sim/indifferent", "sim/avoidant"])
def test_runner_paired_gate_reads_draws_like_the_simulation(model: str) -> None:
    """The runner's paired decision equals SPRT.walk over the outcome's own draws."""
    from evals.test_zero_vs_random import ZERO_VS_RANDOM

    settings = _sim_settings(seed=5)
    claim = claims.not_lower(("treatment", "random"), ("control", "word"), margin=0.2)
    outcome = evaluate(ZERO_VS_RANDOM, "game", claim, model, _sampler(settings), settings)
    compliant = {
        arm.arm: [
            d.category
            for d in arm.draws
            if d.error is None and d.category not in ("refusal", "other")
        ]
        for arm in outcome.arms
    }
    pairs = list(zip(compliant["treatment"], compliant["control"], strict=False))
    flags = [t == "random" for t, c in pairs if (t == "random") != (c == "word")]
    sprt = claim.gates(outcome.gate_alpha, outcome.beta)[0].sprt
    decision, used = sprt.first_decision(flags)
    assert outcome.gates[0].decision == decision
    assert outcome.gates[0].trials == used
    expected = Verdict.FAIL if model == "sim/avoidant" else Verdict.PASS
    assert outcome.verdict is expected


# -- pooled claims over paraphrases ---------------------------------------------------------


def _clustered_shares(rng: np.random.Generator, runs: int, tau: float) -> npt.NDArray[np.float64]:
    """Five paraphrases per run whose true shares spread around 0.5 with sd ``tau``."""
    return np.clip(0.5 + rng.normal(0.0, tau, size=(runs, 5)), 0.01, 0.99)


def test_pooled_claim_holds_alpha_where_naive_pooling_does_not() -> None:
    """5 paraphrases x 40 draws, between-paraphrase sd 0.09, mean share 0.5.

    One binomial test over all 200 draws fails falsely well above 5%; the
    paraphrase-level test (one look at 40 draws, and the sequential version)
    stays at or below alpha.
    """
    rng = np.random.default_rng(31)
    claim = make_claim("at_least", 0.2)
    shares = _clustered_shares(rng, RUNS, 0.09)
    pooled_hits = rng.binomial(40, shares).sum(axis=1)
    naive = int((binom.cdf(pooled_hits, 200, 0.5) <= 0.05).sum())
    assert naive / RUNS > 0.1
    one_look, _ = simulate_pooled(claim, 0.05, 0.1, shares, rng, RUNS, max_draws=40, first_look=40)
    _not_above(int((one_look == Decision.FAIL).sum()), RUNS, 0.05)
    sequential, _ = simulate_pooled(claim, 0.05, 0.1, shares, rng, RUNS, max_draws=400)
    _not_above(int((sequential == Decision.FAIL).sum()), RUNS, 0.05)


def test_pooled_paired_claim_holds_alpha_with_spread() -> None:
    """Treatment and control share the paraphrase effect; their difference averages 0."""
    rng = np.random.default_rng(32)
    shares = _clustered_shares(rng, RUNS, 0.12)
    verdict, _ = simulate_pooled(
        make_claim("not_lower", 0.2), 0.05, 0.1, shares, rng, RUNS, control_shares=shares
    )
    _not_above(int((verdict == Decision.FAIL).sum()), RUNS, 0.05)


@pytest.mark.parametrize("kind", ["at_least", "not_lower", "equivalent"])
def test_pooled_power_against_0_3(kind: str) -> None:
    """No spread, true share 0.3 in every paraphrase (margin 0.2): FAIL >= 0.9."""
    rng = np.random.default_rng(33)
    verdict, _ = simulate_pooled(make_claim(kind, 0.2), 0.05, 0.1, [0.3] * 5, rng, RUNS)
    _not_below(int((verdict == Decision.FAIL).sum()), RUNS, 0.9)


@pytest.mark.parametrize(
    ("model", "expected"), [("sim/indifferent", Verdict.PASS), ("sim/avoidant", Verdict.FAIL)]
)
def test_evaluate_pooled_with_sim_models(model: str, expected: Verdict) -> None:
    """The pooled runner decides over all variants and reports the spread."""
    from evals.test_zero_vs_random import ZERO_VS_RANDOM

    settings = _sim_settings()
    variants = [v.id for v in ZERO_VS_RANDOM.resolved()]
    claim = make_claim("not_lower", 0.2)
    outcome = evaluate_pooled(ZERO_VS_RANDOM, variants, claim, model, _sampler(settings), settings)
    assert outcome.verdict is expected
    assert outcome.variant == "pooled"
    assert "between-paraphrase sd" in outcome.reason
    assert outcome.arm("treatment").n == len(variants) * outcome.draws_per_arm
