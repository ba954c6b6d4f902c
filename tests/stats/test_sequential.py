"""The betting tests: valid at every state of their null region, under optional stopping."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats.design import design
from harness.stats.gates import ERROR, OFF, Gate, observations, pooled_observations
from harness.stats.intervals import clopper_pearson
from harness.stats.sequential import FAIL, PASS, UNDECIDED, BettingTest, GateTests, walk_gate
from harness.stats.simulate import ArmState, SeedState, draw_codes
from harness.stats.walk import NONCOMPLIANT, walk_claim

RUNS = 2000


def _upper(k: int, n: int) -> float:
    return clopper_pearson(k, n, 0.95)[1]


@pytest.mark.parametrize("p", [0.5, 0.6, 0.8])
def test_binary_test_holds_its_level_at_and_inside_the_null(p: float) -> None:
    """Null 'mean >= 0.5', checked after every draw for 600 draws: rejections <= level."""
    rng = np.random.default_rng(1)
    test = BettingTest(bound=0.5, side="below", target=0.3, level=0.05)
    crossed, _, _ = test.first_crossing((rng.random((RUNS, 600)) < p).astype(float))
    assert _upper(int(crossed.sum()), RUNS) <= 0.05 * 1.5


@pytest.mark.parametrize(("p_c", "d"), [(0.1, 0.0), (0.5, 0.0), (0.9, 0.0), (0.4, 0.15)])
def test_difference_test_holds_its_level_at_any_control_share(p_c: float, d: float) -> None:
    """Null "difference >= 0" (rejected when shown below), whatever the control share."""
    rng = np.random.default_rng(2)
    t = (rng.random((RUNS, 600)) < p_c + d).astype(float)
    c = (rng.random((RUNS, 600)) < p_c).astype(float)
    test = BettingTest(
        bound=0.0, side="below", target=-0.2, level=0.05, lo=-1, hi=1, binary=False,
        second_moment=0.5,
    )  # fmt: skip
    crossed, _, _ = test.first_crossing(t - c)
    assert _upper(int(crossed.sum()), RUNS) <= 0.05 * 1.5


def test_binary_stakes_make_the_likelihood_ratio() -> None:
    """For 0/1 data the Kelly stake turns the wealth into Wald's likelihood ratio."""
    test = BettingTest(bound=0.5, side="below", target=0.3, level=0.05)
    x = np.array([[0, 0, 1, 0]], dtype=float)
    expected = 3 * np.log(0.7 / 0.5) + np.log(0.3 / 0.5)
    assert test.log_wealth(x)[0, -1] == pytest.approx(expected)


def test_first_crossing_reports_the_observation_and_respects_lengths() -> None:
    test = BettingTest(bound=0.5, side="below", target=0.3, level=0.05)
    x = np.zeros((2, 20))
    crossed, used, _ = test.first_crossing(x, np.array([20, 3]))
    assert crossed.tolist() == [True, False]
    assert used[1] == 3
    assert 1 < used[0] < 20


def test_gate_decides_by_its_first_test_to_cross() -> None:
    gate = GateTests(allowed=0.5, forbidden=0.3, alpha=0.05, beta=0.1)
    code, used, _, _ = walk_gate(gate, np.vstack([np.zeros(60), np.ones(60), np.full(60, 0.4)]))
    assert code.tolist()[:2] == [FAIL, PASS]
    assert code[2] in (FAIL, PASS, UNDECIDED)
    assert used[0] < 20 and used[1] < 20


def test_pairs_are_kth_on_protocol_draw_of_each_arm() -> None:
    gate = Gate(
        kind="difference", arm="t", category=1, control_arm="c", control_category=1,
        allowed=0.0, forbidden=-0.2,
    )  # fmt: skip
    codes = {
        "t": np.array([[OFF, 1, 0, 1, ERROR]]),
        "c": np.array([[1, 1, OFF, 0, 0]]),
    }
    x, at, count = observations(gate, codes)
    assert count.tolist() == [3]
    assert x[0, :3].tolist() == [0.0, -1.0, 1.0]  # (1,1), (0,1), (1,0)
    assert at[0, :3].tolist() == [2, 3, 4]  # the draw at which each pair is complete


def test_off_protocol_gap_counts_every_valid_draw() -> None:
    gate = Gate(kind="off_protocol", arm="t", control_arm="c", allowed=0.0, forbidden=0.2)
    codes = {"t": np.array([[OFF, 1, ERROR, OFF]]), "c": np.array([[0, 1, 1, 1]])}
    x, _, count = observations(gate, codes)
    assert count.tolist() == [3]
    assert x[0, :3].tolist() == [1.0, 0.0, 1.0]


def test_pooled_rounds_average_one_observation_per_paraphrase() -> None:
    gate = Gate(kind="share", arm="t", category=0, allowed=0.5, forbidden=0.3)
    a = {"t": np.array([[0, 0, 1]])}
    b = {"t": np.array([[1, 0, 1]])}
    x, at, count = pooled_observations(gate, [a, b])
    assert count.tolist() == [3]
    assert x[0].tolist() == [0.5, 1.0, 0.0]
    assert at[0].tolist() == [1, 2, 3]


def test_claim_is_noncompliant_only_when_every_arm_is_shown_off_protocol() -> None:
    gates = [
        Gate(kind="difference", arm="treatment", category=1, control_arm="control",
             control_category=1, allowed=0.0, forbidden=-0.2),
        Gate(kind="off_protocol", arm="treatment", control_arm="control", allowed=0.0,
             forbidden=0.2),
    ]  # fmt: skip
    d = design(gates, ["control", "treatment"], 0.05, 0.1, 0.5)
    rng = np.random.default_rng(3)
    both = SeedState(chatter_c=0.9, chatter_t=0.9)
    one = SeedState(chatter_t=0.9)
    for state, expected in ((both, NONCOMPLIANT), (one, FAIL)):
        codes = {
            "control": draw_codes(state.control(), 200, 400, rng),
            "treatment": draw_codes(state.treatment(), 200, 400, rng),
        }
        walked = walk_claim(d.gates, d.tests, codes, d.compliance)
        assert np.mean(walked.code == expected) > 0.95


def test_design_splits_three_quarters_of_alpha_over_failing_tests() -> None:
    gate = Gate(kind="share", arm="t", category=0, allowed=0.5, forbidden=0.3)
    d = design([gate, gate], ["t"], 0.06, 0.1, 0.5)
    assert d.test_alpha == pytest.approx(0.06 * 0.75 / 3)
    assert d.inconclusive_budget == pytest.approx(0.015)
    assert set(d.compliance) == {"t"}
    assert design([gate], ["t"], 0.06, 0.1, 0.0).compliance == {}


def test_arm_state_rejects_shares_over_one() -> None:
    with pytest.raises(ValueError, match="sum to at most 1"):
        ArmState(shares=(0.7, 0.5))
