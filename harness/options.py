"""Run settings from the command line, ``[tool.harness]``, ini options and defaults.

Precedence: command line, then the ``[tool.harness]`` table of the rootdir's
``pyproject.toml``, then ``harness_*`` ini options, then :class:`RunSettings`
defaults. Bad values stop the run with a usage error naming the option.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from harness.cache import DEFAULT_CACHE_DIR
from harness.config import DEFAULT_MODEL, DEFAULT_SEED, RunSettings
from harness.hypothesis import describe_errors
from harness.settings_file import SettingsFileError, harness_table, pyproject_path

#: RunSettings fields settable by option, [tool.harness] key and ``harness_<name>`` ini.
RUN_SETTINGS = (
    "seed",
    "alpha",
    "beta",
    "max_draws",
    "batch_size",
    "min_compliance",
    "inconclusive",
    "report_dir",
    "cache_dir",
    "max_calls",
    "max_cost",
    "baseline",
    "baseline_margin",
)
#: GenerationSettings fields settable the same way.
GENERATION_SETTINGS = ("temperature", "max_tokens")


def add_options(parser: pytest.Parser) -> None:
    """Register the harness's command-line and ini options."""
    group = parser.getgroup("harness", "behavioral hypothesis harness")
    group.addoption(
        "--model",
        action="append",
        default=[],
        metavar="MODEL",
        help=f"inspect-ai model string, repeatable (default: ini harness_models, {DEFAULT_MODEL})",
    )
    group.addoption(
        "--model-arg",
        action="append",
        default=[],
        metavar="MODEL:KEY=VALUE",
        help="argument for one model, e.g. sim/indifferent:avoidance=0.4 (value read as JSON)",
    )
    group.addoption("--seed", type=int, default=None, help=f"run seed (default {DEFAULT_SEED})")
    group.addoption("--alpha", type=float, default=None, help="family-wise false-failure rate")
    group.addoption("--beta", type=float, default=None, help="miss rate at the stated margin")
    group.addoption("--max-draws", type=int, default=None, help="budget of draws per arm")
    group.addoption("--batch-size", type=int, default=None, help="draws per arm per round")
    group.addoption(
        "--min-compliance", type=float, default=None, help="required share of on-protocol replies"
    )
    group.addoption(
        "--inconclusive",
        choices=["fail", "skip", "pass"],
        default=None,
        help="outcome of an undecided test (default fail)",
    )
    group.addoption("--temperature", type=float, default=None, help="sampling temperature")
    group.addoption("--max-tokens", type=int, default=None, help="max tokens per reply")
    group.addoption("--report-dir", default=None, help="where run outputs go (default reports/)")
    group.addoption("--cache-dir", default=None, help="keep every draw on disk here and reuse it")
    group.addoption("--refresh", action="store_true", help="ignore cached draws (still writes)")
    group.addoption(
        "--no-cache",
        action="store_true",
        help=f"keep no draws on disk (default: cache in {DEFAULT_CACHE_DIR}/)",
    )
    group.addoption("--max-calls", type=int, default=None, help="stop drawing after N model calls")
    group.addoption("--max-cost", type=float, default=None, help="stop drawing after USD spent")
    group.addoption("--baseline", default=None, help="compare every row's shares with this file")
    group.addoption(
        "--baseline-margin",
        type=float,
        default=None,
        help="share move tolerated (default 0: any move shown)",
    )
    group.addoption(
        "--update-baseline", action="store_true", help="write this run's rows to --baseline"
    )
    group.addoption(
        "--plan",
        action="store_true",
        help="call no model: print each test's expected draws and power (tests are skipped)",
    )

    parser.addini("harness_models", "default models, one per line", type="linelist", default=[])
    for name in (*RUN_SETTINGS, *GENERATION_SETTINGS):
        parser.addini(f"harness_{name}", f"default for --{name.replace('_', '-')}", type="string")


def _option(config: pytest.Config, name: str) -> Any:
    """A setting: command line, then [tool.harness], then ini, else None."""
    value = config.getoption(name)
    if value is None:
        value = harness_file(config).get(name)
    if value is None:
        value = config.getini(f"harness_{name}") or None
    return value


_FILE = pytest.StashKey[dict[str, Any]]()


def harness_file(config: pytest.Config) -> dict[str, Any]:
    """The [tool.harness] table of the rootdir's pyproject.toml (read once)."""
    if _FILE not in config.stash:
        try:
            config.stash[_FILE] = harness_table(pyproject_path(config.rootpath, config.inipath))
        except SettingsFileError as exc:
            raise pytest.UsageError(f"[tool.harness]: {exc}") from None
    return config.stash[_FILE]


def settings_from(config: pytest.Config) -> RunSettings:
    """Build the run's settings: command line, then [tool.harness], then ini, then defaults."""
    chosen = (
        config.getoption("model")
        or harness_file(config).get("models")
        or config.getini("harness_models")
        or [DEFAULT_MODEL]
    )
    models = tuple(dict.fromkeys(chosen))  # a repeated --model would duplicate every test
    values: dict[str, Any] = {"models": models, "model_args": _model_args(config)}
    for name in RUN_SETTINGS:
        value = _option(config, name)
        if value is not None:
            values[name] = value
    generation: dict[str, Any] = {}
    for name in GENERATION_SETTINGS:
        value = _option(config, name)
        if value is not None:
            generation[name] = value
    values["generation"] = generation
    values["refresh"] = bool(config.getoption("refresh") or harness_file(config).get("refresh"))
    values["update_baseline"] = bool(
        config.getoption("update_baseline") or harness_file(config).get("update_baseline")
    )
    if config.getoption("no_cache") or harness_file(config).get("cache") is False:
        values["cache_dir"] = None
    else:  # on by default, relative paths from the rootdir
        values["cache_dir"] = config.rootpath / values.get("cache_dir", DEFAULT_CACHE_DIR)
    if values.get("baseline") is not None:
        values["baseline"] = config.rootpath / values["baseline"]
    if values["update_baseline"] and values.get("baseline") is None:
        raise pytest.UsageError("--update-baseline needs --baseline PATH (or baseline in config)")
    try:
        return RunSettings(**values)
    except ValidationError as exc:
        raise pytest.UsageError(f"harness settings: {describe_errors(exc)}") from None


def _model_args(config: pytest.Config) -> dict[str, dict[str, Any]]:
    configured = harness_file(config).get("model_args") or {}
    out: dict[str, dict[str, Any]] = {m: dict(args) for m, args in configured.items()}
    for spec in config.getoption("model_arg"):
        match = re.fullmatch(r"(.+):([A-Za-z_]\w*)=(.*)", spec)
        if match is None:
            raise pytest.UsageError(f"--model-arg {spec!r}: expected MODEL:KEY=VALUE")
        model, key, raw = match.groups()
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(model, {})[key] = value
    return out
