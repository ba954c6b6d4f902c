"""Unit tests of harness.stats: the SPRT walk, intervals, fixed-n sizes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom
from statsmodels.stats.proportion import proportion_confint

from harness import HypothesisError, behavior, claims
from harness.stats.decision import Decision, combine
from harness.stats.fixed_n import fixed_n_power, fixed_n_size
from harness.stats.intervals import clopper_pearson, jeffreys, newcombe_interval, wilson
from harness.stats.paraphrase import estimates, looks, pooled_gates, spread, t_statistics
from harness.stats.sprt import SPRT

SPRT_02 = SPRT(p_ok=0.5, p_bad=0.3, alpha=0.05, beta=0.1)


def _scalar_walk(sprt: SPRT, row: list[bool]) -> tuple[Decision, int]:
    """Reference: the draw-by-draw definition, with SPRT.decide at every trial."""
    hits = 0
    for i, hit in enumerate(row, start=1):
        hits += hit
        decision = sprt.decide(hits, i)
        if decision is not Decision.UNDECIDED:
            return decision, i
    return Decision.UNDECIDED, len(row)


@pytest.mark.parametrize(
    "sprt",
    [
        SPRT_02,
        SPRT(p_ok=0.5, p_bad=0.6, alpha=0.01, beta=0.2),
        SPRT(p_ok=0.7, p_bad=0.5, alpha=0.05, beta=0.1),
    ],
)
def test_walk_matches_draw_by_draw_decisions(sprt: SPRT) -> None:
    rng = np.random.default_rng(1)
    rows = rng.random((300, 60)) < rng.uniform(0.2, 0.8, size=(300, 1))
    lengths = rng.integers(0, 61, size=300)
    codes, used = sprt.walk(rows, lengths)
    for row, length, code, n in zip(rows, lengths, codes, used, strict=True):
        decision, trials = _scalar_walk(sprt, [bool(x) for x in row[:length]])
        assert decision == code
        assert trials == n
        assert sprt.first_decision([bool(x) for x in row[:length]]) == (decision, trials)


def test_first_decision_edge_cases() -> None:
    assert SPRT_02.first_decision([]) == (Decision.UNDECIDED, 0)
    assert SPRT_02.first_decision([False] * 9) == (Decision.FAIL, 9)
    assert SPRT_02.first_decision([False] * 8) == (Decision.UNDECIDED, 8)
    decision, n = SPRT_02.first_decision([True] * 30)
    assert decision is Decision.PASS and n < 30


def test_one_combination_rule_for_claims_and_simulated_runs() -> None:
    f, p, u = Decision.FAIL, Decision.PASS, Decision.UNDECIDED
    assert combine([p, p]) is p and combine([p, u]) is u and combine([u, f]) is f
    codes = combine([np.array([f, p, p, u]), np.array([p, p, u, u])])
    assert codes.tolist() == [f, p, u, u]


def test_boundaries_are_walds() -> None:
    assert SPRT_02.upper == pytest.approx(np.log(0.9 / 0.05))
    assert SPRT_02.lower == pytest.approx(np.log(0.1 / 0.95))


def test_jeffreys_matches_statsmodels() -> None:
    for k, n in [(3, 10), (17, 40), (250, 400)]:
        low, high = jeffreys(k, n)
        ref = proportion_confint(k, n, alpha=0.05, method="jeffreys")
        assert (low, high) == pytest.approx(ref, abs=1e-9)
    assert jeffreys(0, 10)[0] == 0.0 and jeffreys(10, 10)[1] == 1.0


def test_clopper_pearson_covers_at_least_nominal() -> None:
    """Exact coverage over all outcomes, for a few n and p."""
    for n in (12, 40, 101):
        intervals = [clopper_pearson(k, n) for k in range(n + 1)]
        for p in (0.1, 0.3, 0.5, 0.73):
            coverage = sum(
                binom.pmf(k, n, p) for k, (lo, hi) in enumerate(intervals) if lo <= p <= hi
            )
            assert coverage >= 0.95 - 1e-12


def test_display_intervals_contain_the_estimate() -> None:
    for fn in (wilson, jeffreys, clopper_pearson):
        low, high = fn(7, 20)
        assert low < 0.35 < high


def test_newcombe_interval_covers_zero_when_equal_and_not_when_far() -> None:
    low, high = newcombe_interval(20, 40, 20, 40)
    assert low < 0 < high
    low, high = newcombe_interval(2, 40, 30, 40)
    assert high < 0


def test_fixed_n_size_matches_the_design_figure() -> None:
    """53 draws for 0.5 vs 0.3, alpha 0.05, beta 0.1."""
    n = fixed_n_size(0.5, 0.3, 0.05, 0.1)
    assert n == 53
    assert fixed_n_power(n, 0.5, 0.3, 0.05) >= 0.9
    assert fixed_n_power(n - 2, 0.5, 0.3, 0.05) < 0.9


def test_fixed_n_power_keeps_size_both_directions() -> None:
    for n in (20, 53, 100):
        assert fixed_n_power(n, 0.5, 0.5 - 1e-12, 0.05) <= 0.05 + 1e-9
        assert fixed_n_power(n, 0.5, 0.5 + 1e-12, 0.05) <= 0.05 + 1e-9
    assert fixed_n_power(60, 0.5, 0.7, 0.05) > 0.9


# -- pooled (paraphrase-level) pieces ---------------------------------------------------------


def test_look_schedule_doubles_to_the_cap() -> None:
    assert looks(400) == [16, 32, 64, 128, 256, 400]
    assert looks(16) == [16]
    assert looks(10) == [10]


def test_pooled_gates_move_paired_gates_to_differences() -> None:
    paired = pooled_gates(claims.not_lower("random", "word", margin=0.2), 0.05, 0.1)
    assert [(g.ok, round(g.bad, 9)) for g in paired] == [(0.0, -0.2)]
    assert paired[0].control is not None and paired[0].direction == -1.0
    higher = pooled_gates(claims.higher("random", "word", margin=0.1), 0.05, 0.1)
    assert [(round(g.ok, 9), g.bad) for g in higher] == [(0.1, 0.0)]
    equivalent = pooled_gates(
        claims.equivalent("treatment", "random", value=0.5, margin=0.2), 0.05, 0.1
    )
    assert sorted(g.bad for g in equivalent) == [pytest.approx(0.3), pytest.approx(0.7)]
    assert all(g.alpha == 0.025 for g in equivalent)


def test_spread_separates_equal_from_spread_paraphrases() -> None:
    n = np.full(5, 200)
    same, var_same = estimates(np.array([100, 101, 99, 100, 100]), n)
    spread_out, var_out = estimates(np.array([40, 160, 70, 130, 100]), n)
    assert spread(same, var_same).tau == pytest.approx(0.0, abs=1e-6)
    wide = spread(spread_out, var_out)
    assert wide.tau > 0.15 and wide.low == 0.2 and wide.high == 0.8


def test_standard_error_is_floored_at_the_binomial_one() -> None:
    """Identical paraphrase estimates cannot claim certainty they do not have."""
    gate = pooled_gates(claims.at_least("treatment", "random", value=0.5, margin=0.2), 0.05, 0.1)
    values, variances = estimates(np.array([8, 8, 8, 8, 8]), np.full(5, 16))
    t, se = t_statistics(values, variances, gate[0])
    assert float(se) == pytest.approx(np.sqrt((8.5 / 17) * (8.5 / 17) / 16 / 5))
    assert np.isfinite(t)


def test_pooled_needs_two_variants() -> None:
    from evals.test_zero_vs_random import ZERO_VS_RANDOM

    claim = claims.not_lower("random", "word", margin=0.2)
    with pytest.raises(HypothesisError, match="at least 2 variants"):
        behavior(ZERO_VS_RANDOM, claim, variants=["original"], pooled=True)
