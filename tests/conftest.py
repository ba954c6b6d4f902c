"""Test helpers: ``pytest evals/`` runs in-process (pytester) or as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_CONFTEST = 'pytest_plugins = ["harness.plugin"]\n'


@dataclass
class EvalRun:
    """A finished ``pytest evals/`` run."""

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


def evals_project(path: Path, pyproject: str | None = None) -> Path:
    """A project at ``path``: the evals, a conftest enabling the plugin, a pyproject."""
    (path / "evals").mkdir(exist_ok=True)
    shutil.copy(ROOT / "evals" / "test_zero_vs_random.py", path / "evals")
    (path / "conftest.py").write_text(PLUGIN_CONFTEST)
    if pyproject is not None:
        (path / "pyproject.toml").write_text(pyproject)
    return path


RunEvals = Callable[..., EvalRun]


@pytest.fixture
def run_evals(pytester: pytest.Pytester) -> RunEvals:
    """Run ``pytest evals/`` with extra arguments in a fresh project; reports and draws there.

    In-process by default (pytester); ``subprocess=True`` starts a new
    interpreter (needed for ``-n N``). Each call gets its own empty draw cache,
    so every run really calls its models.
    """
    project = evals_project(pytester.path)

    def run(*args: str, target: str = "evals/", subprocess: bool = False) -> EvalRun:
        report_dir = project / f"reports-{len(list(project.glob('reports-*')))}"
        full = [
            target,
            "-p",
            "no:cacheprovider",
            "--report-dir",
            str(report_dir),
            "--cache-dir",
            str(project / f"draws-{report_dir.name}"),
            *args,
        ]
        if subprocess:
            result = pytester.runpytest_subprocess(*full, timeout=600)
        else:
            result = pytester.runpytest_inprocess(*full)
        output = "\n".join([*result.outlines, *result.errlines])
        return EvalRun(int(result.ret), output, report_dir)

    return run
