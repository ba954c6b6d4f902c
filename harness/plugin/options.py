"""Plugin options: command-line and ini options derived from the run settings, and configure.

Every field of :class:`harness.run.settings.RunSettings` marked with an
:class:`~harness.run.settings.Option` becomes ``--<name>`` and ini
``harness_<name>`` here, with its help text and default; the values are
resolved by :func:`harness.run.sources.resolve`. Bad values stop the run with
a one-line usage error naming the option or key. ``pytest_configure`` turns
them into the run's :class:`~harness.plugin.state.RunState`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from harness.define.behavior import MARKER
from harness.plugin.state import STATE, RunState, is_worker
from harness.run.settings import RunSettings, SettingsError
from harness.run.sources import Setting, harness_table, pyproject_path, resolve, settings

_TABLE = pytest.StashKey[dict[str, Any]]()


def add_options(parser: pytest.Parser) -> None:
    """Register one command-line option (and ini option) per setting, plus the run switches."""
    group = parser.getgroup("harness", "behavioral hypothesis harness")
    for s in settings():
        group.addoption(s.cli, **_argparse(s))
        if s.option.ini:
            if s.option.many:
                parser.addini(s.ini, f"default for {s.cli}", type="linelist")
            else:
                parser.addini(s.ini, f"default for {s.cli}", type="string")
    group.addoption(
        "--no-cache", action="store_true", help="keep no draws on disk (same as cache = false)"
    )
    group.addoption(
        "--plan",
        action="store_true",
        help="call no model: print each test's expected draws and power (tests are skipped)",
    )


def _argparse(s: Setting) -> dict[str, Any]:
    """The argparse arguments of one setting's option."""
    default = s.default
    shown = ", ".join(default) if isinstance(default, tuple) else default
    help_text = f"{s.option.help} (default: {shown})" if shown not in (None, {}) else s.option.help
    if s.option.flag:
        return {"action": "store_true", "default": None, "help": s.option.help}
    out: dict[str, Any] = {"default": None, "help": help_text, "dest": s.name}
    if s.option.many:
        out["action"] = "append"
    elif s.choices:
        out["choices"] = list(s.choices)
    elif s.scalar in (int, float):
        out["type"] = s.scalar
    if s.option.metavar:
        out["metavar"] = s.option.metavar
    return out


def harness_file(config: pytest.Config) -> dict[str, Any]:
    """The [tool.harness] table of the rootdir's pyproject.toml (read once)."""
    if _TABLE not in config.stash:
        try:
            config.stash[_TABLE] = harness_table(pyproject_path(config.rootpath, config.inipath))
        except SettingsError as exc:
            raise pytest.UsageError(f"harness settings: {exc}") from None
    return config.stash[_TABLE]


def settings_from(config: pytest.Config) -> RunSettings:
    """The run's settings: command line, then [tool.harness], then ini, then defaults."""
    cli: dict[str, Any] = {}
    ini: dict[str, Any] = {}
    for s in settings():
        cli[s.name] = config.getoption(s.name)
        if s.option.ini:
            ini[s.name] = config.getini(s.ini) or None
    cli["model_args"] = _model_args(cli["model_args"] or [])
    try:
        return resolve(
            cli,
            harness_file(config),
            ini,
            config.rootpath,
            no_cache=bool(config.getoption("no_cache")),
        )
    except SettingsError as exc:
        raise pytest.UsageError(f"harness settings: {exc}") from None


def _model_args(specs: list[str]) -> dict[str, dict[str, Any]] | None:
    """``--model-arg MODEL:KEY=VALUE`` options as {model: {key: value}} (values read as JSON)."""
    out: dict[str, dict[str, Any]] = {}
    for spec in specs:
        match = re.fullmatch(r"(.+):([A-Za-z_]\w*)=(.*)", spec)
        if match is None:
            raise pytest.UsageError(f"--model-arg {spec!r}: expected MODEL:KEY=VALUE")
        model, key, raw = match.groups()
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(model, {})[key] = value
    return out or None


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Resolve the settings; set up drawing; on the controller, register the collector."""
    from harness.plugin.evaluation import configure

    config.addinivalue_line("markers", f"{MARKER}(pair, claim, variants): a hypothesis test")
    # inspect-ai builds tenacity's wait with a deprecated argument on every call: hundreds of
    # warnings per run that say nothing about the run
    config.addinivalue_line(
        "filterwarnings", "ignore:The 'initial' parameter is deprecated:DeprecationWarning"
    )
    state = RunState(settings=settings_from(config))
    config.stash[STATE] = state
    configure(config, state)
    if not is_worker(config):  # workers never import the collector nor the report stack
        from harness.plugin.collector import PLUGIN_NAME, Collector

        config.pluginmanager.register(Collector(config, state), PLUGIN_NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    if is_worker(config):
        return
    from harness.plugin.collector import PLUGIN_NAME

    collector = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if collector is not None:
        config.pluginmanager.unregister(collector)
