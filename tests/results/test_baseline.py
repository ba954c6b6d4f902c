"""Baselines: write, compare, fail on regressions naming the rows, reject bad files, hold alpha.

The end-to-end tests are the scenarios of the issues: a baseline of
``sim/indifferent``, then the same model name reconfigured (as a provider
update would silently change a real model) to avoid the random string, or to
stop following the protocol (90% chatter: every test is only skipped as
NONCOMPLIANT, yet the run must fail), then the original configuration again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.results.baseline import Baseline, BaselineError, Row
from harness.results.regression import compare, holm, p_gap_moved, p_moved
from tests.conftest import evals_project

Run = Callable[..., tuple[int, str]]
ORIGINAL = ("-k", "original")  # the original prompts' tests: two claims sharing arms


@pytest.fixture
def run(pytester: pytest.Pytester) -> Run:
    """``pytest evals/`` on sim/indifferent in-process; one draw cache, one report dir per name."""
    evals_project(pytester.path)
    cache = pytester.path / "cache"

    def run(tmp_path: Path, name: str, *args: str) -> tuple[int, str]:
        result = pytester.runpytest_inprocess(
            "evals/",
            "-p",
            "no:cacheprovider",
            "--model",
            "sim/indifferent",
            "--cache-dir",
            str(cache),
            "--report-dir",
            str(tmp_path / name),
            *args,
        )
        return int(result.ret), "\n".join([*result.outlines, *result.errlines])

    return run


def _check(tmp_path: Path, name: str) -> dict[str, Any]:
    found = sorted((tmp_path / name).glob("*/baseline-check.json"))
    assert found, f"no baseline-check.json under {tmp_path / name}"
    data: dict[str, Any] = json.loads(found[-1].read_text())
    return data


def _page(tmp_path: Path, name: str) -> str:
    (found,) = sorted((tmp_path / name).glob("2*/index.html"))
    return found.read_text(encoding="utf-8")


def test_a_reconfigured_model_fails_on_the_baseline_and_the_original_passes(
    tmp_path: Path, run: Run
) -> None:
    path = tmp_path / "baseline.json"
    code, out = run(tmp_path, "r1", "--baseline", str(path), "--update-baseline", *ORIGINAL)
    assert code == 0, out
    text = path.read_text()
    stored = Baseline.read(path)
    assert len(stored.rows) == len(text.splitlines()) - 5  # one row per line, review-friendly
    assert [r.key for r in stored.rows] == sorted(r.key for r in stored.rows)
    assert {r.model for r in stored.rows} == {"sim/indifferent"}
    assert all(r.n == sum(r.counts.values()) and r.compliance == 1.0 for r in stored.rows)
    assert [r.arm for r in stored.rows if r.gap] == ["treatment"]  # the two-arm claim's gap
    assert f"wrote {len(stored.rows)} rows" in out

    avoid = ("--model-arg", "sim/indifferent:avoidance=0.6")
    code, out = run(tmp_path, "r2", "--baseline", str(path), *avoid, *ORIGINAL)
    assert code == 1, out
    assert "REGRESSED" in out
    assert "sim/indifferent treatment: 'random' share fell" in out
    check = _check(tmp_path, "r2")
    assert check["regressions"]
    assert all(m["kind"] == "share" and m["category"] == "random" for m in check["regressions"])
    assert all(m["row"].endswith("sim/indifferent treatment") for m in check["regressions"])
    assert all(m["direction"] == "down" and m["tests"] for m in check["regressions"])
    assert Baseline.read(path).dumps() == text  # checking never rewrites the baseline

    code, out = run(tmp_path, "r3", "--baseline", str(path), *ORIGINAL)
    assert code == 0, out
    assert "no regression beyond the margin" in out
    assert _check(tmp_path, "r3")["regressions"] == []


def test_a_model_that_stops_following_the_protocol_is_a_regression(
    tmp_path: Path, run: Run
) -> None:
    """Heavy chatter: every test is skipped NONCOMPLIANT, and the baseline fails the run."""
    path = tmp_path / "baseline.json"
    code, out = run(tmp_path, "r1", "--baseline", str(path), "--update-baseline", *ORIGINAL)
    assert code == 0, out
    chatter = ("--model-arg", "sim/indifferent:chatter=0.9", "-rs")
    code, out = run(tmp_path, "r2", "--baseline", str(path), *chatter, *ORIGINAL)
    assert code == 1, out
    assert "2 skipped" in out and "passed" not in out.splitlines()[-1]
    assert "REGRESSED" in out
    for arm in ("control", "treatment"):
        assert f"sim/indifferent {arm}: compliance (on-protocol share of all replies) fell" in out
    assert "the model follows the protocol less often" in out
    # the skip reason names the test, not a line of the plugin
    skipped = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 2 and all("harness/" not in line for line in skipped)
    assert all("evals/test_zero_vs_random.py:" in line for line in skipped)
    assert any(
        "test_no_avoidance_of_random_strings[original-sim/indifferent]" in s for s in skipped
    )
    # on the page: the baseline section, marked failed, naming the rows and the test used
    page = _page(tmp_path, "r2")
    assert 'id="baseline" class="failed"' in page
    assert 'id="regressions"' in page
    assert "zero-vs-random-letters[original] sim/indifferent treatment" in page
    assert "one-sided score test of two independent shares" in page
    kinds = {m["kind"] for m in _check(tmp_path, "r2")["regressions"]}
    assert "compliance" in kinds


def test_a_regression_alone_makes_the_exit_code_1_and_new_or_gone_rows_only_list(
    tmp_path: Path, run: Run
) -> None:
    path = tmp_path / "baseline.json"
    only = ("-k", "original and not paraphrases")  # two tests sharing one variant's arms
    code, out = run(tmp_path, "r1", "--baseline", str(path), "--update-baseline", *only)
    assert code == 0, out
    (treatment,) = [r for r in Baseline.read(path).rows if r.arm == "treatment"]
    # the control row is left out below: it becomes a new row
    n = treatment.n
    # a baseline in which the treatment gave the random string 95% of the time
    raised = treatment.model_copy(update={"counts": {"random": n - n // 20, "plain": n // 20}})
    gone = Row(
        hypothesis="retired-hypothesis",
        variant="v",
        model="m",
        arm="control",
        n=10,
        counts={"x": 10},
    )
    path.write_text(Baseline(rows=[raised, gone]).dumps())

    code, out = run(tmp_path, "r2", "--baseline", str(path), *only)
    assert code == 1, out
    assert "2 passed" in out and "failed" not in out.splitlines()[-1]  # the tests passed
    assert "REGRESSED (1)" in out
    assert "'random' share fell 0.9" in out
    assert "new rows, not in the baseline (1, not failed)" in out  # the control arm
    assert "retired-hypothesis[v] m control" in out


def test_missing_baseline_is_a_usage_error(tmp_path: Path, run: Run) -> None:
    code, out = run(tmp_path, "r", "--baseline", str(tmp_path / "none.json"))
    assert code == 4, out
    assert "write it with --update-baseline" in out


# -- bad baseline files ------------------------------------------------------------------------

GOOD_ROW = {
    "hypothesis": "h",
    "variant": "v",
    "model": "m",
    "arm": "treatment",
    "n": 10,
    "counts": {"random": 4, "plain": 5, "other": 1},
    "watch": {"random": "down"},
}
BAD_FILES: list[tuple[str, Any, str]] = [
    ("old format", {"format": 1, "rows": []}, "format: 1 is not read by this harness"),
    ("no format", {"rows": []}, "format: missing"),
    (
        "n zero",
        {"format": 2, "rows": [{**GOOD_ROW, "n": 0, "counts": {}}]},
        "rows[0] (h[v] m treatment).n: Input should be greater than or equal to 1",
    ),
    (
        "negative count",
        {"format": 2, "rows": [{**GOOD_ROW, "counts": {"random": -1, "plain": 11}}]},
        "rows[0] (h[v] m treatment).counts.random: Input should be greater than or equal to 0",
    ),
    (
        "counts not adding up",
        {"format": 2, "rows": [{**GOOD_ROW, "n": 12}]},
        "rows[0] (h[v] m treatment): the counts add up to 10, not n=12",
    ),
    (
        "unknown key",
        {"format": 2, "rows": [{**GOOD_ROW, "share": 0.4}]},
        "rows[0] (h[v] m treatment).share: Extra inputs are not permitted",
    ),
    (
        "bad watch",
        {"format": 2, "rows": [{**GOOD_ROW, "watch": {"random": "sideways"}}]},
        "rows[0] (h[v] m treatment).watch.random: Input should be 'down', 'up' or 'both'",
    ),
    (
        "duplicate row",
        {"format": 2, "rows": [GOOD_ROW, GOOD_ROW]},
        "row 'h[v] m treatment' appears twice",
    ),
    ("not JSON", "{format: 2", "not JSON: Expecting property name"),
    ("a list", [], "format: missing"),
]


@pytest.mark.parametrize(("case", "content", "line"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_a_bad_baseline_file_is_rejected_naming_the_file_and_field(
    tmp_path: Path, case: str, content: Any, line: str
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(BaselineError) as err:
        Baseline.read(path)
    message = str(err.value)
    assert message.startswith(f"baseline {path}: "), message
    assert line in message, message
    assert "\n" not in message


def test_a_good_file_reads_and_a_bad_one_stops_the_run_with_exit_4(
    tmp_path: Path, run: Run
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"format": 2, "rows": [GOOD_ROW]}))
    assert Baseline.read(path).rows[0].compliance == 0.9
    path.write_text(json.dumps({"format": 2, "rows": [{**GOOD_ROW, "n": 0, "counts": {}}]}))
    code, out = run(tmp_path, "r", "--baseline", str(path), *ORIGINAL)
    assert code == 4, out
    assert f"baseline {path}: rows[0] (h[v] m treatment).n:" in out
    assert "Traceback" not in out


# -- the comparison's statistics (seeded simulation) -----------------------------------------


def _row(k: int, n: int, i: int, watch: str = "down", off: int = 0, arm: str = "treatment") -> Row:
    return Row(
        hypothesis="h",
        variant=f"v{i}",
        model="m",
        arm=arm,  # type: ignore[arg-type]
        n=n + off,
        counts={"random": k, "plain": n - k, "other": off},
        watch={"random": watch},  # type: ignore[dict-item]
    )


def _flag_rate(
    p_old: float, p_new: float, margin: float, sims: int, rows: int = 8, seed: int = 7
) -> float:
    rng = np.random.default_rng(seed)
    flagged = 0
    for _ in range(sims):
        n_old = rng.integers(20, 300, size=rows)
        n_new = rng.integers(20, 300, size=rows)
        old = [_row(int(rng.binomial(n, p_old)), int(n), i) for i, n in enumerate(n_old)]
        new = [_row(int(rng.binomial(n, p_new)), int(n), i) for i, n in enumerate(n_new)]
        check = compare(Baseline(rows=old), Baseline(rows=new), [], margin=margin, alpha=0.05)
        flagged += check.failed
    return flagged / sims


def test_family_wise_false_flag_rate_is_at_most_alpha() -> None:
    sims = 600
    limit = 0.05 + 3 * (0.05 * 0.95 / sims) ** 0.5
    assert _flag_rate(0.5, 0.5, margin=0.0, sims=sims) <= limit  # no move at all
    assert _flag_rate(0.5, 0.45, margin=0.05, sims=sims) <= limit  # a move of exactly the margin


def test_a_move_of_point_two_is_found_and_the_margin_tolerates_small_ones() -> None:
    assert _flag_rate(0.5, 0.3, margin=0.0, sims=100) >= 0.9
    assert _flag_rate(0.5, 0.48, margin=0.1, sims=100) == 0.0


def test_holm_matches_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    for _ in range(8):  # statsmodels' Holm runs gc.collect() on every call
        p = list(rng.uniform(0, 0.2, size=int(rng.integers(1, 12))))
        adjusted, reject = holm(p, 0.05)
        want_reject, want, _, _ = multipletests(p, alpha=0.05, method="holm")
        assert np.allclose(adjusted, want) and list(want_reject) == reject


def test_p_moved_is_one_sided() -> None:
    assert p_moved(50, 100, 30, 100, 0.0, "down") < 0.01
    assert p_moved(50, 100, 30, 100, 0.0, "up") > 0.99
    assert p_moved(0, 0, 3, 10, 0.0, "down") == 1.0
    assert p_moved(50, 100, 30, 100, 0.25, "down") > 0.5  # moved 0.2: not beyond 0.25


@pytest.mark.parametrize("watch", ["up", "both"])
def test_allowed_direction_moves_are_reported_not_failed(watch: str) -> None:
    old = Baseline(rows=[_row(50, 200, 0, "up" if watch == "up" else "both")])
    new = Baseline(rows=[_row(10, 200, 0, "up" if watch == "up" else "both")])
    check = compare(old, new, [], margin=0.0, alpha=0.05)
    if watch == "up":  # the share fell, and only a rise is forbidden
        assert not check.failed and len(check.improvements) == 1
    else:
        assert check.failed and not check.improvements


def test_compliance_falling_fails_and_rising_is_only_reported() -> None:
    compliant = Baseline(rows=[_row(12, 24, 0)])
    chatty = Baseline(rows=[_row(1, 2, 0, off=22)])  # 2 of 24 replies on-protocol
    check = compare(compliant, chatty, [], margin=0.0, alpha=0.05)
    assert [m.kind for m in check.regressions] == ["compliance"]
    (m,) = check.regressions
    assert (m.old_share, m.new_share, m.old_n, m.new_n) == (1.0, 2 / 24, 24, 24)
    assert "compliance (on-protocol share of all replies) fell 1.00 (n=24)" in m.describe()
    back = compare(chatty, compliant, [], margin=0.0, alpha=0.05)
    assert not back.failed and [m.kind for m in back.improvements] == ["compliance"]


def _pair(off_t: int, off_c: int, n: int = 100) -> list[Row]:
    treatment = _row(n // 2, n - off_t, 0, off=off_t).model_copy(update={"gap": True})
    control = _row(n // 2, n - off_c, 0, off=off_c, arm="control")
    return [treatment, control]


def test_the_off_protocol_gap_rising_fails_even_when_each_arm_stays_compliant() -> None:
    old = Baseline(rows=_pair(off_t=5, off_c=5))
    new = Baseline(rows=_pair(off_t=40, off_c=5))  # the treatment alone started refusing
    check = compare(old, new, [], margin=0.0, alpha=0.05)
    gap = [m for m in check.regressions if m.kind == "gap"]
    assert gap and gap[0].row.endswith("treatment - control")
    assert gap[0].method.startswith("one-sided z test")
    assert "off-protocol gap over the other arm rose +0.00" in gap[0].describe()
    same = compare(old, Baseline(rows=_pair(off_t=6, off_c=6)), [], margin=0.0, alpha=0.05)
    assert not same.failed


def test_p_gap_moved_holds_its_level_and_finds_a_real_rise() -> None:
    rng = np.random.default_rng(11)
    sims, flagged, found = 2000, 0, 0
    for _ in range(sims):
        n1, n2, n3, n4 = (int(x) for x in rng.integers(20, 200, size=4))
        old = (int(rng.binomial(n1, 0.1)), n1, int(rng.binomial(n2, 0.1)), n2)
        new = (int(rng.binomial(n3, 0.1)), n3, int(rng.binomial(n4, 0.1)), n4)
        flagged += p_gap_moved(old, new, 0.0, "up") < 0.05
        moved = (int(rng.binomial(n3, 0.4)), n3, new[2], n4)
        found += p_gap_moved(old, moved, 0.0, "up") < 0.05
    assert flagged / sims <= 0.05 + 3 * (0.05 * 0.95 / sims) ** 0.5
    assert found / sims >= 0.8
