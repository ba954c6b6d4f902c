"""Performance in one run: the four figures the README's performance section quotes.

Prints, side by side, each with the ratio it is judged by:

1. **embedded draws/s**: the harness's local provider against a bare
   llama-cpp-python loop of ``create_chat_completion`` on the same prompts and
   max_tokens, one llama.cpp thread each, quiet (``benchmarks/local_speed.py``
   has the full table: 1 and 2 threads, quiet and busy);
2. **embedded suite, quiet vs busy**: wall seconds of ``pytest evals/`` on the
   embedded model with an empty draw cache, alone and beside two CPU-bound
   processes started here;
3. **cold vs warm**: the quiet suite's run (cold) against a rerun on its draw
   cache (warm: no model call), and ``pytest evals/ --co`` on the same files
   (median of ``--repeat`` runs, warm and --co taken in turn), quiet and busy;
4. **API draws**: 1,000 draws against a loopback OpenAI-compatible server that
   answers after 200 ms, with 64 connections: the harness deciding an
   undecidable claim against one ``asyncio.gather`` of inspect-ai ``generate``
   calls (median of ``--repeat`` fresh client/server pairs, in turn;
   quiet and busy; ``benchmarks/api_speed.py`` adds a fixed batch and the ``-n``
   comparison).

The machine (cores, load average before each block) is printed with the figures.

Run: .venv/bin/python benchmarks/performance.py [--repeat 3] [--skip-suite]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import api_speed  # noqa: E402  (sibling benchmark scripts)
import local_speed  # noqa: E402
import startup  # noqa: E402

TARGETS = {
    "draws": ">= 2",
    "suite": "<= 2.2",
    "warm": "<= 3 s, 0 calls",
    "api": "<= 1.2",
}


def _row(name: str, a: str, b: str, ratio: str, target: str) -> None:
    print(f"{name:<34}{a:>14}{b:>14}{ratio:>12}   {target}", flush=True)


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def embedded_draws(repeat: int) -> None:
    """Harness vs bare llama-cpp-python draws/s, one thread, quiet (medians of pairs)."""
    args = argparse.Namespace(rounds=4, bare_draws=12, limit=300.0)
    pairs = [
        (local_speed.measure("harness", 1, args), local_speed.measure("bare", 1, args))
        for _ in range(repeat)
    ]
    harness = median(p[0] for p in pairs if p[0] is not None)
    bare = median(p[1] for p in pairs if p[1] is not None)
    _row(
        "embedded draws/s (harness, bare)",
        f"{harness:.2f}/s",
        f"{bare:.2f}/s",
        f"{harness / bare:.2f}x",
        f"harness/bare {TARGETS['draws']}  ({_load()})",
    )


def embedded_suite(repeat: int, tmp: Path) -> None:
    """The embedded suite quiet and busy; cold vs warm and --co on the quiet run's cache."""
    quiet, code_q, usage_q = startup.pytest_run([], tmp / "quiet")
    with startup.busy(2):  # spinners that end with this script, even if it is killed
        busy, code_b, usage_b = startup.pytest_run([], tmp / "busy")
    calls_q = usage_q["calls"] if usage_q else "?"
    calls_b = usage_b["calls"] if usage_b else "?"
    _row(
        "embedded suite s (quiet, busy)",
        f"{quiet:.1f} s",
        f"{busy:.1f} s",
        f"{busy / quiet:.2f}x",
        f"busy/quiet {TARGETS['suite']}  (exit {code_q}/{code_b}, {calls_q}/{calls_b} calls)",
    )
    startup.pytest_run([], tmp / "quiet")  # the report folder keeps its charts from here on
    for label, procs in (("quiet", 0), ("busy", 2)):
        warm_runs: list[float] = []
        co_runs: list[float] = []
        calls_warm: list[int] = []
        with startup.busy(procs):
            for _ in range(repeat):  # in turn, so a burst of other work hits both alike
                seconds, _, usage = startup.pytest_run([], tmp / "quiet")
                warm_runs.append(seconds)
                calls_warm.append(usage["calls"] if usage else -1)
                co_runs.append(startup.pytest_run(["--co"], tmp / "quiet")[0])
        warm, co = median(warm_runs), median(co_runs)
        target = f"warm - co {TARGETS['warm']}" if not procs else "(no target when busy)"
        _row(
            f"warm vs --co s, {label}",
            f"{warm:.2f} s",
            f"{co:.2f} s",
            f"{warm - co:+.2f} s",
            f"{target}, warm calls {max(calls_warm)}  ({_load()})",
        )


def api_draws(repeat: int) -> None:
    """1,000 loopback draws at 200 ms: the harness against a bare inspect-ai gather."""
    args = argparse.Namespace(draws=1000, latency=0.2, connections=64)
    for label, procs in (("quiet", 0), ("busy", 2)):
        runs: dict[str, list[float]] = {"harness": [], "bare": []}
        with startup.busy(procs):
            for _ in range(repeat):  # in turn, so a burst of other work hits both alike
                for kind, found in runs.items():
                    found.append(api_speed.measure(kind, args)["seconds"])
        harness, bare = median(runs["harness"]), median(runs["bare"])
        _row(
            f"1,000 API draws s, {label}",
            f"{harness:.2f} s",
            f"{bare:.2f} s",
            f"{harness / bare:.2f}x",
            f"harness/bare {TARGETS['api']}  ({_load()})",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per median")
    parser.add_argument("--skip-suite", action="store_true", help="skip the embedded suite")
    args = parser.parse_args()
    print(
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"{_load()} at start"
    )
    _row("", "harness/A", "bare/B", "ratio", "target")
    embedded_draws(args.repeat)
    if not args.skip_suite:
        with tempfile.TemporaryDirectory() as name:
            embedded_suite(args.repeat, Path(name))
    api_draws(args.repeat)


if __name__ == "__main__":
    main()
