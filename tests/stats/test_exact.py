"""Exact mode's tests (``harness.stats.exact``): the mapping, exact decisions, error rates."""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats.decision import Decision
from harness.stats.design import design
from harness.stats.exact import ArmSplit, exact_design, gate_pair, gate_range
from harness.stats.exact_walk import Sample, walk
from harness.stats.gates import OFF, Gate
from harness.stats.sequential import GateTests

NONCOMPLIANT = 4  # any code distinct from the Decision values
SHARE = Gate(kind="share", arm="treatment", category=1, allowed=0.4, forbidden=0.25, label="s")
DIFF = Gate(
    kind="difference",
    arm="treatment",
    category=1,
    control_arm="control",
    control_category=1,
    allowed=0.0,
    forbidden=-0.2,
    label="d",
)
GAP = Gate(kind="off_protocol", arm="treatment", control_arm="control", allowed=0.0, forbidden=0.2)


def _split(rng: np.random.Generator, labels: int = 3) -> tuple[ArmSplit, np.ndarray]:
    """A random arm: fixed masses, remainder, and a non-fixed label distribution."""
    raw = rng.dirichlet(np.ones(labels + 1))
    fixed, remainder = raw[:labels] * 0.999, raw[labels] + raw[:labels].sum() * 0.001
    q = rng.dirichlet(np.ones(labels))
    return ArmSplit(tuple(fixed), float(remainder)), q


def _mean(gate: Gate, arms: dict[str, ArmSplit], q: dict[str, np.ndarray]) -> float:
    low, high = gate_range(gate, arms, q)  # type: ignore[arg-type]
    assert low == pytest.approx(high)
    return low


@pytest.mark.parametrize("gate", [SHARE, DIFF, GAP])
def test_the_observation_mean_has_the_sign_of_the_gate_mean_minus_the_edge(gate: Gate) -> None:
    """E[g] over the non-fixed draws is positive exactly when the gate's mean exceeds the edge,
    for every split and every non-fixed distribution."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        t, qt = _split(rng)
        c, qc = _split(rng)
        arms = {"treatment": t, "control": c}
        mean = _mean(gate, arms, {"treatment": qt, "control": qc})
        edge = float(rng.uniform(-0.5, 0.8))
        tests = GateTests(allowed=edge, forbidden=edge - 0.1, alpha=0.05, beta=0.1)
        fail, _ = gate_pair(gate.model_copy(update={"allowed": edge}), tests, arms)
        table = fail.table
        expected = qt @ table if table.ndim == 1 else qt @ table @ qc
        assert np.sign(expected) == np.sign(mean - edge) or abs(mean - edge) < 1e-12


def test_fixed_strings_alone_decide_with_no_sampling_error() -> None:
    """An arm whose replies are all fixed strings has exact shares: PASS unless the value lies
    in the forbidden region (the indifference zone passes too)."""
    # allowed 0.4 or more, forbidden 0.25 or less; 0.3 is in the indifference zone
    cases = {0.5: Decision.PASS, 0.3: Decision.PASS, 0.2: Decision.FAIL}
    for share, expected in cases.items():
        arm = ArmSplit((1 - share, share, 0.0, 0.0), 0.0)
        d = design([SHARE], ["treatment"], 0.05, 0.1, 0.5)
        x = exact_design(d.gates, d.tests, d.compliance, {"treatment": arm})
        walked = walk(x, {}, NONCOMPLIANT)
        assert walked.code == expected, share
        assert walked.at_draw == 0
        assert walked.gates[0].exact


def test_a_small_remainder_still_decides_exactly_when_its_range_allows() -> None:
    """1% of replies not fixed strings: the share can move at most ~0.01, which cannot reach
    the forbidden region from 0.5: decided before any draw."""
    arm = ArmSplit((0.49, 0.5, 0.0, 0.0), 0.01)
    d = design([SHARE], ["treatment"], 0.05, 0.1, 0.5)
    x = exact_design(d.gates, d.tests, d.compliance, {"treatment": _unsampled(arm)})
    walked = walk(x, {}, NONCOMPLIANT)
    assert walked.code == Decision.PASS and walked.at_draw == 0


def _unsampled(arm: ArmSplit) -> ArmSplit:
    return ArmSplit(arm.fixed, arm.remainder, arm.slack, sampled=False)


def _draws(rng: np.random.Generator, q: np.ndarray, n: int) -> Sample:
    labels = rng.choice(len(q), size=n, p=q)
    codes = np.where(labels == len(q) - 1, OFF, labels)
    return Sample(codes=codes.astype(np.int_), at=np.arange(1, n + 1))


def _rate(
    gate: Gate, arms: dict[str, ArmSplit], q: dict[str, np.ndarray], runs: int, verdict: Decision
) -> float:
    rng = np.random.default_rng(7)
    d = design([gate], list(arms), 0.05, 0.1, 0.0)
    x = exact_design(d.gates, d.tests, d.compliance, arms)
    hits = 0
    for _ in range(runs):
        samples = {a: _draws(rng, q[a], 400) for a in arms if arms[a].sampled}
        hits += walk(x, samples, NONCOMPLIANT).code == verdict
    return hits / runs


def test_mixed_share_gate_keeps_its_error_rates() -> None:
    """Half the mass exact, half sampled: at the allowed edge FAIL stays under alpha (0.0375
    for the one test here), at the forbidden edge PASS under beta (0.1)."""
    # treatment labels: plain, random, digit, off. fixed: plain 0.5; remainder 0.5.
    # share(random) = 0.5 q_r / (0.5 + 0.5 q_on)
    arm = ArmSplit((0.5, 0.0, 0.0, 0.0), 0.5)
    # allowed edge 0.4: 0.5 q / (0.5 + 0.5 q) = 0.4  <=>  q = 2/3 (all non-fixed replies random
    # or off-protocol); forbidden edge 0.25  <=>  q = 1/3
    at_allowed = {"treatment": np.array([0.0, 2 / 3, 0.0, 1 / 3])}
    at_forbidden = {"treatment": np.array([0.0, 1 / 3, 0.0, 2 / 3])}
    arms = {"treatment": arm}
    assert _mean(SHARE, arms, at_allowed) == pytest.approx(0.4)
    assert _mean(SHARE, arms, at_forbidden) == pytest.approx(0.25)
    assert _rate(SHARE, arms, at_allowed, 400, Decision.FAIL) <= 0.0375 + 0.03
    assert _rate(SHARE, arms, at_forbidden, 400, Decision.PASS) <= 0.1 + 0.045


def test_mixed_difference_gate_keeps_its_error_rates() -> None:
    """Both arms partly sampled, paired by rank: the product observation keeps the rates."""
    control = ArmSplit((0.3, 0.2, 0.0, 0.0), 0.5)  # plain, word, digit, off
    treatment = ArmSplit((0.3, 0.0, 0.0, 0.0), 0.7)
    arms = {"treatment": treatment, "control": control}
    # control word share (0.2 + 0.5*0.6)/(0.5 + 0.5) = 0.5
    qc = np.array([0.4, 0.6, 0.0, 0.0])
    # treatment random share 0.7 r / (0.3 + 0.7 r) = 0.5 (difference 0) <=> r = 3/7
    allowed = {"control": qc, "treatment": np.array([0.0, 3 / 7, 0.0, 4 / 7])}
    # = 0.3 (difference -0.2) <=> 0.7 r = 0.3 (0.3 + 0.7 r) <=> r = 0.09/0.49
    r = 0.09 / 0.49
    forbidden = {"control": qc, "treatment": np.array([0.0, r, 0.0, 1 - r])}
    assert _mean(DIFF, arms, allowed) == pytest.approx(0.0, abs=1e-12)
    assert _mean(DIFF, arms, forbidden) == pytest.approx(-0.2)
    assert _rate(DIFF, arms, allowed, 300, Decision.FAIL) <= 0.0375 + 0.035
    assert _rate(DIFF, arms, forbidden, 300, Decision.PASS) <= 0.1 + 0.05


def test_an_unsampled_arm_enters_at_its_worst_case() -> None:
    """The control is left unsampled with 1% unknown: the treatment's share must clear the
    control's whole range, so the gate passes only when it does."""
    control = ArmSplit((0.5, 0.49, 0.0, 0.0), 0.01, sampled=False)
    treatment = ArmSplit((0.5, 0.5, 0.0, 0.0), 0.0)
    arms = {"treatment": treatment, "control": control}
    low, high = gate_range(DIFF, arms, {"treatment": None, "control": None})
    assert low < 0.0 < high or low == pytest.approx(0.5 - 0.5) or low <= 0.0
    d = design([DIFF], list(arms), 0.05, 0.1, 0.0)
    x = exact_design(d.gates, d.tests, d.compliance, arms)
    walked = walk(x, {}, NONCOMPLIANT)
    # range of the difference is about [-0.005, +0.005]: never forbidden (-0.2): PASS, exactly
    assert walked.code == Decision.PASS and walked.at_draw == 0


def test_slack_moves_the_bound_against_rejection() -> None:
    """A bound on mass left unexplored can only make a test more conservative."""
    tight = ArmSplit((0.5, 0.26, 0.0, 0.0), 0.24)
    loose = ArmSplit((0.5, 0.26, 0.0, 0.0), 0.24, slack=0.01)
    tests = GateTests(allowed=0.4, forbidden=0.25, alpha=0.05, beta=0.1)
    a = gate_pair(SHARE, tests, {"treatment": tight})
    b = gate_pair(SHARE, tests, {"treatment": loose})
    assert a[0].betting is not None and b[0].betting is not None
    assert b[0].bound < a[0].bound  # FAIL (side below) must show the mean further below
    assert b[1].bound > a[1].bound  # PASS (side above) must show it further above


def test_noncompliance_from_the_exact_part() -> None:
    """Fixed strings 10%, and the rest can add at most 30%: shown off-protocol at once."""
    arm = ArmSplit((0.05, 0.05, 0.0, 0.6), 0.3)
    d = design([SHARE], ["treatment"], 0.05, 0.1, 0.5)
    x = exact_design(d.gates, d.tests, d.compliance, {"treatment": _unsampled(arm)})
    walked = walk(x, {}, NONCOMPLIANT)
    assert walked.code == NONCOMPLIANT and walked.at_draw == 0
