"""Where settings come from: the command line, ``[tool.harness]``, ini options, defaults.

:func:`settings` lists every settable field of :mod:`harness.run.settings` (the
one definition); :func:`harness_table` reads the ``[tool.harness]`` table of
the project's ``pyproject.toml``; :func:`resolve` merges the sources in order
(command line, then ``[tool.harness]``, then ini, then the field's default) and
raises a :class:`~harness.run.settings.SettingsError` naming the source of a
bad value. This module imports no pytest and no model library.
"""

from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from harness.run.settings import (
    DEFAULT_CACHE_DIR,
    EXTRA_KEYS,
    HYPOTHESIS_SETTINGS,
    GenerationSettings,
    Option,
    RunSettings,
    SettingsError,
)


@dataclass(frozen=True)
class Setting:
    """One settable field: its name, where it lives, its option and its type."""

    name: str
    owner: type[BaseModel]
    option: Option
    info: FieldInfo

    @property
    def cli(self) -> str:
        """The command-line option, e.g. ``--max-draws``."""
        return self.option.option or "--" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        """The ini option, e.g. ``harness_max_draws``."""
        return f"harness_{self.name}"

    @property
    def scalar(self) -> type:
        """int, float, bool or str: the type a command-line value is read as."""
        kinds = list(_members(self.info.annotation))
        if bool in kinds:
            return bool
        if int in kinds:
            return int
        return float if float in kinds else str

    @property
    def choices(self) -> tuple[str, ...]:
        """The allowed values of a Literal setting (else empty)."""
        found = [a for a in _members(self.info.annotation) if isinstance(a, str)]
        return tuple(found)

    @property
    def default(self) -> Any:
        """The default as --help shows it."""
        if self.option.shown_default is not None:
            return self.option.shown_default
        return self.info.get_default(call_default_factory=True)


def _members(annotation: Any) -> Iterator[Any]:
    """The types (or literal values) an annotation allows, unions and Literal opened."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _members(arg)
    elif origin is Literal:
        yield from typing.get_args(annotation)
    else:
        yield annotation


def settings() -> list[Setting]:
    """Every setting, run settings first, then generation settings."""
    out = []
    for owner in (RunSettings, GenerationSettings):
        for name, info in owner.model_fields.items():
            marks = [m for m in info.metadata if isinstance(m, Option)]
            if marks:
                out.append(Setting(name, owner, marks[0], info))
    return out


def pyproject_path(rootpath: Path, inipath: Path | None = None) -> Path:
    """The pyproject.toml that configures the run (pytest's inifile if it is one)."""
    if inipath is not None and inipath.name == "pyproject.toml":
        return inipath
    return rootpath / "pyproject.toml"


def harness_table(path: Path) -> dict[str, Any]:
    """``[tool.harness]`` of ``path`` with keys in setting form (``max_calls``); {} if absent.

    An unknown key is an error naming it.
    """
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: {exc}") from None
    table = data.get("tool", {}).get("harness", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [tool.harness] must be a table")
    out = {str(k).replace("-", "_"): v for k, v in table.items()}
    known = [s.name for s in settings()] + list(EXTRA_KEYS)
    unknown = sorted(set(out) - set(known))
    if unknown:
        raise SettingsError(
            f"[tool.harness] unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )
    for s in settings():
        if s.name in out:
            out[s.name] = _table_value(s, out[s.name])
    if "cache" in out and not isinstance(out["cache"], bool):
        raise SettingsError(
            f"[tool.harness] cache: expected true or false, got {_toml(out['cache'])}"
        )
    return out


_KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _toml(value: Any) -> str:
    """A value as TOML writes it (true, 'no', 5, ['a', 3])."""
    return ("true" if value else "false") if isinstance(value, bool) else repr(value)


def _table_value(s: Setting, value: Any) -> Any:
    """A ``[tool.harness]`` value checked against its setting's type (TOML values are typed)."""
    where = f"[tool.harness] {s.name}"
    if s.name == "model_args":
        example = '[tool.harness.model_args."sim/indifferent"] with avoidance = 0.4'
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise SettingsError(
                f"{where}: expected a table per model, e.g. {example}; got {_toml(value)}"
            )
        return value
    if s.option.many:
        if isinstance(value, str):
            return [value]  # one model, one stop sequence
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{where}: expected a list of strings, got {_toml(value)}")
        return value
    kind = s.scalar
    if kind is str and s.choices and value not in s.choices:
        wanted = " or ".join(repr(c) for c in s.choices)
        raise SettingsError(f"{where}: expected {wanted}, got {_toml(value)}")
    fits = (
        isinstance(value, bool)
        if kind is bool
        else isinstance(value, int) and not isinstance(value, bool)
        if kind is int
        else isinstance(value, int | float) and not isinstance(value, bool)
        if kind is float
        else isinstance(value, str)
    )
    if not fits:
        raise SettingsError(f"{where}: expected {_KINDS[kind]}, got {_toml(value)}")
    return value


def resolve(
    cli: Mapping[str, Any],
    table: Mapping[str, Any],
    ini: Mapping[str, Any],
    root: Path,
    no_cache: bool = False,
) -> RunSettings:
    """The run's settings: each from the command line, else the table, else ini, else default.

    ``cli`` and ``ini`` map setting names to values (None or absent: not
    given); ``table`` is :func:`harness_table`. Relative ``cache_dir`` and
    ``baseline`` paths are taken from ``root``; the draw cache is on (in
    ``.harness-cache``) unless ``no_cache`` or ``cache = false``.
    """
    origin: dict[str, str] = {}
    values: dict[str, Any] = {}
    for s in settings():
        for value, where in (
            (cli.get(s.name), s.cli),
            (table.get(s.name), f"[tool.harness] {s.name}"),
            (ini.get(s.name), f"ini {s.ini}"),
        ):
            if value is None:
                continue
            if s.option.flag and where.startswith("[") and not isinstance(value, bool):
                raise SettingsError(f"{where}: expected true or false, got {_toml(value)}")
            values[s.name], origin[s.name] = value, where
            break
    cache = table.get("cache", True)
    if not isinstance(cache, bool):
        raise SettingsError(f"[tool.harness] cache: expected true or false, got {cache!r}")
    if no_cache or not cache:
        values["cache_dir"] = None
    else:  # on by default, relative paths from the rootdir
        values["cache_dir"] = root / values.get("cache_dir", DEFAULT_CACHE_DIR)
        _check_folder(values["cache_dir"], origin.get("cache_dir", "cache_dir (default)"))
    _check_folder(
        root / values.get("report_dir", "reports"), origin.get("report_dir", "report_dir")
    )
    if values.get("baseline") is not None:
        values["baseline"] = root / values["baseline"]
        if values["baseline"].is_dir():
            raise SettingsError(
                f"{origin['baseline']}: {values['baseline']} is a folder, not a file"
            )
    if values.get("update_baseline") and values.get("baseline") is None:
        raise SettingsError("--update-baseline needs --baseline PATH (or baseline in config)")
    if isinstance(values.get("models"), list):  # a repeated --model would duplicate every test
        values["models"] = tuple(dict.fromkeys(values["models"]))
    models = values.get("models", RunSettings.model_fields["models"].default)
    for model, args in (cli.get("model_args") or {}).items():
        if model not in models:
            first = next(iter(args), "KEY")
            raise SettingsError(
                f"--model-arg {model}:{first}=...: {model} is not a model of this run "
                f"(models: {', '.join(models)}; add --model {model})"
            )
    if isinstance(table.get("model_args"), dict) and isinstance(cli.get("model_args"), dict):
        merged = {m: dict(a) for m, a in table["model_args"].items() if isinstance(a, dict)}
        for model, args in cli["model_args"].items():  # the command line wins per key
            merged.setdefault(model, {}).update(args)
        values["model_args"] = merged
    names = GenerationSettings.model_fields
    values["generation"] = {k: values.pop(k) for k in list(values) if k in names}
    values["generation"]["pinned"] = tuple(
        s.name for s in settings() if s.name in HYPOTHESIS_SETTINGS and origin.get(s.name) == s.cli
    )
    try:
        return RunSettings(**values)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, origin)) from None


def _check_folder(path: Path, where: str) -> None:
    """A folder setting must not name a file, nor lie under one."""
    for place in (path, *path.parents):
        if place.exists():
            if not place.is_dir():
                what = "is a file" if place == path else f"is under the file {place}"
                raise SettingsError(f"{where}: {path} {what}, not a folder")
            return


def _describe(exc: ValidationError, origin: Mapping[str, str]) -> str:
    """pydantic errors as ``<source>: message`` joined by '; '."""
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        name = loc[1] if loc[:1] == ["generation"] and len(loc) > 1 else (loc or ["(root)"])[0]
        where = origin.get(name, name)
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)
