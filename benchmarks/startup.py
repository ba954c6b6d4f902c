"""Start-up cost: imports, collection, and a cold vs a warm (fully cached) run.

Prints, in one run:

- ``python -X importtime`` totals for ``import harness`` and ``import harness.plugin``
  (the modules' own import time, interpreter start-up excluded) and which heavy
  libraries (inspect_ai, scipy, statsmodels, matplotlib, jinja2, llama_cpp) each
  loads;
- wall seconds of ``pytest evals/ --co``, of ``pytest evals/ --plan``, and of
  ``pytest evals/ --model sim/indifferent`` with an empty draw cache (cold) and
  again on the same cache (warm: every draw cached, so no model call), with the
  model calls each made and the warm-minus-co difference (target: at most 3 s);
- what a warm run pays once per process beyond ``--co``: the milliseconds of each
  heavy import and of building each classifier's data, each in a fresh process;
- ``pytest evals/`` on two simulated models, serially and with ``-n 2`` (draw
  cache off): what two workers' start-up costs when the models cost nothing;

quiet and with two competing CPU-bound processes (started and stopped here).
Every timing is the median of ``--repeat`` runs, taken in turn with the others
it is compared with (co, plan and warm; serial and ``-n 2``), so a burst of
other work on the machine lands on all of them alike. The machine's load
average is printed with each block.

Run: .venv/bin/python benchmarks/startup.py [--repeat 3] [--quiet-only]
"""

from __future__ import annotations

import argparse
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
HEAVY = ("inspect_ai", "scipy", "statsmodels", "matplotlib", "jinja2", "llama_cpp")
MARK = "-- harness import starts --"
SIM = "sim/indifferent"
#: One-time costs of a process that draws and reports: (what, statement).
FIRST_USE = (
    ("import inspect_ai.model", "import inspect_ai.model"),
    ("import scipy.stats", "import scipy.stats"),
    ("import statsmodels.stats.proportion", "import statsmodels.stats.proportion"),
    ("import matplotlib.pyplot", "import matplotlib.pyplot"),
    ("import jinja2", "import jinja2"),
    (
        "word list (random letters)",
        "from harness.define.classifiers.words import lexicon; lexicon()",
    ),
    (
        "pronunciations (rhyme)",
        "from harness.define.classifiers.rhyme import words_rhyme; words_rhyme('cat', 'hat')",
    ),
)


def import_ms(module: str) -> tuple[float, list[str]]:
    """Milliseconds ``import module`` takes (by -X importtime) and the heavy libraries it loads."""
    code = (
        f"import sys; sys.stderr.write({MARK!r} + '\\n'); import {module}; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = proc.stderr.split(MARK, 1)[1].splitlines()
    total_us = 0
    for line in lines:
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if not name.startswith("  ") and cumulative.strip().isdigit():  # top level only
            total_us += int(cumulative)
    loaded = [m for m in proc.stdout.strip().split(",") if m]
    return total_us / 1000, loaded


def first_use_ms(statement: str) -> float | None:
    """Milliseconds ``statement`` takes in a fresh process that has numpy, pydantic, pytest."""
    code = (
        "import time, numpy, pydantic, pytest, harness.plugin\n"
        f"t = time.perf_counter()\n{statement}\n"
        "print((time.perf_counter() - t) * 1000)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:  # a renamed classifier helper: say so, measure the rest
        return None
    return float(proc.stdout.strip().splitlines()[-1])


def pytest_run(args: list[str], tmp: Path) -> tuple[float, int, dict[str, int] | None]:
    """Wall seconds, exit code, and the run's model usage (calls, cache hits) if it wrote one."""
    reports = tmp / "reports"
    cmd = [sys.executable, "-m", "pytest", "evals/", "-q", "-p", "no:cacheprovider", *args]
    cmd += ["--cache-dir", str(tmp / "draws"), "--report-dir", str(reports)]
    latest = reports / "latest" / "results.json"
    before = latest.stat().st_mtime_ns if latest.exists() else None
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    usage = None
    if latest.exists() and latest.stat().st_mtime_ns != before:
        per_model = json.loads(latest.read_text())["usage"]
        usage = {
            "calls": sum(u["calls"] for u in per_model.values()),
            "cache_hits": sum(u["cache_hits"] for u in per_model.values()),
        }
    return seconds, proc.returncode, usage


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


def measure(repeat: int) -> dict[str, float]:
    """One block of figures (printed as it goes); the timings by name."""
    load = os.getloadavg()[0]
    print(f"  load average at start: {load:.1f}")
    for module in ("harness", "harness.plugin"):
        ms, loaded = import_ms(module)
        heavy = ", ".join(loaded) or "none"
        print(f"  import {module:<16} {ms:7.0f} ms   heavy libraries: {heavy}")
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as name:
        colds = [pytest_run(["--model", SIM], Path(name) / str(i)) for i in range(repeat)]
        out["cold"], code, usage = sorted(colds, key=lambda r: r[0])[repeat // 2]
        print(f"  cold: pytest evals/ --model {SIM}  {out['cold']:6.2f} s  (exit {code}) {usage}")
        warm = Path(name) / str(repeat - 1)  # every draw of that run is cached now
        kinds = {"co": ["--co"], "plan": ["--plan", "--model", SIM], "warm": ["--model", SIM]}
        runs: dict[str, list[tuple[float, int, dict[str, int] | None]]] = {k: [] for k in kinds}
        for _ in range(repeat):  # in turn, so a burst of other work hits all three alike
            for kind, args in kinds.items():
                runs[kind].append(pytest_run(args, warm))
        found = {k: sorted(r, key=lambda x: x[0])[repeat // 2] for k, r in runs.items()}
        out.update({k: v[0] for k, v in found.items()})
    print(f"  pytest evals/ --co               {out['co']:6.2f} s  (exit {found['co'][1]})")
    print(f"  pytest evals/ --plan             {out['plan']:6.2f} s  (exit {found['plan'][1]})")
    print(
        f"  warm: every draw cached           {out['warm']:6.2f} s  (exit {found['warm'][1]}) "
        f"{found['warm'][2]}"
    )
    print(f"  warm - co: {out['warm'] - out['co']:+.2f} s (target <= 3 s)")
    with tempfile.TemporaryDirectory() as name:
        two = ["--model", SIM, "--model", "sim/avoidant", "--no-cache"]
        pairs = [
            (pytest_run(two, Path(name))[:2], pytest_run([*two, "-n", "2"], Path(name))[:2])
            for _ in range(repeat)
        ]
    serial, code = sorted(p[0] for p in pairs)[repeat // 2]
    parallel, code_n = sorted(p[1] for p in pairs)[repeat // 2]
    print(
        f"  two simulated models: serial {serial:.2f} s (exit {code}), -n 2 {parallel:.2f} s "
        f"(exit {code_n}), -n 2/serial {parallel / serial:.2f}x"
    )
    print("  once per process, beyond the plugin's import:")
    for what, statement in FIRST_USE:
        once = first_use_ms(statement)
        shown = "n/a" if once is None else f"{once:6.0f} ms"
        print(f"    {what:<38}{shown:>10}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per short timing (median)")
    parser.add_argument("--quiet-only", action="store_true", help="skip the busy-CPU block")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("quiet (no competing process started):")
    quiet = measure(args.repeat)
    if args.quiet_only:
        return
    print("busy (two competing CPU-bound processes):")
    with busy(2):
        loaded = measure(args.repeat)
    print(
        f"busy/quiet: co {loaded['co'] / quiet['co']:.2f}x, "
        f"warm {loaded['warm'] / quiet['warm']:.2f}x, cold {loaded['cold'] / quiet['cold']:.2f}x"
    )


if __name__ == "__main__":
    main()
