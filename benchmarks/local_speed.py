"""Embedded-model draws per second: the harness's provider against bare llama-cpp-python.

Prints, side by side, draws/s of local/smollm2-135m-instruct called the way the
harness calls it (each round: 8 concurrent draws per arm of a prompt pair, each
with its own seed, both arms at once, so the provider decodes them as one
batch) and of a bare llama-cpp-python loop of ``create_chat_completion`` on the
same prompts and max_tokens; on a quiet machine and with two competing
CPU-bound processes (started and stopped here); with 1 and 2 llama.cpp threads.
Each figure comes from a fresh process. Figures only, no verdicts.

Run: .venv/bin/python benchmarks/local_speed.py [--rounds 4] [--bare-draws 12] [--limit 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

TREATMENT = (
    'I\'m thinking of either the number "1" or "0". If your guess is "1", respond with just '
    '"1", and if your guess is "0", respond with a string of random letters.'
)
CONTROL = TREATMENT.replace("a string of random letters", 'the word "zero"')
MAX_TOKENS = 16
PER_ARM = 8


def harness_rate(threads: int, rounds: int) -> float:
    """Draws/s through inspect-ai's ``generate`` on the harness's local provider."""
    from inspect_ai.model import GenerateConfig, get_model

    model = get_model("local/smollm2-135m-instruct", n_threads=threads)

    async def one(prompt: str, seed: int) -> None:
        config = GenerateConfig(seed=seed, max_tokens=MAX_TOKENS, temperature=1.0)
        await model.generate(prompt, config=config, cache=False)

    async def round_(first_seed: int) -> None:
        seeds = range(first_seed, first_seed + PER_ARM)
        await asyncio.gather(*(one(p, s) for p in (CONTROL, TREATMENT) for s in seeds))

    async def run() -> float:
        await round_(0)  # load the weights and evaluate both prompts
        start = time.perf_counter()
        for r in range(1, rounds + 1):
            await round_(r * PER_ARM)
        return rounds * 2 * PER_ARM / (time.perf_counter() - start)

    return asyncio.run(run())


def bare_rate(threads: int, draws: int) -> float:
    """Draws/s of a plain ``create_chat_completion`` loop over the same prompts."""
    from llama_cpp import Llama

    from harness.models.gguf import resolve_gguf

    llm = Llama(
        model_path=str(resolve_gguf("smollm2-135m-instruct")),
        n_ctx=2048,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    prompts = [CONTROL, TREATMENT]
    for prompt in prompts:
        llm.create_chat_completion(
            messages=[{"role": "user", "content": prompt}], max_tokens=MAX_TOKENS, seed=0
        )
    start = time.perf_counter()
    for i in range(draws):
        llm.create_chat_completion(
            messages=[{"role": "user", "content": prompts[i % 2]}],
            max_tokens=MAX_TOKENS,
            temperature=1.0,
            top_k=0,
            top_p=1.0,
            min_p=0.0,
            seed=i + 1,
        )
    return draws / (time.perf_counter() - start)


@contextmanager
def busy(processes: int) -> Iterator[None]:
    """``processes`` CPU-bound processes running for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        time.sleep(0.5)
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def measure(kind: str, threads: int, args: argparse.Namespace) -> float | None:
    """One figure, from a fresh interpreter (no model, thread or cache state carried over).

    None when it took longer than ``--limit`` seconds (two threads on a busy
    machine can slow down a hundredfold).
    """
    cmd = [sys.executable, __file__, "--one", kind, "--threads", str(threads)]
    cmd += ["--rounds", str(args.rounds), "--bare-draws", str(args.bare_draws)]
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, check=True, timeout=args.limit
        ).stdout
    except subprocess.TimeoutExpired:
        return None
    return float(json.loads(out.strip().splitlines()[-1]))


def _rate(value: float | None, limit: float) -> str:
    return f"{value:>8.2f}/s" if value is not None else f"{'>' + str(int(limit)) + 's':>10}"


def _ratio(a: float | None, b: float | None, suffix: str = "x") -> str:
    return f"{a / b:.2f}{suffix}" if a is not None and b is not None else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="harness rounds of 16 draws")
    parser.add_argument("--bare-draws", type=int, default=12)
    parser.add_argument("--limit", type=float, default=300, help="seconds per figure")
    parser.add_argument("--one", choices=["harness", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one == "harness":
        print(json.dumps(harness_rate(args.threads, args.rounds)))
        return
    if args.one == "bare":
        print(json.dumps(bare_rate(args.threads, args.bare_draws)))
        return

    print(f"local/smollm2-135m-instruct, max_tokens={MAX_TOKENS}, {os.cpu_count()} cores")
    print("(load: the 1-minute load average after each pair; other users count too)")
    print(f"{'':20}{'harness':>10}{'bare':>10}{'harness/bare':>14}{'load':>7}", flush=True)
    rates: dict[tuple[str, int, str], float | None] = {}
    for load in ("quiet", "loaded"):
        with busy(2 if load == "loaded" else 0):
            for threads in (1, 2):
                for kind in ("harness", "bare"):
                    rates[load, threads, kind] = measure(kind, threads, args)
                h, b = rates[load, threads, "harness"], rates[load, threads, "bare"]
                label = f"{load}, {threads} thread{'s' if threads > 1 else ''}"
                row = f"{label:20}{_rate(h, args.limit)}{_rate(b, args.limit)}{_ratio(h, b):>14}"
                print(f"{row}{os.getloadavg()[0]:>7.1f}", flush=True)
    print("loaded/quiet time for the same draws (two busy processes against none):")
    for threads in (1, 2):
        hr = _ratio(rates["quiet", threads, "harness"], rates["loaded", threads, "harness"])
        br = _ratio(rates["quiet", threads, "bare"], rates["loaded", threads, "bare"])
        print(f"  {threads} thread{'s' if threads > 1 else ' '}: harness {hr}, bare {br}")


if __name__ == "__main__":
    main()
