"""Shared helpers for the harness's own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class EvalRun:
    """A finished ``pytest evals/`` subprocess."""

    returncode: int
    output: str
    report_dir: Path

    def results(self) -> dict[str, Any]:
        """The run's results.json (the only run in ``report_dir``)."""
        found = sorted(p for p in self.report_dir.glob("*/results.json") if "latest" not in p.parts)
        assert found, f"no results.json under {self.report_dir}\n{self.output}"
        data: dict[str, Any] = json.loads(found[-1].read_text())
        return data

    def verdicts(self) -> dict[tuple[str, str, str], str]:
        """(test function, variant, model) -> verdict."""
        out = {}
        for o in self.results()["outcomes"]:
            test = o["test"].split("::")[-1].split("[")[0]
            out[(test, o["variant"], o["model"])] = o["verdict"]
        return out


def run_pytest(
    args: list[str], cwd: Path = ROOT, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run pytest in a subprocess with this interpreter; no network is needed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def run_evals(tmp_path: Path) -> Any:
    """Run ``pytest evals/`` with extra arguments; reports and draw cache go to a temp folder.

    Each call gets its own empty draw cache, so every run really calls its models.
    """

    def run(*args: str, target: str = "evals/") -> EvalRun:
        report_dir = tmp_path / f"reports-{len(list(tmp_path.glob('reports-*')))}"
        proc = run_pytest(
            [
                target,
                "-p",
                "no:cacheprovider",
                "--report-dir",
                str(report_dir),
                "--cache-dir",
                str(tmp_path / f"draws-{report_dir.name}"),
                *args,
            ]
        )
        return EvalRun(proc.returncode, proc.stdout + proc.stderr, report_dir)

    return run
