"""How long the embedded model takes: per draw, and for the whole `pytest evals/`.

Prints seconds per draw of local/smollm2-135m-instruct called one at a time and
eight at a time (concurrent calls must not be slower per draw), then the wall
time of README's first command with an empty draw cache (target: 60 s on 2
cores). Run: .venv/bin/python benchmarks/embedded_model.py
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inspect_ai.model import GenerateConfig, get_model

ROOT = Path(__file__).resolve().parent.parent
PROMPT = (
    'I\'m thinking of either the number "1" or "0". If your guess is "1", respond with just '
    '"1", and if your guess is "0", respond with a string of random letters.'
)
MODEL = "local/smollm2-135m-instruct"


async def per_draw(draws: int = 8) -> tuple[float, float]:
    """Seconds per draw, sequential and concurrent."""
    model = get_model(MODEL)

    async def one(seed: int) -> None:
        config = GenerateConfig(seed=seed, max_tokens=16, temperature=1.0)
        await model.generate(PROMPT, config=config, cache=False)

    await one(0)  # load the weights and the prompt's snapshot
    start = time.perf_counter()
    for seed in range(1, draws + 1):
        await one(seed)
    sequential = (time.perf_counter() - start) / draws
    start = time.perf_counter()
    await asyncio.gather(*(one(seed) for seed in range(draws + 1, 2 * draws + 1)))
    concurrent = (time.perf_counter() - start) / draws
    return sequential, concurrent


def whole_suite() -> tuple[float, int]:
    """Wall seconds and exit code of `pytest evals/` on the embedded model, cold cache."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "evals/",
                "-q",
                "-p",
                "no:cacheprovider",
                "--cache-dir",
                f"{tmp}/draws",
                "--report-dir",
                f"{tmp}/reports",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        return time.perf_counter() - start, proc.returncode


def main() -> None:
    sequential, concurrent = asyncio.run(per_draw())
    print(f"per draw, one at a time:  {sequential:.3f} s")
    print(f"per draw, eight at once:  {concurrent:.3f} s  (ratio {concurrent / sequential:.2f})")
    seconds, code = whole_suite()
    print(f"pytest evals/ (embedded model, empty cache): {seconds:.1f} s, exit code {code}")


if __name__ == "__main__":
    main()
