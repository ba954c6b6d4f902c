"""Baselines: write, compare, fail on regressions naming the rows, and hold alpha.

The end-to-end test is the scenario of the issue: a baseline of
``sim/indifferent``, then the same model name reconfigured (as a provider
update would silently change a real model) to give the random string with
share 0.3 in the treatment, then the original configuration again.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.results.baseline import Baseline, Row, compare, p_moved
from tests.conftest import evals_project

Run = Callable[..., tuple[int, str]]


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


def test_a_reconfigured_model_fails_on_the_baseline_and_the_original_passes(
    tmp_path: Path, run: Run
) -> None:
    path = tmp_path / "baseline.json"
    code, out = run(tmp_path, "r1", "--baseline", str(path), "--update-baseline")
    assert code == 0, out
    text = path.read_text()
    stored = Baseline.read(path)
    assert len(stored.rows) == len(text.splitlines()) - 5  # one row per line, review-friendly
    assert [r.key for r in stored.rows] == sorted(r.key for r in stored.rows)
    assert {r.model for r in stored.rows} == {"sim/indifferent"}
    assert f"wrote {len(stored.rows)} rows" in out

    avoid = ("--model-arg", "sim/indifferent:avoidance=0.4")
    code, out = run(tmp_path, "r2", "--baseline", str(path), *avoid)
    assert code == 1, out
    assert "REGRESSED" in out
    assert "sim/indifferent treatment: 'random' share fell" in out
    check = _check(tmp_path, "r2")
    rows = {m["row"] for m in check["regressions"]}
    assert rows and all(r.endswith("sim/indifferent treatment") for r in rows)
    assert all(m["category"] == "random" and m["direction"] == "down" for m in check["regressions"])
    assert all(m["tests"] for m in check["regressions"])
    assert Baseline.read(path).dumps() == text  # checking never rewrites the baseline

    code, out = run(tmp_path, "r3", "--baseline", str(path))
    assert code == 0, out
    assert "no regression beyond the margin" in out
    assert _check(tmp_path, "r3")["regressions"] == []


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
        hypothesis="retired-hypothesis", variant="v", model="m", arm="control", n=10, counts={}
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


# -- the comparison's statistics (seeded simulation) -----------------------------------------


def _row(k: int, n: int, i: int, watch: str = "down") -> Row:
    return Row(
        hypothesis="h",
        variant=f"v{i}",
        model="m",
        arm="treatment",
        n=n,
        counts={"random": k, "plain": n - k},
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


@pytest.fixture
def frozen_heap() -> Iterator[None]:
    """statsmodels' Holm calls gc.collect(); keep the test process's heap out of its way."""
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("frozen_heap")
def test_family_wise_false_flag_rate_is_at_most_alpha() -> None:
    sims = 1000
    limit = 0.05 + 3 * (0.05 * 0.95 / sims) ** 0.5
    assert _flag_rate(0.5, 0.5, margin=0.0, sims=sims) <= limit  # no move at all
    assert _flag_rate(0.5, 0.45, margin=0.05, sims=sims) <= limit  # a move of exactly the margin


@pytest.mark.usefixtures("frozen_heap")
def test_a_move_of_point_two_is_found_and_the_margin_tolerates_small_ones() -> None:
    assert _flag_rate(0.5, 0.3, margin=0.0, sims=100) >= 0.9
    assert _flag_rate(0.5, 0.48, margin=0.1, sims=100) == 0.0


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
