"""[tool.harness] in pyproject.toml: read into the options' names; errors are usage errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.run.settings import SettingsError, harness_table, pyproject_path
from tests.conftest import ROOT, run_pytest

AVOID_NONE = "sim/indifferent:avoidance=0.0"


def test_table_keys_take_the_options_names(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        "[tool.harness]\nmax-calls = 5\nbaseline_margin = 0.1\n"
        '[tool.harness.model_args."sim/indifferent"]\navoidance = 0.4\n'
    )
    table = harness_table(path)
    assert table["max_calls"] == 5 and table["baseline_margin"] == 0.1
    assert table["model_args"] == {"sim/indifferent": {"avoidance": 0.4}}
    assert harness_table(tmp_path / "missing.toml") == {}
    assert pyproject_path(tmp_path, None) == path
    path.write_text("[tool.harness\n")
    with pytest.raises(SettingsError):
        harness_table(path)


def _project(tmp_path: Path, table: str) -> Path:
    (tmp_path / "evals").mkdir()
    shutil.copy(ROOT / "evals" / "test_zero_vs_random.py", tmp_path / "evals")
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["harness.plugin"]\n')
    (tmp_path / "pyproject.toml").write_text(table)
    return tmp_path


def test_model_args_and_paths_from_config_reconfigure_the_run(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        "[tool.harness]\nmodels = ['sim/indifferent']\ncache_dir = 'draws'\nreport_dir = 'out'\n"
        '[tool.harness.model_args."sim/indifferent"]\navoidance = 0.9\n',
    )
    proc = run_pytest(["evals/", "-p", "no:cacheprovider", "-k", "original"], cwd=project)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out  # avoidance 0.9 from the file: the claims fail
    assert list((project / "draws").glob("*.jsonl"))
    assert list((project / "out").glob("*/results.json"))
    proc = run_pytest(
        [*("evals/", "-p", "no:cacheprovider", "-k", "original"), "--model-arg", AVOID_NONE],
        cwd=project,
    )
    assert proc.returncode == 0, proc.stdout  # the command line wins per key


def test_a_malformed_table_is_a_usage_error(tmp_path: Path) -> None:
    project = _project(tmp_path, "[tool.harness]\nmax_calls = 'many'\n")
    proc = run_pytest(["evals/", "-p", "no:cacheprovider"], cwd=project)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "max_calls" in proc.stdout + proc.stderr
