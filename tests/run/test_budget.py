"""Call and cost budgets: a reached budget ends tests INCONCLUSIVE, never a crash.

Calls are counted at a real OpenAI-compatible server on 127.0.0.1; costs come
from the providers' token usage and a price table set in a project's
``[tool.harness]`` (which also checks that the table is read and that the
command line wins over it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.results.costs import CostReport, PriceTable, cost_label
from harness.results.records import Usage
from harness.run.budget import Budget, share
from tests.conftest import ROOT
from tests.openai_server import OpenAIServer

LOOP = "openai-api/loop/indifferent"
#: The seed hypotheses only: every one of them needs more than ten calls to decide.
SEED_EVALS = "evals/test_zero_vs_random.py"


def _pytest(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout + proc.stderr


def _outcomes(report_dir: Path) -> list[dict[str, Any]]:
    return _results(report_dir)["outcomes"]  # type: ignore[no-any-return]


def _results(report_dir: Path) -> dict[str, Any]:
    found = sorted(p for p in report_dir.glob("*/results.json") if "latest" not in p.parts)
    assert found, f"no results under {report_dir}"
    data: dict[str, Any] = json.loads(found[-1].read_text())
    return data


@pytest.mark.subprocess
def test_max_calls_ends_inconclusive_with_the_reason(tmp_path: Path) -> None:
    with OpenAIServer() as server:
        code, out = _pytest(
            [
                SEED_EVALS,
                "--model",
                LOOP,
                "--no-cache",
                "--max-calls",
                "10",
                "--report-dir",
                str(tmp_path),
            ],
            ROOT,
            server.env("loop"),
        )
        assert server.requests == 10  # never one call more than allowed
    assert code == 1, out  # INCONCLUSIVE fails by default (docs/ci.md: exit code 1)
    assert "Traceback" not in out
    assert "stopped early: --max-calls 10 reached after 10 calls" in out
    outcomes = _outcomes(tmp_path)
    assert len(outcomes) > 2 and f"{len(outcomes)} failed in" in out
    assert {o["verdict"] for o in outcomes} == {"INCONCLUSIVE"}
    assert all(o["reason"].startswith("stopped early: --max-calls 10") for o in outcomes)


@pytest.mark.subprocess
def test_max_calls_with_inconclusive_skip_exits_zero(tmp_path: Path) -> None:
    code, out = _pytest(
        [
            *(SEED_EVALS, "--model", "sim/indifferent", "--no-cache", "--max-calls", "10"),
            *("--inconclusive", "skip", "-rs", "--report-dir", str(tmp_path)),
        ],
        ROOT,
    )
    assert code == 0, out
    assert f"{len(_outcomes(tmp_path))} skipped in" in out
    assert "--max-calls 10 reached" in out
    assert "calls 10," in out


@pytest.mark.subprocess
def test_max_calls_is_split_between_models_under_xdist(tmp_path: Path) -> None:
    """Each model's tests run on one worker, so each model gets its share of the budget."""
    with OpenAIServer() as server:
        code, out = _pytest(
            [
                *(SEED_EVALS, "--model", LOOP, "--no-cache", "--max-calls", "10", "-n", "2"),
                *("--report-dir", str(tmp_path)),
            ],
            ROOT,
            server.env("loop"),
        )
        assert server.requests == 10  # one model: its worker has the whole budget
    assert code == 1, out
    assert "Traceback" not in out
    reasons = {o["reason"] for o in _outcomes(tmp_path)}
    assert reasons == {"stopped early: --max-calls 10 reached after 10 calls"}, reasons

    two = tmp_path / "two"
    code, out = _pytest(
        [
            *(SEED_EVALS, "--model", "sim/indifferent", "--model", "sim/avoidant", "--no-cache"),
            *("--max-calls", "11", "-n", "2", "--report-dir", str(two)),
        ],
        ROOT,
        {},
    )
    assert code == 1 and "Traceback" not in out, out
    reasons = {o["model"]: o["reason"] for o in _outcomes(two) if "stopped early" in o["reason"]}
    assert (
        "sim/indifferent's share of --max-calls 11 (split over 2 models)"
        in reasons["sim/indifferent"]
    )
    assert "reached after 6 calls" in reasons["sim/indifferent"]  # 11 = 6 + 5


def _project(tmp_path: Path, harness_table: str) -> Path:
    """A user project: the seed hypothesis, the plugin, and a [tool.harness] table."""
    project = tmp_path / "project"
    (project / "evals").mkdir(parents=True)
    shutil.copy(ROOT / "evals" / "test_zero_vs_random.py", project / "evals")
    (project / "conftest.py").write_text('pytest_plugins = ["harness.plugin"]\n')
    (project / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\ntestpaths = ['evals']\n\n" + harness_table
    )
    return project


@pytest.mark.subprocess
def test_max_cost_from_config_and_command_line(tmp_path: Path) -> None:
    # sim prompts are about 48 tokens: at $1000 per 1M input tokens a call costs ~$0.05
    project = _project(
        tmp_path,
        "[tool.harness]\nmodels = ['sim/indifferent']\nmax_cost = 0.5\ncache = false\n"
        "[tool.harness.prices]\n'sim/*' = { input = 1000.0, output = 2000.0 }\n",
    )
    code, out = _pytest(["-k", "original"], project)
    assert code == 1, out
    assert "Traceback" not in out
    assert "stopped early: --max-cost 0.5 reached" in out
    results = _results(project / "reports")
    spent = results["costs"]["total"]
    per_call = 1000.0 * 48 / 1e6
    assert 0.5 <= spent <= 0.5 + 16 * per_call * 1.5  # overshoot: calls in flight, one batch
    assert results["costs"]["models"]["sim/indifferent"]["cost"] == pytest.approx(spent)
    tests = results["costs"]["tests"]
    assert len(tests) == 2 and sum(t["sim/indifferent"]["cost"] for t in tests.values()) == (
        pytest.approx(spent)
    )
    assert f"cost {cost_label(spent)}" in out  # per model
    for per_test in tests.values():  # and per test, in the test's cell of the table
        assert f" {cost_label(per_test['sim/indifferent']['cost'])}" in out

    code, out = _pytest(["-k", "original", "--max-cost", "1.0"], project)  # the CLI wins
    assert "stopped early: --max-cost 1.0 reached" in out
    assert _results(project / "reports")["costs"]["total"] >= 1.0


# -- units --------------------------------------------------------------------------------


def test_price_table_defaults_patterns_and_free_models() -> None:
    table = PriceTable.from_config({"openai-api/vendor/*": {"input": 1.0, "output": 2.0}})
    assert table.price("sim/indifferent") is not None
    assert table.cost("local/smollm2-135m-instruct", Usage(input_tokens=10**6)) == 0.0
    assert table.cost("openai/gpt-4o-mini", Usage(input_tokens=10**6, output_tokens=10**6)) == (
        pytest.approx(0.75)
    )
    assert table.cost("openai-api/vendor/m", Usage(output_tokens=500_000)) == pytest.approx(1.0)
    assert table.price("openai-api/other/m") is None
    report = CostReport.build(table, {"openai-api/other/m": Usage(input_tokens=5)}, {})
    assert report.unpriced == ["openai-api/other/m"]
    assert cost_label(None) == "unpriced"


def test_budget_shares_add_up_and_unpriced_models_stop_under_max_cost() -> None:
    for limit in (1, 7, 10, 11):
        for workers in (1, 2, 3, 4):
            assert sum(share(limit, w, workers) for w in range(workers)) == limit
    usage = {"openai-api/other/m": Usage(calls=3)}
    budget = Budget(usage, PriceTable.from_config(), max_cost=1.0)
    reason = budget("openai-api/other/m")
    assert reason is not None and "has no price" in reason
    calls = Budget(usage, PriceTable.from_config(), max_calls=3)
    assert calls("sim/indifferent") == "--max-calls 3 reached after 3 calls"
    assert Budget(usage, PriceTable.from_config(), max_calls=4)("sim/indifferent") is None
