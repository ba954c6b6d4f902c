"""The CI recipe works on its first run and every later one: its own commands, run here.

The ``Run the hypotheses`` step of ``examples/github-workflow.yml`` is read
from the file and run with bash, as GitHub Actions would, in a fresh copy of
the project (the evals, the conftest, pyproject.toml; no baseline, no draw
cache, no reports), with simulated models in ``MODELS``:

1. first run: no baseline yet, so it runs, writes one, says how to commit it: exit 0;
2. a later run (a new CI run: no draw cache) with a second model (``sim/biased``
   set to guess evenly): one worker per model, the baseline checked, the new
   model's rows only listed: exit 0;
3. the same model name now chatters 90% of the time (a provider changed it):
   exit 1, with the regression named in the log and on the page.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "examples" / "github-workflow.yml"

pytestmark = pytest.mark.subprocess


def _step(name: str) -> dict[str, Any]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["evals"]["steps"]
    found: dict[str, Any] = next(s for s in steps if s.get("name") == name)
    return found


def _project(path: Path) -> Path:
    """A fresh clone, as far as the recipe can tell: sources, no outputs."""
    shutil.copytree(ROOT / "evals", path / "evals", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "conftest.py", path / "conftest.py")
    shutil.copy(ROOT / "pyproject.toml", path / "pyproject.toml")
    (path / ".venv").symlink_to(ROOT / ".venv")  # scripts/setup.sh's environment
    return path


def _run_step(project: Path, models: str, summary: Path) -> subprocess.CompletedProcess[str]:
    step = _step("Run the hypotheses")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GITHUB_"))}
    for key, value in step["env"].items():
        env[key] = "" if "${{" in str(value) else str(value)  # no secrets here
    env["MODELS"] = models
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    env["PYTEST_ADDOPTS"] = "-k original -p no:cacheprovider"  # the original prompts' tests
    return subprocess.run(
        ["bash", "-c", step["run"]],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_the_recipe_bootstraps_then_checks_and_catches_a_chattering_model(tmp_path: Path) -> None:
    project = _project(tmp_path / "clone")
    baseline = project / "evals" / "baseline.json"
    summary = tmp_path / "summary.md"
    assert not baseline.exists()

    first = _run_step(project, "sim/indifferent", summary)
    log = first.stdout + first.stderr
    assert first.returncode == 0, log[-4000:]
    assert baseline.is_file(), log[-4000:]
    assert "--update-baseline" in log and " -n " not in log.splitlines()[0]  # one model: serial
    assert "No baseline yet: this run wrote evals/baseline.json" in log
    assert "git add evals/baseline.json" in summary.read_text()

    shutil.rmtree(project / ".harness-cache")  # a new CI run starts without draws
    stored = baseline.read_text()
    with (project / "pyproject.toml").open("a", encoding="utf-8") as f:  # a second good model
        f.write('\n[tool.harness.model_args."sim/biased"]\np_one = 0.5\n')
    second = _run_step(project, "sim/indifferent sim/biased", summary)
    log = second.stdout + second.stderr
    assert second.returncode == 0, log[-4000:]
    command = log.splitlines()[0]
    assert "--noncompliant fail" in command and "--update-baseline" not in command
    assert re.search(r" -n 2\b", command), command  # one worker per model
    assert "no regression beyond the margin" in log
    assert "new rows, not in the baseline" in log and "sim/biased" in log
    assert baseline.read_text() == stored  # checking never rewrites it

    shutil.rmtree(project / ".harness-cache")
    with (project / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write('\n[tool.harness.model_args."sim/indifferent"]\nchatter = 0.9\n')  # same name
    third = _run_step(project, "sim/indifferent", summary)
    log = third.stdout + third.stderr
    assert third.returncode == 1, log[-4000:]
    assert "REGRESSED" in log
    assert "compliance (on-protocol share of all replies) fell" in log
    page = (project / "reports" / "latest" / "index.html").read_text(encoding="utf-8")
    assert 'id="baseline" class="failed"' in page
