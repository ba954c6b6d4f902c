"""The ``[tool.harness]`` table of the project's ``pyproject.toml``.

Every run setting can live in one place, under the same names as the command
line options (``max_calls`` or ``max-calls`` for ``--max-calls``); the command
line wins, then this table, then the ``harness_*`` ini options, then defaults::

    [tool.harness]
    models = ["sim/indifferent", "openai/gpt-4o-mini"]
    alpha = 0.05
    max_calls = 2000
    max_cost = 5.0
    cache_dir = ".harness-cache"      # cache = false turns the draw cache off
    report_dir = "reports"
    baseline = "evals/baseline.json"
    baseline_margin = 0.1

    [tool.harness.model_args."sim/indifferent"]
    avoidance = 0.0

    [tool.harness.prices]
    "openai/gpt-4o-mini" = { input = 0.15, output = 0.60 }
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


class SettingsFileError(ValueError):
    """The pyproject.toml cannot be read or its [tool.harness] table is malformed."""


def pyproject_path(rootpath: Path, inipath: Path | None = None) -> Path:
    """The pyproject.toml that configures the run (pytest's inifile if it is one)."""
    if inipath is not None and inipath.name == "pyproject.toml":
        return inipath
    return rootpath / "pyproject.toml"


def harness_table(path: Path) -> dict[str, Any]:
    """``[tool.harness]`` of ``path`` with keys in option form (``max_calls``); {} if absent."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsFileError(f"{path}: {exc}") from None
    table = data.get("tool", {}).get("harness", {})
    if not isinstance(table, dict):
        raise SettingsFileError(f"{path}: [tool.harness] must be a table")
    return {str(k).replace("-", "_"): v for k, v in table.items()}
