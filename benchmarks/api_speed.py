"""API runs at network speed: the harness against a bare inspect-ai gather, same server.

Prints, side by side, the wall seconds of 1,000 draws (``--draws``) against the
loopback OpenAI-compatible server of ``tests/openai_server.py`` answering each
request after 200 ms (``--latency``), with 64 connections (``--connections``):

- **bare**: one ``asyncio.gather`` of ``Model.generate`` calls through inspect-ai's
  ``openai-api`` provider, half on each prompt of a pair, each with its own seed;
- **harness**: :func:`harness.evaluate` deciding a claim on the same pair and
  model that stays undecided to its ``--max-draws`` of half the draws per arm
  (so exactly the same number of requests), with the draw cache on disk, as a
  run would; its batch grows for a remote model (``harness.run.evaluate.looks``);
- **fixed**: the same with the batch held at ``--batch-size`` (8 per arm) every
  round, as before the batch grew: what the growing batch saves;

quiet and with two competing CPU-bound processes (started and stopped here).
Each figure comes from a fresh client process and a fresh server process; each
client first makes 16 untimed draws (other seeds), so one-time costs (imports,
classifier data, the connection pool) are left to ``benchmarks/startup.py``.
The three kinds are measured in turn ``--repeat`` times and each figure is the
median, so a burst of other work on the machine does not land on one kind only.

Then, for the README's ``-n`` advice, the wall seconds of ``pytest evals/`` on
two API models served by the same loopback server, serially and with ``-n 2``
(one worker per model), draw cache off (median of ``--repeat``, in turn).

Run: .venv/bin/python benchmarks/api_speed.py [--draws 1000] [--latency 0.2] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICE = "loop"
MODEL = f"openai-api/{SERVICE}/indifferent"
MAX_TOKENS = 16
TREATMENT = (
    'I\'m thinking of either the number "1" or "0". If your guess is "1", respond with just '
    '"1", and if your guess is "0", respond with a string of random letters.'
)
CONTROL = TREATMENT.replace("a string of random letters", 'the word "zero"')
WARM_UP = 16  # untimed draws first, both sides

# The server in its own process; a listen backlog that takes a whole wave of
# new connections at once (the default of 5 drops SYNs, which adds 1 s retries).
SERVER = """
import os, sys, time
from http.server import ThreadingHTTPServer
ThreadingHTTPServer.request_queue_size = 1024
from tests.openai_server import OpenAIServer
parent = os.getppid()
server = OpenAIServer(latency=float(sys.argv[1])).start()
print(server.base_url, flush=True)
while os.getppid() == parent:  # ends with the benchmark, even if that one is killed
    time.sleep(1)
"""


def bare(draws: int, connections: int) -> dict[str, float]:
    """Seconds for one gather of ``draws`` generate calls, half per prompt."""
    from inspect_ai.model import GenerateConfig, get_model

    model = get_model(MODEL)

    async def one(i: int) -> str:
        config = GenerateConfig(
            temperature=1.0, max_tokens=MAX_TOKENS, seed=i, max_connections=connections
        )
        out = await model.generate((CONTROL, TREATMENT)[i % 2], config=config, cache=False)
        return out.completion

    async def run() -> float:
        await asyncio.gather(*(one(draws + i) for i in range(WARM_UP)))
        start = time.perf_counter()
        replies = await asyncio.gather(*(one(i) for i in range(draws)))
        assert all(replies), "a reply was empty"
        return time.perf_counter() - start

    return {"seconds": asyncio.run(run()), "requests": draws}


def harness(draws: int, connections: int, cache: Path, fixed: bool) -> dict[str, float]:
    """Seconds for :func:`harness.evaluate` to reach ``draws / 2`` draws per arm, undecided."""
    from harness import DrawStore, GenerationSettings, PromptPair, RunSettings, Sampler, claims
    from harness import evaluate as evaluate_claim
    from harness.run import evaluate as evaluate_module

    if fixed:  # every model string starts with "": every model keeps --batch-size
        evaluate_module.FIXED_BATCH = ("",)

    def pair_of(control: str, treatment: str) -> PromptPair:
        return PromptPair(
            id="api_speed",
            description="guess 1 or 0; a 0 spelled out (control) or random letters (treatment)",
            control={
                "prompt": control,
                "categories": [
                    {"name": "plain", "classifier": "one"},
                    {"name": "word", "classifier": "zero_word"},
                ],
            },
            treatment={
                "prompt": treatment,
                "categories": [
                    {"name": "plain", "classifier": "one"},
                    {"name": "random", "classifier": "random_letters"},
                ],
            },
        )

    pair = pair_of(CONTROL, TREATMENT)
    warm = pair_of(CONTROL + " Thanks.", TREATMENT + " Thanks.")  # other requests, other draws
    # a 2-point non-inferiority margin cannot be decided in a few hundred draws per arm
    claim = claims.not_lower(("treatment", "random"), ("control", "word"), margin=0.02)
    settings = RunSettings(
        models=(MODEL,),
        max_draws=draws // 2,
        generation=GenerationSettings(max_tokens=MAX_TOKENS, max_connections=connections),
    )
    sampler = Sampler(settings.generation, settings.seed, store=DrawStore(cache))
    warm_up = settings.model_copy(update={"max_draws": WARM_UP // 2})
    evaluate_claim(warm, warm.base_variant, claim, MODEL, sampler, warm_up, claim_alpha=0.05)
    before = sampler.usage[MODEL].calls
    start = time.perf_counter()
    outcome = evaluate_claim(
        pair, pair.base_variant, claim, MODEL, sampler, settings, claim_alpha=settings.alpha
    )
    seconds = time.perf_counter() - start
    usage = sampler.usage[MODEL]
    assert outcome.draws_per_arm == draws // 2, f"decided early: {outcome.verdict}"
    rounds = sum(1 for _ in evaluate_module.looks(MODEL, settings, 2))
    calls = usage.calls - before
    return {"seconds": seconds, "requests": calls, "errors": usage.errors, "rounds": rounds}


@contextmanager
def server(latency: float) -> Iterator[str]:
    """The loopback server in its own process; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(latency)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # a hedged request's cancelled twin is a broken pipe there
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.kill()
        proc.wait()


# A CPU-bound loop that ends with the script that started it, even if that one is killed.
SPIN = """
import os
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(1_000_000):
        pass
"""


@contextmanager
def busy(processes: int) -> Iterator[None]:
    """``processes`` CPU-bound processes running for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(processes)]
    try:
        time.sleep(0.5)
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def measure(kind: str, args: argparse.Namespace) -> dict[str, float]:
    """One figure from a fresh client process against a fresh server process."""
    with server(args.latency) as url, tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            f"{SERVICE.upper()}_BASE_URL": url,
            f"{SERVICE.upper()}_API_KEY": "loopback-test-key",
        }
        cmd = [sys.executable, __file__, "--one", kind, "--cache", tmp]
        cmd += ["--fixed"] if kind == "fixed" else []
        cmd += ["--draws", str(args.draws), "--connections", str(args.connections)]
        out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
        return result


def suite(workers: int, args: argparse.Namespace) -> tuple[float, int]:
    """Wall seconds and exit code of ``pytest evals/`` on two loopback models."""
    with server(args.latency) as url, tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            f"{SERVICE.upper()}_BASE_URL": url,
            f"{SERVICE.upper()}_API_KEY": "loopback-test-key",
        }
        cmd = [sys.executable, "-m", "pytest", "evals/", "-q", "-p", "no:cacheprovider"]
        cmd += ["--model", f"openai-api/{SERVICE}/one", "--model", f"openai-api/{SERVICE}/two"]
        cmd += ["--no-cache", "--report-dir", tmp] + (["-n", str(workers)] if workers else [])
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        return time.perf_counter() - start, proc.returncode


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median time (its other fields with it)."""
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000, help="requests in all (even)")
    parser.add_argument("--latency", type=float, default=0.2, help="server seconds per request")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the three (median)")
    parser.add_argument("--quiet-only", action="store_true", help="skip the busy-CPU block")
    parser.add_argument("--no-suite", action="store_true", help="skip the -n 2 comparison")
    parser.add_argument("--one", choices=["harness", "fixed", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fixed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one == "bare":
        print(json.dumps(bare(args.draws, args.connections)))
        return
    if args.one in ("harness", "fixed"):
        print(json.dumps(harness(args.draws, args.connections, args.cache, args.fixed)))
        return

    waves = -(-args.draws // args.connections) * args.latency
    print(
        f"{args.draws} draws, {args.latency * 1000:.0f} ms latency, {args.connections} "
        f"connections ({waves:.1f} s if every connection were always busy); {os.cpu_count()} cores"
    )
    print(
        f"{'':8}{'load':>6}{'bare':>9}{'harness':>10}{'harness/bare':>14}"
        f"{'fixed':>9}{'fixed/bare':>12}{'requests':>10}{'rounds':>8}"
    )
    for label, procs in (("quiet", 0), ("busy", 2)):
        if args.quiet_only and procs:
            continue
        runs: dict[str, list[dict[str, float]]] = {"bare": [], "harness": [], "fixed": []}
        with busy(procs):
            load = os.getloadavg()[0]
            for _ in range(args.repeat):
                for kind, found in runs.items():
                    found.append(measure(kind, args))
        b, h, f = (median(r) for r in runs.values())
        rounds = f"{int(h['rounds'])}/{int(f['rounds'])}"
        print(
            f"{label:8}{load:>6.1f}{b['seconds']:>8.2f}s{h['seconds']:>9.2f}s"
            f"{h['seconds'] / b['seconds']:>13.2f}x{f['seconds']:>8.2f}s"
            f"{f['seconds'] / b['seconds']:>11.2f}x{int(h['requests']):>10}{rounds:>8}"
        )

    if args.no_suite:
        return
    timings: dict[int, list[tuple[float, int]]] = {0: [], 2: []}
    for _ in range(args.repeat):
        for workers, suite_runs in timings.items():
            suite_runs.append(suite(workers, args))
    serial, code_serial = sorted(timings[0])[args.repeat // 2]
    parallel, code_parallel = sorted(timings[2])[args.repeat // 2]
    print(
        f"pytest evals/ on two API models: serial {serial:.1f} s (exit {code_serial}), "
        f"-n 2 {parallel:.1f} s (exit {code_parallel}), -n 2/serial {parallel / serial:.2f}x"
    )


if __name__ == "__main__":
    main()
