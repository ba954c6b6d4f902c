"""Evaluation: the fixtures that decide a claim, verdict to pytest outcome, --plan, JUnit.

Runs in every process that runs tests (the only process, or each xdist
worker). Each decided outcome, its usage and any plan travel to the
controller as attributes of the test's report (:mod:`harness.plugin.collector`).

The sampler (inspect-ai) and the evaluator (scipy) are imported when the first
test needs them, not with the plugin: ``--co`` loads neither and ``--plan``
only the evaluator.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from harness.define.behavior import MARKER
from harness.define.claims import Claim
from harness.define.comparison import ModelComparison
from harness.define.pair import PromptPair, describe_errors
from harness.plugin.options import harness_file
from harness.plugin.state import STATE, RunState, is_worker
from harness.report.explain import explain, short
from harness.report.extras import add_html_extras
from harness.report.progress import ThrottledProgress, interval_for, terminal_writer
from harness.results.costs import PriceTable
from harness.results.records import Outcome, Usage, Verdict
from harness.run.budget import Budget
from harness.run.cache import DrawStore
from harness.run.settings import RunSettings
from harness.stats.decision import claim_alpha

if TYPE_CHECKING:
    from harness.run.sampling import Sampler

OUTCOME_KEY = "harness_outcome"
USAGE_KEY = "harness_usage"
PLAN_KEY = "harness_plan"
STOPPED_KEY = "harness_stopped"  # (model, line): the model cannot be used, said once


@dataclass
class Drawing:
    """How this process draws: its sampler (made on first use) and its share of the budget."""

    budget_share: tuple[int, int] = (0, 1)  # (this worker, workers): budgets split under xdist
    models_on_one_worker: bool = False  # ByModel scheduling: budgets split per model
    sampler: Sampler | None = None

    def sampler_for(self, state: RunState) -> Sampler:
        """The process's sampler, with the draw cache and the budget share."""
        if self.sampler is None:
            from harness.run.sampling import Sampler

            s = state.settings
            store = DrawStore(s.cache_dir, refresh=s.refresh) if s.cache_dir else DrawStore()
            self.sampler = Sampler(s.generation, s.seed, store=store, model_args=s.model_args)
            if s.max_calls is not None or s.max_cost is not None:
                worker, workers = self.budget_share
                by_model = s.models if self.models_on_one_worker else None
                self.sampler.budget = Budget(
                    self.sampler.usage,
                    state.prices,
                    s.max_calls,
                    s.max_cost,
                    worker,
                    workers,
                    models=by_model,
                )
        return self.sampler


DRAWING = pytest.StashKey[Drawing]()
_OUTCOME = pytest.StashKey[Outcome]()
_USAGE = pytest.StashKey[dict[str, Usage]]()
_PLAN = pytest.StashKey[dict[str, Any]]()
_STOPPED = pytest.StashKey[tuple[str, str]]()


def configure(config: pytest.Config, state: RunState) -> None:
    """Prices from [tool.harness.prices]; this process's share of the call/cost budget."""
    try:
        state.prices = PriceTable.from_config(harness_file(config).get("prices"))
    except ValidationError as exc:
        raise pytest.UsageError(f"[tool.harness.prices]: {describe_errors(exc)}") from None
    drawing = Drawing()
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        worker = int(str(workerinput.get("workerid", "gw0")).removeprefix("gw") or 0)
        drawing.budget_share = (worker, int(workerinput.get("workercount", 1)))
        drawing.models_on_one_worker = bool(workerinput.get("harness_by_model"))
    config.stash[DRAWING] = drawing


@pytest.fixture
def harness_model(request: pytest.FixtureRequest) -> str:
    """The model under test (parametrized by the plugin)."""
    return str(request.param)


@pytest.fixture
def harness_variant(request: pytest.FixtureRequest) -> str:
    """The variant under test (parametrized by the plugin)."""
    return str(request.param)


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
    from harness.run.exact import evaluate_claim
    from harness.run.sampling import ModelStopped

    sampler = request.config.stash[DRAWING].sampler_for(state)
    before = {k: v.model_copy() for k, v in sampler.usage.items()}
    loads_before = _local_loads()
    pooled = bool(marker.kwargs.get("pooled", False))
    models = claim.models if isinstance(claim, ModelComparison) else (harness_model,)
    missing = [m for m in models if m not in state.settings.models]
    if missing:
        pytest.skip(f"compares {' and '.join(models)}: run with --model for {', '.join(missing)}")
    family = state.family_of(*models)
    # an unknown provider, a missing key, a 401 or an unreachable server stop the model when
    # its first draw is made (a claim whose draws are all cached needs no model)
    try:
        if isinstance(claim, ModelComparison):
            from harness.run.compare import evaluate_models

            result = evaluate_models(
                pair,
                harness_variant,
                claim,
                sampler,
                state.settings,
                claim_alpha=claim_alpha(state.settings.alpha, family),
                family_size=family,
                test=request.node.nodeid,
                progress=_progress(request, state.settings.max_draws),
            )
        else:
            result = evaluate_claim(  # sampling, or exact mode where it is on and supported
                pair,
                tuple(marker.kwargs["variants"]) if pooled else harness_variant,
                claim,
                harness_model,
                sampler,
                state.settings,
                claim_alpha=claim_alpha(state.settings.alpha, family),
                family_size=family,
                test=request.node.nodeid,
                progress=_progress(request, state.settings.max_draws),
            )
    except ModelStopped as stop:  # the collector prints the line once and exits with 4
        request.node.stash[_STOPPED] = (stop.model, stop.line)
        pytest.skip(f"model {stop.model} stopped (why: the harness summary)")
    request.node.stash[_OUTCOME] = result
    request.node.stash[_USAGE] = _usage_delta(before, sampler.usage)
    request.node.stash[_USAGE].setdefault(models[0], Usage()).loads = _local_loads() - loads_before
    return result


def _local_loads() -> int:
    """GGUF models this process has loaded (none until the local provider is imported)."""
    local = sys.modules.get("harness.models.local")
    return 0 if local is None else int(local.loaded_count())


def _progress(request: pytest.FixtureRequest, budget: int) -> ThrottledProgress | None:
    """Throttled progress lines for a long test (not on xdist workers: no terminal there)."""
    config = request.config
    write = terminal_writer(config)
    every = interval_for(config.get_verbosity())
    if is_worker(config) or write is None or every is None:
        return None
    return ThrottledProgress(write, request.node.name, budget, every)


def _skip_with_plan(request: pytest.FixtureRequest, claim: Claim, state: RunState) -> None:
    """``--plan``: compute the claim's operating characteristics, skip, call no model."""
    from harness.run.evaluate import claim_plan

    marker = request.node.get_closest_marker(MARKER)
    assert marker is not None
    s = state.settings
    pooled = bool(marker.kwargs.get("pooled", False))
    variants = list(marker.kwargs["variants"])
    pair: PromptPair = marker.kwargs["pair"]
    models = (
        claim.models
        if isinstance(claim, ModelComparison)
        else (str(request.node.callspec.params["harness_model"]),)
    )
    family = state.family_of(*models)
    plan = claim_plan(
        pair,
        variants if pooled else request.node.callspec.params["harness_variant"],
        claim,
        s,
        claim_alpha(s.alpha, family),
    )
    request.node.stash[_PLAN] = {
        **plan.model_dump(mode="json"),
        "test": request.node.nodeid,
        "family_size": family,
        "run_alpha": s.alpha,
        "line": plan.line(),
        "warnings": plan.warnings,
    }
    pytest.skip(f"plan: {plan.line()}")


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
        apply_verdict(found, pyfuncitem.config.stash[STATE].settings)
    return result


def apply_verdict(outcome: Outcome, settings: RunSettings) -> None:
    """Map a verdict to pytest's outcome (FAIL fails, NONCOMPLIANT skips, ...)."""
    if outcome.verdict is Verdict.FAIL:
        pytest.fail(explain(outcome), pytrace=False)
    if outcome.verdict is Verdict.NONCOMPLIANT:
        if settings.noncompliant == "fail":
            pytest.fail(explain(outcome), pytrace=False)
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
    stopped = item.stash.get(_STOPPED, None)
    if stopped is not None and report.when == "setup":
        setattr(report, STOPPED_KEY, list(stopped))
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
        for key, value in [*junit_properties(found), *extra]:
            item.user_properties.append((key, value))
            report.user_properties.append((key, value))
        add_html_extras(item.config, report, found)
    return report


def junit_properties(outcome: Outcome) -> Iterator[tuple[str, str]]:
    """The verdict, model, draws, compliance and shares as JUnit XML properties."""
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
        for key in (OUTCOME_KEY, USAGE_KEY, PLAN_KEY, STOPPED_KEY):
            if hasattr(report, key):
                data[key] = getattr(report, key)
    return data


@pytest.hookimpl(wrapper=True)
def pytest_report_from_serializable(
    config: pytest.Config, data: dict[str, Any]
) -> Generator[None, Any, Any]:
    report = yield
    if report is not None:
        for key in (OUTCOME_KEY, USAGE_KEY, PLAN_KEY, STOPPED_KEY):
            if key in data:
                setattr(report, key, data[key])
    return report
