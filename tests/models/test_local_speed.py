"""Batched local draws are reproducible: fresh, repeated and resumed runs agree.

The embedded model decodes concurrent draws together as parallel sequences. A
draw must still be a pure function of (prompt, settings, seed): each run below
is a separate process (fresh model state), and the resumed run asks for only
some of the draws, mixed with another prompt's draws, so its batches are made
up differently from the fresh run's. The last test does the same through
``pytest evals/``, with a run killed (SIGKILL) mid-way and resumed on its cache.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.subprocess

PROMPT = (
    'I\'m thinking of either the number "1" or "0". If your guess is "1", respond with just '
    '"1", and if your guess is "0", respond with a string of random letters.'
)
OTHER = PROMPT.replace("a string of random letters", 'the word "zero"')
SEEDS = [1000 + 7 * i for i in range(16)]
#: The seed hypothesis's claims on two prompt variants: about 150 draws, 35 s on 2 cores.
EMBEDDED_TESTS = "experiment or game"

_RUN = textwrap.dedent(
    """
    import asyncio, json, sys
    from inspect_ai.model import GenerateConfig, get_model

    requests = json.loads(sys.argv[1])  # [[prompt, seed], ...], drawn concurrently

    async def main():
        model = get_model("local/smollm2-135m-instruct")

        async def one(prompt, seed):
            config = GenerateConfig(seed=seed, max_tokens=16, temperature=1.0)
            output = await model.generate(prompt, config=config, cache=False)
            return output.completion

        return await asyncio.gather(*(one(p, s) for p, s in requests))

    print(json.dumps(asyncio.run(main())))
    """
)


def _run(requests: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """Replies of one fresh process drawing ``requests`` concurrently."""
    proc = subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(requests)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    replies = json.loads(proc.stdout.strip().splitlines()[-1])
    return dict(zip(requests, replies, strict=True))


def test_fresh_repeated_and_resumed_runs_give_identical_replies() -> None:
    everything = [(PROMPT, seed) for seed in SEEDS]
    fresh = _run(everything)
    repeated = _run(everything)
    missing = [(PROMPT, SEEDS[i]) for i in (3, 9, 10, 15)]  # what a killed run still needs
    resumed = _run([(OTHER, seed) for seed in SEEDS[:5]] + missing)

    assert repeated == fresh
    assert {key: resumed[key] for key in missing} == {key: fresh[key] for key in missing}
    assert len(set(fresh.values())) > len(SEEDS) // 2, "seeds must give different draws"


def _replies(cache: Path) -> dict[tuple[str, int], str]:
    """Every draw in a draw cache folder: (file, index) -> reply."""
    out: dict[tuple[str, int], str] = {}
    for path in cache.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if "index" in row:
                out[path.name, int(row["index"])] = str(row["text"])
    return out


def _suite(cache: Path, reports: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "evals/test_zero_vs_random.py",
        "-k",
        EMBEDDED_TESTS,
        "-p",
        "no:cacheprovider",
        "--cache-dir",
        str(cache),
        "--report-dir",
        str(reports),
    ]


def test_a_killed_embedded_run_resumes_with_the_replies_of_a_fresh_one(tmp_path: Path) -> None:
    """``pytest evals/`` on the embedded model, fresh, repeated, and killed then resumed."""
    fresh, repeated, resumed = (tmp_path / n for n in ("fresh", "repeated", "resumed"))
    for cache in (fresh, repeated):
        subprocess.run(_suite(cache, tmp_path / "reports"), cwd=ROOT, capture_output=True)
    proc = subprocess.Popen(
        _suite(resumed, tmp_path / "reports"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if resumed.is_dir() and len(_replies(resumed)) >= 48:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    before = _replies(resumed)
    subprocess.run(_suite(resumed, tmp_path / "reports"), cwd=ROOT, capture_output=True)

    everything = _replies(fresh)
    assert len(everything) >= 96 and 48 <= len(before) < len(everything)
    assert _replies(repeated) == everything
    assert _replies(resumed) == everything
    assert len(set(everything.values())) > len(everything) // 4, "draws must differ"
