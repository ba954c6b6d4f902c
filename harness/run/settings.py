"""Run settings: the one definition of every setting, and their sources resolved in order.

Each field marked with an :class:`Option` is a setting, under one name (say
``max_draws``) everywhere: the command-line option ``--max-draws``, the
``[tool.harness]`` key ``max_draws`` (or ``max-draws``) of the project's
``pyproject.toml``, and the ini option ``harness_max_draws``. The command line
wins, then ``[tool.harness]``, then the ini option, then the field's default::

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

An unknown key or a value of the wrong type is a :class:`SettingsError` naming
where it came from: TOML values must have the setting's type (``seed = "7"`` or
``refresh = "no"`` is an error, not a guess), except that a repeatable setting
given one string (``models = "sim/avoidant"``) is a list of that one value.
``cache`` is ``true`` or ``false``; ``model_args`` is a table of tables, one per
model. ``--model-arg`` for a model the run does not test is an error (it would
configure nothing); a ``model_args`` table may name other models, so that one
file serves several ``--model`` choices. A ``cache_dir`` or ``report_dir`` that
is a file, or a ``baseline`` that is a folder, is an error naming its source.
This module imports no pytest and no model library.
"""

from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

DEFAULT_MODEL = "local/smollm2-135m-instruct"
DEFAULT_SEED = 20240312
DEFAULT_CACHE_DIR = ".harness-cache"
#: [tool.harness] keys that are not run settings: the draw-cache switch and the price table.
EXTRA_KEYS = ("cache", "prices")


class SettingsError(ValueError):
    """A setting is unknown or has a bad value; the message names its source."""


@dataclass(frozen=True)
class Option:
    """Marks a settings field as settable by option, ``[tool.harness]`` key and ini option."""

    help: str
    flag: bool = False  # a switch: ``--name`` turns it on
    many: bool = False  # repeatable on the command line
    ini: bool = True  # also an ini option ``harness_<name>``
    option: str = ""  # the command-line name if not ``--<name>``
    metavar: str | None = None
    shown_default: str | None = None  # the default as --help states it, if not the field's


#: Generation settings a hypothesis (a prompt pair or a variant) may set for itself.
HYPOTHESIS_SETTINGS = ("max_tokens", "temperature", "stop_seqs", "system_prompt", "exact")


class GenerationSettings(BaseModel):
    """Generation settings of a run's draws.

    A hypothesis may set its own ``max_tokens``, ``temperature``, ``stop_seqs``,
    ``system_prompt`` and ``exact`` (:meth:`for_hypothesis`); a setting given on
    the command line is *pinned* and wins over the hypothesis's own.
    """

    model_config = ConfigDict(frozen=True)

    temperature: Annotated[float, Option("sampling temperature")] = Field(
        default=1.0, gt=0.0, description="must be > 0: the statistics need independent draws"
    )
    max_tokens: Annotated[int, Option("max tokens per reply")] = Field(
        default=16, gt=0, description="protocol answers are one word"
    )
    stop_seqs: Annotated[
        tuple[str, ...],
        Option("stop sequence, repeatable", many=True, option="--stop", metavar="SEQ"),
    ] = ()
    system_prompt: Annotated[
        str | None, Option("system prompt, sent as a leading system message", metavar="TEXT")
    ] = Field(default=None, min_length=1)
    exact: Annotated[
        bool,
        Option(
            "exact mode: shares from log-probabilities where the model exposes them (fixed-string "
            "replies exact, the rest sampled), else sampling, said per test",
            flag=True,
        ),
    ] = Field(
        default=False,
        description="not part of the draw cache key: exact mode's draws are ordinary draws",
    )
    pinned: tuple[str, ...] = Field(
        default=(),
        description="settings given on the command line: a hypothesis's own value does not "
        "override them",
    )
    max_connections: Annotated[int, Option("requests in flight at once per model")] = Field(
        default=32, gt=0, description="passed to inspect-ai as max_connections"
    )
    timeout: Annotated[
        int, Option("seconds one request may take before it is abandoned and retried")
    ] = Field(
        default=60,
        gt=0,
        description="per request (not for in-process models, nor for a --batch wait)",
    )
    max_retries: Annotated[
        int, Option("retries of a failed request (timeout, 429, 5xx, cut reply); 0: none")
    ] = Field(
        default=3,
        ge=0,
        description="the harness retries; inspect-ai's and the SDK's own retries are off, "
        "so every HTTP request is one counted call",
    )
    hedge: Annotated[
        float,
        Option(
            "re-send a request still unanswered this many times as long as the slowest reply "
            "of its batch (0: never)"
        ),
    ] = Field(
        default=1.5,
        ge=0.0,
        description="0: never; the first reply wins, each copy counts as a call and a retry",
    )
    batch: Annotated[
        int,
        Option(
            "send requests through the provider's batch API in batches of N "
            "(OpenAI, Anthropic, Google, Together: about half price, replies can take hours); "
            "0: off"
        ),
    ] = Field(default=0, ge=0, description="inspect-ai's GenerateConfig.batch size; 0: off")

    def for_hypothesis(self, overrides: Mapping[str, Any]) -> GenerationSettings:
        """These settings with a hypothesis's own (``None``: unset), unless pinned."""
        unknown = sorted(set(overrides) - set(HYPOTHESIS_SETTINGS))
        if unknown:
            raise ValueError(f"not a hypothesis generation setting: {', '.join(unknown)}")
        update = {k: v for k, v in overrides.items() if v is not None and k not in self.pinned}
        return self.model_copy(update=update) if update else self


class RunSettings(BaseModel):
    """Everything that decides how a run draws and judges."""

    model_config = ConfigDict(frozen=True)

    models: Annotated[
        tuple[str, ...],
        Option("inspect-ai model string, repeatable", many=True, option="--model", metavar="MODEL"),
    ] = (DEFAULT_MODEL,)
    model_args: Annotated[
        dict[str, dict[str, Any]],
        Option(
            "argument for one model, e.g. sim/indifferent:avoidance=0.4 (value read as JSON)",
            many=True,
            option="--model-arg",
            metavar="MODEL:KEY=VALUE",
            ini=False,
        ),
    ] = Field(default_factory=dict)
    seed: Annotated[int, Option("run seed")] = DEFAULT_SEED
    alpha: Annotated[float, Option("family-wise false-failure rate")] = Field(
        default=0.05, gt=0.0, lt=0.5, description="family-wise false-failure rate"
    )
    beta: Annotated[float, Option("miss rate at the stated margin")] = Field(
        default=0.1, gt=0.0, lt=0.5, description="miss rate at the stated margin"
    )
    max_draws: Annotated[int, Option("budget of draws per arm")] = Field(
        default=800,
        gt=0,
        description="budget per arm (and per paraphrase of a pooled claim); --plan says what "
        "budget keeps INCONCLUSIVE within the claim's alpha",
    )
    batch_size: Annotated[int, Option("draws per arm per round")] = Field(default=8, gt=0)
    min_compliance: Annotated[float, Option("required share of on-protocol replies")] = Field(
        default=0.5, ge=0.0, le=1.0, description="share of responses that must fit a category"
    )
    noncompliant: Annotated[
        Literal["skip", "fail"],
        Option("outcome when every arm a claim reads is shown off-protocol"),
    ] = "skip"
    inconclusive: Annotated[
        Literal["fail", "skip", "pass"], Option("outcome of an undecided test")
    ] = "fail"
    generation: GenerationSettings = GenerationSettings()
    report_dir: Annotated[Path, Option("where run outputs go")] = Path("reports")
    cache_dir: Annotated[
        Path | None,
        Option(
            "keep every draw on disk here and reuse it (--no-cache or cache = false: off)",
            shown_default=DEFAULT_CACHE_DIR,
        ),
    ] = Field(default=None, description="draw cache folder; None: off")
    refresh: Annotated[bool, Option("ignore cached draws (still writes)", flag=True)] = False
    max_calls: Annotated[int | None, Option("stop drawing after N model calls")] = Field(
        default=None, gt=0, description="model calls allowed"
    )
    max_cost: Annotated[float | None, Option("stop drawing after USD spent")] = Field(
        default=None, gt=0.0, description="USD allowed"
    )
    baseline: Annotated[Path | None, Option("compare every row's shares with this file")] = Field(
        default=None, description="baseline file to compare with"
    )
    baseline_margin: Annotated[float, Option("share move tolerated (0: any move shown)")] = Field(
        default=0.0, ge=0.0, lt=1.0, description="share move tolerated before a regression"
    )
    update_baseline: Annotated[bool, Option("write this run's rows to --baseline", flag=True)] = (
        False
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
