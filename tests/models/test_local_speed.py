"""Batched local draws are reproducible: fresh, repeated and resumed runs agree.

The embedded model decodes concurrent draws together as parallel sequences. A
draw must still be a pure function of (prompt, settings, seed): each run below
is a separate process (fresh model state), and the resumed run asks for only
some of the draws, mixed with another prompt's draws, so its batches are made
up differently from the fresh run's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.subprocess

PROMPT = (
    'I\'m thinking of either the number "1" or "0". If your guess is "1", respond with just '
    '"1", and if your guess is "0", respond with a string of random letters.'
)
OTHER = PROMPT.replace("a string of random letters", 'the word "zero"')
SEEDS = [1000 + 7 * i for i in range(16)]

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
