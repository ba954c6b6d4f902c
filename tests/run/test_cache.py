"""The draw cache: reuse across runs, resume after SIGKILL, --no-cache, --refresh.

Runs go through inspect-ai's OpenAI-compatible provider to a real HTTP server
on 127.0.0.1 that records the seed of every draw it is asked for, so "zero
calls" and "only the missing draws" are counted at the server.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.results.records import Draw
from harness.run.cache import CacheRepairWarning, DrawStore, store_key
from tests.conftest import ROOT
from tests.openai_server import OpenAIServer

MODEL = "openai-api/loop/indifferent"
SELECT = ["-k", "original"]  # one variant, both claims: 2 tests


@dataclass
class Run:
    returncode: int
    output: str
    seeds: list[int]  # the draws the server was asked for during this run
    verdicts: dict[str, str]
    cache: Path = Path()  # the --cache-dir of the run


def _verdicts(report_dir: Path) -> dict[str, str]:
    found = sorted(p for p in report_dir.glob("*/results.json") if "latest" not in p.parts)
    assert found, f"no results under {report_dir}"
    data = json.loads(found[-1].read_text())
    return {o["test"]: o["verdict"] for o in data["outcomes"]}


def _command(cache: list[str], report_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "evals/",
        "-p",
        "no:cacheprovider",
        "--model",
        MODEL,
        "--report-dir",
        str(report_dir),
        *cache,
        *SELECT,
    ]


def _env(server: OpenAIServer) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return {**base, **server.env("loop")}


def run(server: OpenAIServer, cache: list[str], report_dir: Path) -> Run:
    before = server.requests
    proc = subprocess.run(
        _command(cache, report_dir),
        cwd=ROOT,
        env=_env(server),
        capture_output=True,
        text=True,
        timeout=300,
    )
    seeds = [s for s in server.seeds[before:] if s is not None]
    cache_dir = Path(cache[cache.index("--cache-dir") + 1]) if "--cache-dir" in cache else Path()
    return Run(proc.returncode, proc.stdout + proc.stderr, seeds, _verdicts(report_dir), cache_dir)


def cached_seeds(directory: Path) -> set[int]:
    """Seeds of the draws on disk (what a resumed run must not ask for again)."""
    seeds: set[int] = set()
    for path in directory.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "index" in row:
                seeds.add(row["seed"])
    return seeds


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as s:
        yield s


@pytest.fixture(scope="module")
def reference(server: OpenAIServer, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A full run with an empty cache: every draw the selection needs."""
    base = tmp_path_factory.mktemp("reference")
    first = run(server, ["--cache-dir", str(base / "cache")], base / "reports")
    assert first.returncode == 0, first.output
    assert first.seeds and len(set(first.seeds)) == len(first.seeds)
    return first


@pytest.mark.subprocess
def test_second_identical_run_makes_no_call(
    server: OpenAIServer, reference: Run, tmp_path: Path
) -> None:
    first = run(server, ["--cache-dir", str(tmp_path / "cache")], tmp_path / "r1")
    second = run(server, ["--cache-dir", str(tmp_path / "cache")], tmp_path / "r2")
    assert first.returncode == second.returncode == 0, second.output
    assert sorted(first.seeds) == sorted(reference.seeds)
    assert second.seeds == []  # zero calls reached the server
    assert second.verdicts == first.verdicts == reference.verdicts
    hits = len(first.seeds)
    assert f"calls 0, cache hits {hits} / misses 0" in second.output
    assert f"cache hits 0 / misses {hits}" in first.output


@pytest.mark.subprocess
def test_killed_run_resumes_with_only_the_missing_draws(reference: Run, tmp_path: Path) -> None:
    with OpenAIServer(latency=0.02) as slow:
        cache = tmp_path / "cache"
        proc = subprocess.Popen(
            _command(["--cache-dir", str(cache)], tmp_path / "killed"),
            cwd=ROOT,
            env=_env(slow),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while slow.requests < len(reference.seeds) // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        asked_before = set(slow.seeds)
        kept = cached_seeds(cache)
        assert kept and len(kept) < len(reference.seeds), "kill came too late to test resuming"
        assert kept <= asked_before

        resumed = run(slow, ["--cache-dir", str(cache)], tmp_path / "resumed")
    assert resumed.returncode == 0, resumed.output
    # exactly the draws missing from the cache were requested, each once
    assert len(resumed.seeds) == len(set(resumed.seeds))
    assert set(resumed.seeds) == set(reference.seeds) - kept
    assert resumed.verdicts == reference.verdicts


@pytest.mark.subprocess
def test_no_cache_and_refresh(server: OpenAIServer, reference: Run, tmp_path: Path) -> None:
    warm = tmp_path / "cache"
    shutil.copytree(reference.cache, warm)
    snapshot = {p.name: p.read_bytes() for p in warm.iterdir()}

    off = run(server, ["--cache-dir", str(warm), "--no-cache"], tmp_path / "off")
    assert sorted(off.seeds) == sorted(reference.seeds)  # a warm cache is not read ...
    assert {p.name: p.read_bytes() for p in warm.iterdir()} == snapshot  # ... nor written

    refreshed = run(server, ["--cache-dir", str(warm), "--refresh"], tmp_path / "refresh")
    assert sorted(refreshed.seeds) == sorted(reference.seeds)  # every draw asked for again
    assert refreshed.verdicts == off.verdicts == reference.verdicts
    assert "cache hits 0 / misses" in refreshed.output


# -- the store itself -------------------------------------------------------------------------


def _draw(index: int, text: str = "1") -> Draw:
    return Draw(index=index, seed=1000 + index, text=text, input_tokens=3, output_tokens=1)


def test_a_line_cut_short_by_a_crash_is_skipped_and_not_glued_to_the_next(
    tmp_path: Path,
) -> None:
    store = DrawStore(tmp_path)
    for i in range(3):
        store.put("k", _draw(i), {"model": "m"})
    path = tmp_path / "k.jsonl"
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 9])  # the last line loses its end, as in kill -9

    resumed = DrawStore(tmp_path)
    with pytest.warns(CacheRepairWarning, match="1 draw will be drawn again"):
        assert resumed.get("k", 0) is not None and resumed.get("k", 1) is not None
    assert resumed.get("k", 2) is None
    resumed.put("k", _draw(2, "zero"), {"model": "m"})

    fresh = DrawStore(tmp_path)
    found = fresh.get("k", 2)
    assert found is not None and found.text == "zero" and found.cached


def test_errors_are_not_kept_on_disk_and_refresh_overrides(tmp_path: Path) -> None:
    store = DrawStore(tmp_path)
    store.put("k", Draw(index=0, seed=1, text="", error="budget: x"), {})
    store.put("k", _draw(1, "old"), {})
    assert DrawStore(tmp_path).get("k", 0) is None
    refreshing = DrawStore(tmp_path, refresh=True)
    assert refreshing.get("k", 1) is None
    refreshing.put("k", _draw(1, "new"), {})
    found = DrawStore(tmp_path).get("k", 1)
    assert found is not None and found.text == "new"


def test_model_arguments_are_part_of_the_key_but_not_the_api_key() -> None:
    assert store_key("req", {}) == "req"
    assert store_key("req", {"avoidance": 0.4}) != store_key("req", {"avoidance": 0.0})
    assert store_key("req", {"avoidance": 0.4, "api_key": "a"}) == store_key(
        "req", {"avoidance": 0.4, "api_key": "b"}
    )


def test_credentials_never_key_or_reach_the_cache_file() -> None:
    from harness.run.cache import public_args, store_key

    args = {
        "api_key": "sk-test-123",
        "auth_token": "tok-456",
        "base_url": "https://user:hunter2@proxy.example/v1",
        "avoidance": 0.4,
    }
    shown = json.dumps(public_args(args))
    for secret in ("sk-test-123", "tok-456", "hunter2"):
        assert secret not in shown
    assert public_args(args)["avoidance"] == 0.4
    assert store_key("k", {}) == store_key("k", {"api_key": "rotated"})
    assert store_key("k", {"avoidance": 0.4}) != store_key("k", {})
