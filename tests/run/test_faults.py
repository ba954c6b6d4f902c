"""Hung requests: a run with 20% of its requests hanging reaches the fault-free verdicts,
in at most three times the fault-free wall time.

Both runs are ``pytest evals/`` in a subprocess against the loopback server
(:mod:`tests.openai_server`), same seed, no draw cache, ``--timeout 5
--max-retries 2``; in the second the server holds one request in five open
without answering. Run with ``-s`` to see the figures::

    .venv/bin/pytest tests/run/test_faults.py -m subprocess -s
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.openai_server import OpenAIServer

MODEL = "openai-api/loop/indifferent"
FLAGS = ("--timeout", "5", "--max-retries", "2")


def _run(faults: dict[str, float], report_dir: Path) -> dict[str, Any]:
    with OpenAIServer(faults=faults, fault_seed=7, hang_seconds=600) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env.update(server.env("loop"))
        started = time.monotonic()
        proc = subprocess.run(
            [
                *(sys.executable, "-m", "pytest", "evals/", "-p", "no:cacheprovider"),
                *("--no-cache", "--model", MODEL, "--report-dir", str(report_dir), *FLAGS),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        wall = time.monotonic() - started
        received, faulted = server.received, dict(server.faulted)
    out = proc.stdout + proc.stderr
    found = sorted(p for p in report_dir.glob("*/results.json") if "latest" not in p.parts)
    assert found, out
    data = json.loads(found[-1].read_text())
    outcomes = {o["test"].split("::")[-1]: o for o in data["outcomes"]}
    usage = data["usage"][MODEL]
    return {
        "code": proc.returncode,
        "wall": wall,
        "verdicts": {t: o["verdict"] for t, o in outcomes.items()},
        "draws": {t: o["draws_per_arm"] for t, o in outcomes.items()},
        "received": received,
        "faulted": faulted,
        "usage": usage,
        "output": out,
    }


@pytest.mark.subprocess
def test_hung_requests_keep_the_verdicts_within_three_times_the_wall_time(
    tmp_path: Path,
) -> None:
    clean = _run({}, tmp_path / "clean")
    hung = _run({"hang": 0.2}, tmp_path / "hung")
    for name, run in (("fault-free", clean), ("20% hangs", hung)):
        u = run["usage"]
        print(
            f"\n{name}: exit {run['code']}, wall {run['wall']:.1f} s, "
            f"{run['received']} requests at the server {run['faulted'] or ''}; "
            f"calls {u['calls']}, retries {u['retries']}, transport errors "
            f"{u['transport_errors']}, failed draws {u['errors']}; "
            f"verdicts {sorted(set(run['verdicts'].values()))} over {len(run['verdicts'])} tests"
        )
    ratio = hung["wall"] / clean["wall"]
    same_n = sum(hung["draws"][t] == n for t, n in clean["draws"].items())
    print(
        f"wall-time ratio {ratio:.2f} (at most 3); same verdicts: "
        f"{hung['verdicts'] == clean['verdicts']}; same draws per arm in {same_n} of "
        f"{len(clean['draws'])} tests"
    )
    assert clean["code"] == 0, clean["output"]
    assert hung["faulted"].get("hang", 0) > 0
    assert hung["verdicts"] == clean["verdicts"], hung["output"]
    assert hung["code"] == clean["code"]
    assert ratio <= 3.0, f"{hung['wall']:.1f} s with hangs, {clean['wall']:.1f} s without"
