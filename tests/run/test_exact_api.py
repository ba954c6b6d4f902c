"""Exact mode on an API model: the first-token table from ``top_logprobs`` (loopback server)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.openai_server import OpenAIServer

LOOP = "openai-api/loop/indifferent"
ONE_TEST = "test_no_avoidance_of_random_strings and original"
#: 30 first tokens: the top 20 an API returns leave 0.10 of the probability out.
FIRST_TOKENS = {
    "1": 0.40,
    "zero": 0.20,
    "Zero": 0.05,
    "0": 0.04,
    "I": 0.03,
    "The": 0.03,
    "x": 0.02,
    **{f"tok{i}": 0.01 for i in range(23)},
}


def _run(tmp_path: Path, server: OpenAIServer, *extra: str) -> tuple[int, str, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(server.env("loop"))
    args = ["evals/test_zero_vs_random.py", "-p", "no:cacheprovider", "-k", ONE_TEST]
    args += ["--model", LOOP, "--no-cache", "--report-dir", str(tmp_path), *extra]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = sorted(p for p in tmp_path.glob("*/results.json") if "latest" not in p.parts)
    assert found, proc.stdout + proc.stderr
    return proc.returncode, proc.stdout + proc.stderr, json.loads(found[-1].read_text())


@pytest.mark.subprocess
def test_top_logprobs_give_the_first_token_table_with_the_uncovered_mass(tmp_path: Path) -> None:
    with OpenAIServer(first_tokens=FIRST_TOKENS) as server:
        _, out, results = _run(tmp_path, server, "--exact")
        stats = server.received
    assert "Traceback" not in out
    outcome = results["outcomes"][0]
    assert outcome["exact"]["mode"] == "sampling"
    assert "an API returns the first token's alternatives only" in outcome["exact"]["note"]
    draws = sum(len(a["draws"]) for a in outcome["arms"])
    assert stats == draws + 2  # one logprobs call per arm's prompt, then ordinary draws
    for arm in outcome["arms"]:
        table = arm["first_token"]
        assert table["source"] == "top_logprobs"
        assert len(table["top"]) == 20
        top20 = sorted(FIRST_TOKENS.values(), reverse=True)[:20]
        assert table["covered"] == pytest.approx(sum(top20))
        assert table["uncovered"] == pytest.approx(1 - sum(top20))
        assert table["uncovered"] == pytest.approx(0.10)
        assert table["top"][0] == {"token": "1", "p": pytest.approx(0.4), "category": "plain"}
        assert (
            f"{table['uncovered']:.1%} of the probability is on tokens not returned"
            in (table["note"])
        )
    control = next(a for a in outcome["arms"] if a["arm"] == "control")
    assert control["first_token"]["categories"] == {
        "plain": pytest.approx(0.40),
        "word": pytest.approx(0.25),  # "zero" and "Zero"
        "digit": pytest.approx(0.04),
    }
    treatment = next(a for a in outcome["arms"] if a["arm"] == "treatment")
    assert set(treatment["first_token"]["categories"]) == {"plain", "digit"}  # random is open
    assert math.isclose(sum(t["p"] for t in control["first_token"]["top"]), 0.90)
    assert "uncovered 10.0%" in out  # the terminal line


@pytest.mark.subprocess
def test_a_provider_without_logprobs_falls_back_and_says_so(tmp_path: Path) -> None:
    with OpenAIServer() as server:
        _, _, results = _run(tmp_path, server, "--exact")
    outcome = results["outcomes"][0]
    assert outcome["verdict"] in ("PASS", "FAIL")  # decided by sampling
    note = outcome["exact"]["note"]
    assert note.startswith("exact mode fell back to sampling")
    assert "no first-token table: the provider returned no top_logprobs" in note
    assert all(a["first_token"] is None for a in outcome["arms"])


@pytest.mark.subprocess
def test_no_logprobs_call_without_exact_mode(tmp_path: Path) -> None:
    with OpenAIServer(first_tokens=FIRST_TOKENS) as server:
        _, _, results = _run(tmp_path, server)
        received = server.received
    outcome = results["outcomes"][0]
    assert outcome["exact"] is None
    assert received == sum(len(a["draws"]) for a in outcome["arms"])
    assert all(a["first_token"] is None for a in outcome["arms"])
