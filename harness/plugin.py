"""The pytest plugin: options, the model axis, verdict outcomes, run summary.

Enabled by the root ``conftest.py`` (``pytest_plugins = ["harness.plugin"]``).
Workers (pytest-xdist) evaluate tests and attach each outcome to its report;
the controller, never a worker, gathers them and writes the run's results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from harness import baseline as baselines
from harness.cache import DrawStore
from harness.claims import Claim
from harness.config import RunSettings
from harness.costs import Budget, CostReport, PriceTable
from harness.hypothesis import HypothesisError, PromptPair, describe_errors
from harness.markers import MARKER
from harness.models import local as local_models
from harness.options import add_options, harness_file, settings_from
from harness.records import Outcome, Verdict
from harness.report import RunPaths, publish, redact
from harness.report.extras import add_html_extras
from harness.report.progress import ThrottledProgress, interval_for, terminal_writer
from harness.results import RunResults
from harness.runner import evaluate
from harness.sampling import Sampler, Usage
from harness.summary import report_lines, summary_lines
from harness.verdict import explain, short

OUTCOME_KEY = "harness_outcome"
USAGE_KEY = "harness_usage"
PLAN_KEY = "harness_plan"


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
    prices: PriceTable = field(default_factory=PriceTable.from_config)
    budget_share: tuple[int, int] = (0, 1)  # (this worker, workers): budgets split under xdist
    models_on_one_worker: bool = False  # ByModel scheduling: budgets split per model
    test_usage: dict[str, dict[str, Usage]] = field(default_factory=dict)
    baseline: baselines.Baseline | None = None  # the stored rows (controller)
    baseline_check: baselines.Comparison | None = None
    baseline_lines: list[str] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)


STATE = pytest.StashKey[State]()


# -- options -------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(pair, claim, variants): a hypothesis test")
    settings = settings_from(config)
    config.stash[STATE] = State(settings=settings, started=dt.datetime.now(dt.UTC))
    _configure_budget(config, config.stash[STATE])
    if not _is_worker(config):
        _load_baseline(config.stash[STATE])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``-n N``, send all tests of one model to one worker.

    A local model is then loaded once per run, not once per worker, and API
    models keep one connection pool. Other tests are balanced one by one.
    (xdist's own ``loadgroup`` cannot be used: with pytest 9 its worker-side
    renaming of node ids has no effect, so the groups are never formed.)
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    models = config.stash[STATE].settings.models

    class ByModel(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            for model in models:
                if nodeid.endswith((f"-{model}]", f"[{model}]")):
                    return model
            return nodeid

    return ByModel(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell workers whether each model's tests run on one worker (budgets split per model)."""
    node.workerinput["harness_by_model"] = node.config.getvalue("dist") == "load"


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
    pooled = marker.kwargs.get("pooled", False)
    metafunc.parametrize("harness_variant", ["pooled"] if pooled else marker.kwargs["variants"])
    metafunc.parametrize(
        "harness_model",
        [pytest.param(m, id=m) for m in state.settings.models],
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
        if s.max_calls is not None or s.max_cost is not None:
            worker, workers = state.budget_share
            by_model = s.models if state.models_on_one_worker else None
            state.sampler.budget = Budget(
                state.sampler.usage,
                state.prices,
                s.max_calls,
                s.max_cost,
                worker,
                workers,
                models=by_model,
            )
    return state.sampler


def _configure_budget(config: pytest.Config, state: State) -> None:
    """Prices from [tool.harness.prices]; this worker's share of the call/cost budget."""
    try:
        state.prices = PriceTable.from_config(harness_file(config).get("prices"))
    except ValidationError as exc:
        raise pytest.UsageError(f"[tool.harness.prices]: {describe_errors(exc)}") from None
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        worker = int(str(workerinput.get("workerid", "gw0")).removeprefix("gw") or 0)
        state.budget_share = (worker, int(workerinput.get("workercount", 1)))
        state.models_on_one_worker = bool(workerinput.get("harness_by_model"))


@pytest.fixture
def outcome(request: pytest.FixtureRequest, harness_model: str, harness_variant: str) -> Outcome:
    """The decided claim for this test's model and variant."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        raise pytest.UsageError("the outcome fixture is only for @behavior tests")
    pair: PromptPair = marker.kwargs["pair"]
    claim: Claim = marker.kwargs["claim"]
    state = request.config.stash[STATE]
    if request.config.getoption("plan"):
        _skip_with_plan(request, claim, state)
    sampler = _sampler(state)
    before = {k: v.model_copy() for k, v in sampler.usage.items()}
    loads_before = local_models.loaded_count()
    try:
        sampler.model(harness_model)
    except Exception as exc:  # unknown provider, missing key, missing file
        pytest.fail(f"model {harness_model!r} cannot be used: {exc}", pytrace=False)
    if marker.kwargs.get("pooled", False):  # one test over all variants (harness.pooled)
        from harness.pooled import evaluate_pooled

        run = partial(evaluate_pooled, pair, marker.kwargs["variants"])
    else:
        run = partial(evaluate, pair, harness_variant)
    result = run(
        claim,
        harness_model,
        sampler,
        state.settings,
        family_size=max(1, state.family_size),
        test=request.node.nodeid,
        progress=_progress(request, state.settings.max_draws),
    )
    request.node.stash[_OUTCOME] = result
    request.node.stash[_USAGE] = _usage_delta(before, sampler.usage)
    request.node.stash[_USAGE].setdefault(harness_model, Usage()).loads = (
        local_models.loaded_count() - loads_before
    )
    return result


def _progress(request: pytest.FixtureRequest, budget: int) -> ThrottledProgress | None:
    """Throttled progress lines for a long test (not on xdist workers: no terminal there)."""
    config = request.config
    write = terminal_writer(config)
    every = interval_for(config.get_verbosity())
    if _is_worker(config) or write is None or every is None:
        return None
    return ThrottledProgress(write, request.node.name, budget, every)


_OUTCOME = pytest.StashKey[Outcome]()
_PLAN = pytest.StashKey[dict[str, Any]]()


def _skip_with_plan(request: pytest.FixtureRequest, claim: Claim, state: State) -> None:
    """``--plan``: compute the claim's operating characteristics, skip, call no model."""
    from harness.planning import plan_claim
    from harness.runner import gate_alpha

    s = state.settings
    alpha = gate_alpha(s.alpha, max(1, state.family_size))
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None and marker.kwargs.get("pooled", False):
        from harness.pooled import plan_pooled

        variants = len(marker.kwargs["variants"])
        plan = plan_pooled(claim, alpha, s.beta, s.max_draws, variants, seed=s.seed)
    else:
        plan = plan_claim(claim, alpha, s.beta, s.max_draws, s.batch_size)
    request.node.stash[_PLAN] = {
        **plan.model_dump(mode="json"),
        "test": request.node.nodeid,
        "family_size": max(1, state.family_size),
        "alpha": s.alpha,
        "line": plan.line(),
    }
    pytest.skip(f"plan: {plan.line()}")


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
    planned = item.stash.get(_PLAN, None)
    if planned is not None and report.when == "setup":
        setattr(report, PLAN_KEY, planned)
    if found is not None and report.when == "call":
        setattr(report, OUTCOME_KEY, found.model_dump(mode="json"))
        setattr(
            report,
            USAGE_KEY,
            {k: v.model_dump() for k, v in item.stash.get(_USAGE, {}).items()},
        )
        spent = item.stash.get(_USAGE, {}).get(found.model)
        cost = item.config.stash[STATE].prices.cost(found.model, spent) if spent else None
        extra = [] if cost is None else [("cost_usd", f"{cost:.6f}")]
        for key, value in [*_junit_properties(found), *extra]:
            item.user_properties.append((key, value))
            report.user_properties.append((key, value))
        add_html_extras(item.config, report, found)
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
        for key in (OUTCOME_KEY, USAGE_KEY, PLAN_KEY):
            if hasattr(report, key):
                data[key] = getattr(report, key)
    return data


@pytest.hookimpl(wrapper=True)
def pytest_report_from_serializable(
    config: pytest.Config, data: dict[str, Any]
) -> Generator[None, Any, Any]:
    report = yield
    if report is not None:
        for key in (OUTCOME_KEY, USAGE_KEY, PLAN_KEY):
            if key in data:
                setattr(report, key, data[key])
    return report


# -- gathering and reporting (controller only) ------------------------------------------------


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    planned = getattr(report, PLAN_KEY, None)
    plan_config = _CONFIG.get("config")
    if planned is not None and plan_config is not None and not _is_worker(plan_config):
        plan_config.stash[STATE].plans.append(planned)
    raw = getattr(report, OUTCOME_KEY, None)
    if raw is None:
        return
    config = _CONFIG.get("config")
    if config is None or _is_worker(config):
        return
    state = config.stash[STATE]
    state.outcomes.append(Outcome.model_validate(raw))
    per_test = getattr(report, USAGE_KEY, None) or {}
    state.test_usage[report.nodeid] = {m: Usage.model_validate(u) for m, u in per_test.items()}
    for model, usage in per_test.items():
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
        costs=CostReport.build(state.prices, state.usage, state.test_usage),
    )
    _check_baseline(session, state, results)
    # never write credentials: mask model arguments that look like keys or tokens
    settings = state.settings.model_copy(update={"model_args": redact(state.settings.model_args)})
    results = results.model_copy(update={"settings": settings})
    base = Path(config.rootpath, state.settings.report_dir)
    try:
        paths = publish(results, base)  # results.json, index.html, logs/, latest
    except Exception as exc:  # a report failure must not hide the run's verdicts
        config.stash[_REPORT_ERROR] = f"{type(exc).__name__}: {exc}"
        config.stash[_RESULTS] = results
        return
    state.results_path = paths.results
    config.stash[_PATHS] = paths
    if state.baseline_check is not None:
        check = state.baseline_check.model_dump_json(indent=1)
        (paths.run_dir / "baseline-check.json").write_text(check, encoding="utf-8")
    config.stash[_RESULTS] = results.model_copy(update={"run_id": paths.run_dir.name})


def _load_baseline(state: State) -> None:
    """Read the baseline up front, so a missing or broken file stops the run before drawing."""
    s = state.settings
    if s.baseline is None or (s.update_baseline and not s.baseline.is_file()):
        return
    if not s.baseline.is_file():
        raise pytest.UsageError(f"no baseline at {s.baseline}: write it with --update-baseline")
    try:  # also when updating: the file is merged into, so it must be readable
        state.baseline = baselines.Baseline.read(s.baseline)
    except ValidationError as exc:
        raise pytest.UsageError(
            f"baseline {s.baseline}: not a baseline file: {describe_errors(exc)}"
        ) from None
    except ValueError as exc:
        raise pytest.UsageError(f"baseline {s.baseline}: {exc}") from None


def _check_baseline(session: pytest.Session, state: State, results: RunResults) -> None:
    """Write (--update-baseline) or check the baseline; a regression makes the exit code 1."""
    s = state.settings
    if s.baseline is None:
        return
    current = baselines.rows_from(results.outcomes)
    if s.update_baseline:
        old = state.baseline  # read (and checked) at configure time
        (old.merged(current) if old else current).write(s.baseline)
        state.baseline_lines = [f"baseline {s.baseline}: wrote {len(current.rows)} rows"]
        return
    if state.baseline is None:
        return
    check = baselines.compare(
        state.baseline,
        current,
        results.outcomes,
        margin=s.baseline_margin,
        alpha=s.alpha,
        path=str(s.baseline),
    )
    state.baseline_check = check
    state.baseline_lines = check.lines()
    reused = [m for m, u in state.usage.items() if u.cache_hits and not u.cache_misses]
    if reused:  # the same draws as last time cannot show that the model changed since
        state.baseline_lines.append(
            f"warning: every draw of {', '.join(sorted(reused))} came from the draw cache, so "
            "this comparison cannot see a change since the cache was filled; use --refresh "
            "(or a new --seed) to draw afresh"
        )
    if check.failed and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_RESULTS = pytest.StashKey[RunResults]()
_PATHS = pytest.StashKey[RunPaths]()
_REPORT_ERROR = pytest.StashKey[str]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    plans = config.stash[STATE].plans
    if plans:
        from harness.planning import plan_table

        terminalreporter.section("plan (no model called)")
        for line in plan_table(plans):
            terminalreporter.write_line(line)
    results = config.stash.get(_RESULTS, None)
    if results is None:
        return
    terminalreporter.section("behavioral hypotheses")
    for line in summary_lines(results):
        terminalreporter.write_line(line)
    paths = config.stash.get(_PATHS, None)
    error = config.stash.get(_REPORT_ERROR, None)
    for line in report_lines(paths, error, Path(config.invocation_params.dir)):
        terminalreporter.write_line(line)
    if config.stash[STATE].baseline_lines:
        terminalreporter.section("baseline")
        for line in config.stash[STATE].baseline_lines:
            terminalreporter.write_line(line)


def _version() -> str:
    try:
        return version("behavior-harness")
    except PackageNotFoundError:
        return "0+unknown"
