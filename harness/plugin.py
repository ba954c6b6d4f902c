"""The pytest plugin: options, the model axis, verdict outcomes, run summary.

Enabled by the root ``conftest.py`` (``pytest_plugins = ["harness.plugin"]``).
Workers (pytest-xdist) evaluate tests and attach each outcome to its report;
the controller, never a worker, gathers them and writes the run's results.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from harness.claims import Claim
from harness.config import DEFAULT_MODEL, DEFAULT_SEED, RunSettings
from harness.hypothesis import HypothesisError, PromptPair, describe_errors
from harness.markers import MARKER
from harness.records import Outcome, Verdict
from harness.results import RunResults
from harness.runner import evaluate
from harness.sampling import DrawStore, GenerationSettings, Sampler, Usage
from harness.summary import summary_lines
from harness.verdict import explain, short

OUTCOME_KEY = "harness_outcome"
USAGE_KEY = "harness_usage"


@dataclass
class State:
    """Per-process state of a run."""

    settings: RunSettings
    started: dt.datetime
    family_size: int = 0
    sampler: Sampler | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    usage: dict[str, Usage] = field(default_factory=dict)
    results_path: Path | None = None


STATE = pytest.StashKey[State]()


# -- options -------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
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

    parser.addini("harness_models", "default models, one per line", type="linelist", default=[])
    for name in (
        "seed",
        "alpha",
        "beta",
        "max_draws",
        "batch_size",
        "min_compliance",
        "inconclusive",
        "temperature",
        "max_tokens",
        "report_dir",
        "cache_dir",
    ):
        parser.addini(f"harness_{name}", f"default for --{name.replace('_', '-')}", type="string")


def _option(config: pytest.Config, name: str) -> Any:
    value = config.getoption(name)
    if value is None:
        value = config.getini(f"harness_{name}") or None
    return value


def settings_from(config: pytest.Config) -> RunSettings:
    """Build the run's settings from the command line, then ini, then defaults."""
    models = tuple(config.getoption("model") or config.getini("harness_models") or [DEFAULT_MODEL])
    values: dict[str, Any] = {"models": models, "model_args": _model_args(config)}
    for name in (
        "seed",
        "alpha",
        "beta",
        "max_draws",
        "batch_size",
        "min_compliance",
        "inconclusive",
        "report_dir",
        "cache_dir",
    ):
        value = _option(config, name)
        if value is not None:
            values[name] = value
    generation: dict[str, Any] = {}
    for name in ("temperature", "max_tokens"):
        value = _option(config, name)
        if value is not None:
            generation[name] = value
    values["generation"] = GenerationSettings(**generation)
    values["refresh"] = bool(config.getoption("refresh"))
    try:
        return RunSettings(**values)
    except ValidationError as exc:
        raise pytest.UsageError(f"harness settings: {describe_errors(exc)}") from None


def _model_args(config: pytest.Config) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(pair, claim, variants): a hypothesis test")
    settings = settings_from(config)
    config.stash[STATE] = State(settings=settings, started=dt.datetime.now(dt.UTC))
    if getattr(config.option, "dist", "no") == "load" and getattr(
        config.option, "numprocesses", None
    ):
        config.option.dist = "loadgroup"  # keep each model on one worker: one load per model


# -- collection ------------------------------------------------------------------------------


class HypothesisModule(pytest.Module):
    """A test module whose bad hypothesis definitions are reported in one line."""

    def _getobj(self) -> Any:
        try:
            return super()._getobj()  # type: ignore[no-untyped-call]
        except HypothesisError as exc:
            raise self.CollectError(f"{self.path.name}: {exc}") from None
        except ValidationError as exc:
            line = _user_line(exc, self.path)
            raise self.CollectError(
                f"{self.path.name}{line}: invalid {exc.title}: {describe_errors(exc)}"
            ) from None


def _user_line(exc: BaseException, path: Path) -> str:
    tb = exc.__traceback__
    found = ""
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == path:
            found = f":{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> Any:
    if module_path.name == "__init__.py":
        return None
    return HypothesisModule.from_parent(parent, path=module_path)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        return
    state = metafunc.config.stash[STATE]
    metafunc.parametrize("harness_variant", marker.kwargs["variants"])
    metafunc.parametrize(
        "harness_model",
        [pytest.param(m, id=m, marks=pytest.mark.xdist_group(m)) for m in state.settings.models],
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = config.stash[STATE]
    state.family_size = sum(1 for item in items if item.get_closest_marker(MARKER) is not None)


def pytest_deselected(items: list[pytest.Item]) -> None:
    if not items:
        return
    state = items[0].config.stash[STATE]
    gone = sum(1 for item in items if item.get_closest_marker(MARKER) is not None)
    state.family_size = max(0, state.family_size - gone)


# -- evaluation ------------------------------------------------------------------------------


@pytest.fixture
def harness_model(request: pytest.FixtureRequest) -> str:
    """The model under test (parametrized by the plugin)."""
    return str(request.param)


@pytest.fixture
def harness_variant(request: pytest.FixtureRequest) -> str:
    """The variant under test (parametrized by the plugin)."""
    return str(request.param)


def _sampler(state: State) -> Sampler:
    if state.sampler is None:
        s = state.settings
        store = DrawStore(s.cache_dir, refresh=s.refresh) if s.cache_dir else DrawStore()
        state.sampler = Sampler(s.generation, s.seed, store=store, model_args=s.model_args)
    return state.sampler


@pytest.fixture
def outcome(request: pytest.FixtureRequest, harness_model: str, harness_variant: str) -> Outcome:
    """The decided claim for this test's model and variant."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        raise pytest.UsageError("the outcome fixture is only for @behavior tests")
    pair: PromptPair = marker.kwargs["pair"]
    claim: Claim = marker.kwargs["claim"]
    state = request.config.stash[STATE]
    sampler = _sampler(state)
    before = {k: v.model_copy() for k, v in sampler.usage.items()}
    try:
        sampler.model(harness_model)
    except Exception as exc:  # unknown provider, missing key, missing file
        pytest.fail(f"model {harness_model!r} cannot be used: {exc}", pytrace=False)
    result = evaluate(
        pair,
        harness_variant,
        claim,
        harness_model,
        sampler,
        state.settings,
        family_size=max(1, state.family_size),
        test=request.node.nodeid,
    )
    request.node.stash[_OUTCOME] = result
    request.node.stash[_USAGE] = _usage_delta(before, sampler.usage)
    return result


_OUTCOME = pytest.StashKey[Outcome]()
_USAGE = pytest.StashKey[dict[str, Usage]]()


def _usage_delta(before: dict[str, Usage], after: dict[str, Usage]) -> dict[str, Usage]:
    out = {}
    for model, now in after.items():
        then = before.get(model, Usage())
        out[model] = Usage(**{k: getattr(now, k) - getattr(then, k) for k in Usage.model_fields})
    return out


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    result = yield
    found = pyfuncitem.stash.get(_OUTCOME, None)
    if found is not None:
        _apply_verdict(found, pyfuncitem.config.stash[STATE].settings)
    return result


def _apply_verdict(outcome: Outcome, settings: RunSettings) -> None:
    """Map a verdict to pytest's outcome (FAIL fails, NONCOMPLIANT skips, ...)."""
    if outcome.verdict is Verdict.FAIL:
        pytest.fail(explain(outcome), pytrace=False)
    if outcome.verdict is Verdict.NONCOMPLIANT:
        pytest.skip(short(outcome))
    if outcome.verdict is Verdict.INCONCLUSIVE:
        if settings.inconclusive == "fail":
            pytest.fail(explain(outcome), pytrace=False)
        if settings.inconclusive == "skip":
            pytest.skip(short(outcome))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    found = item.stash.get(_OUTCOME, None)
    if found is not None and report.when == "call":
        setattr(report, OUTCOME_KEY, found.model_dump(mode="json"))
        setattr(
            report,
            USAGE_KEY,
            {k: v.model_dump() for k, v in item.stash.get(_USAGE, {}).items()},
        )
        for key, value in _junit_properties(found):
            item.user_properties.append((key, value))
            report.user_properties.append((key, value))
    return report


def _junit_properties(outcome: Outcome) -> Iterator[tuple[str, str]]:
    yield "verdict", outcome.verdict.value
    yield "model", outcome.model
    yield "draws_per_arm", str(outcome.draws_per_arm)
    for arm in outcome.arms:
        yield f"{arm.arm}.compliance", f"{arm.compliance:.4f}"
        for name in arm.categories:
            low, high = arm.intervals[name]
            yield f"{arm.arm}.{name}.share", f"{arm.shares[name]:.4f}"
            yield f"{arm.arm}.{name}.ci95", f"{low:.4f}-{high:.4f}"


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(
    config: pytest.Config, report: pytest.TestReport
) -> Generator[None, dict[str, Any] | None, dict[str, Any] | None]:
    data = yield
    if data is not None:
        for key in (OUTCOME_KEY, USAGE_KEY):
            if hasattr(report, key):
                data[key] = getattr(report, key)
    return data


@pytest.hookimpl(wrapper=True)
def pytest_report_from_serializable(
    config: pytest.Config, data: dict[str, Any]
) -> Generator[None, Any, Any]:
    report = yield
    if report is not None:
        for key in (OUTCOME_KEY, USAGE_KEY):
            if key in data:
                setattr(report, key, data[key])
    return report


# -- gathering and reporting (controller only) ------------------------------------------------


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    raw = getattr(report, OUTCOME_KEY, None)
    if raw is None:
        return
    config = _CONFIG.get("config")
    if config is None or _is_worker(config):
        return
    state = config.stash[STATE]
    state.outcomes.append(Outcome.model_validate(raw))
    for model, usage in (getattr(report, USAGE_KEY, None) or {}).items():
        total = state.usage.setdefault(model, Usage())
        for key, value in usage.items():
            setattr(total, key, getattr(total, key) + value)


_CONFIG: dict[str, pytest.Config] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG["config"] = session.config


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _is_worker(config):
        return
    state = config.stash[STATE]
    if not state.outcomes:
        return
    state.outcomes.sort(key=lambda o: (o.hypothesis, o.test, o.variant, o.model))
    started = state.started
    run_id = started.strftime("%Y%m%d-%H%M%S")
    results = RunResults(
        run_id=run_id,
        started=started,
        finished=dt.datetime.now(dt.UTC),
        harness_version=_version(),
        settings=state.settings,
        family_size=max(o.family_size for o in state.outcomes),
        outcomes=state.outcomes,
        usage=state.usage,
    )
    run_dir = Path(config.rootpath, state.settings.report_dir, run_id)
    results.write(run_dir / "results.json")
    state.results_path = run_dir / "results.json"
    config.stash[_RESULTS] = results


_RESULTS = pytest.StashKey[RunResults]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    results = config.stash.get(_RESULTS, None)
    if results is None:
        return
    terminalreporter.section("behavioral hypotheses")
    for line in summary_lines(results):
        terminalreporter.write_line(line)
    path = config.stash[STATE].results_path
    if path is not None:
        terminalreporter.write_line(f"results: {path}")


def _version() -> str:
    try:
        return version("behavior-harness")
    except PackageNotFoundError:
        return "0+unknown"
