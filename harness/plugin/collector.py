"""The collector: the controller's gathering of outcomes, publishing and baseline check.

Registered as a plugin object in ``pytest_configure`` by the controller only
(never by an xdist worker), the way pytest's own junitxml registers its
``LogXML``. Workers' reports reach it through ``pytest_runtest_logreport``,
where it also names the test in the reason of a harness skip (pytest would
point at the plugin's line) and writes a progress line per model; at session
end it checks the baseline and writes the run's reports (the check on the
page too), and its terminal summary prints the table, the report paths and
the baseline lines.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest

from harness.files import write_text
from harness.plugin.evaluation import OUTCOME_KEY, PLAN_KEY, STOPPED_KEY, USAGE_KEY
from harness.plugin.state import RunState
from harness.report.labels import model_of
from harness.report.log_writer import LogWriter
from harness.report.progress import ModelProgress, interval_for, terminal_writer
from harness.report.publish import RunPaths, publish
from harness.report.terminal import PlanContext, plan_table, report_lines, summary_lines
from harness.results import baseline as baselines
from harness.results import regression
from harness.results.costs import CostReport
from harness.results.records import Outcome, Usage
from harness.results.run import RunResults

PLUGIN_NAME = "harness-collector"


@dataclass
class Collector:
    """What the controller gathers from every test, and what it makes of it at the end."""

    config: pytest.Config
    state: RunState
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    outcomes: list[Outcome] = field(default_factory=list)
    usage: dict[str, Usage] = field(default_factory=dict)
    test_usage: dict[str, dict[str, Usage]] = field(default_factory=dict)
    plans: list[dict[str, Any]] = field(default_factory=list)
    baseline: baselines.Baseline | None = None  # the stored rows, read at configure time
    baseline_check: regression.Comparison | None = None
    baseline_lines: list[str] = field(default_factory=list)
    results: RunResults | None = None
    paths: RunPaths | None = None
    report_error: str | None = None
    stopped: dict[str, str] = field(default_factory=dict)  # model -> why it cannot be used
    seconds: dict[str, float] = field(default_factory=dict)  # model -> time in its tests
    progress: ModelProgress | None = None
    log_writer: LogWriter | None = None
    _pending: dict[str, tuple[float, int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.baseline = _load_baseline(self.state)
        self._start_log_writer()

    def _count_tests(self, nodeids: list[str]) -> None:
        """Start the per-model progress lines once the tests are known."""
        if self.progress is not None or self.config.getoption("plan", False):
            return
        write = terminal_writer(self.config)
        every = interval_for(self.config.get_verbosity())
        if write is None or every is None:
            return
        totals: dict[str, int] = {}
        for nodeid in nodeids:
            model = model_of(nodeid, self.state.settings.models)
            if model is not None:
                totals[model] = totals.get(model, 0) + 1
        if totals:
            self.progress = ModelProgress(write, totals, every)

    def _start_log_writer(self) -> None:
        """Start the inspect-log helper at configure time, when the run may write a report:
        it imports inspect-ai on the other core while this process imports, collects and
        runs the tests (see report.log_writer). Not for --co or --plan, nor inside a
        process that has inspect-ai already (a run inside another pytest run)."""
        if self.config.option.collectonly or self.config.getoption("plan", False):
            return
        if "inspect_ai" not in sys.modules:
            self.log_writer = LogWriter.start()

    def _stop_log_writer(self, nodeids: list[str]) -> None:
        """A run that collected no hypothesis test writes no report: end the helper."""
        models = self.state.settings.models
        if self.log_writer is not None and not any(model_of(n, models) for n in nodeids):
            self.log_writer.close()
            self.log_writer = None

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        nodeids = [item.nodeid for item in session.items]
        self._count_tests(nodeids)
        self._stop_log_writer(nodeids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self._count_tests(list(ids))  # every worker collects the same tests
        self._stop_log_writer(list(ids))

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.log_writer is not None:
            self.log_writer.close()

    def _track(self, report: pytest.TestReport) -> None:
        """Time per model, and a progress line when a test is over."""
        model = model_of(report.nodeid, self.state.settings.models)
        if model is None:
            return
        self.seconds[model] = self.seconds.get(model, 0.0) + report.duration
        spent, draws, calls = self._pending.get(report.nodeid, (0.0, 0, 0))
        used = (getattr(report, USAGE_KEY, None) or {}).get(model, {})
        draws += int(used.get("cache_hits", 0)) + int(used.get("cache_misses", 0))
        calls += int(used.get("calls", 0))
        self._pending[report.nodeid] = (spent + report.duration, draws, calls)
        if report.when == "teardown":
            spent, draws, calls = self._pending.pop(report.nodeid)
            if self.progress is not None:
                self.progress.finished(model, draws, calls, spent)

    @pytest.hookimpl(tryfirst=True)  # before the terminal and junitxml read the skip reason
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name_the_test(report, self.config.rootpath)
        self._track(report)
        planned = getattr(report, PLAN_KEY, None)
        if planned is not None:
            self.plans.append(planned)
        stopped = getattr(report, STOPPED_KEY, None)
        if stopped is not None:
            self.stopped.setdefault(str(stopped[0]), str(stopped[1]))
        raw = getattr(report, OUTCOME_KEY, None)
        if raw is None:
            return
        self.outcomes.append(Outcome.model_validate(raw))
        per_test = getattr(report, USAGE_KEY, None) or {}
        self.test_usage[report.nodeid] = {m: Usage.model_validate(u) for m, u in per_test.items()}
        for model, usage in per_test.items():
            total = self.usage.setdefault(model, Usage())
            for key, value in usage.items():
                setattr(total, key, getattr(total, key) + value)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.stopped and session.exitstatus in (
            pytest.ExitCode.OK,
            pytest.ExitCode.TESTS_FAILED,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        ):  # a model the run could not use is a usage error, whatever the others did
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
        if not self.outcomes:
            return
        self.outcomes.sort(key=lambda o: (o.hypothesis, o.test, o.variant, o.model))
        results = RunResults(
            run_id=self.started.strftime("%Y%m%d-%H%M%S"),
            started=self.started,
            finished=dt.datetime.now(dt.UTC),
            harness_version=_version(),
            settings=self.state.settings,
            family_size=max(o.family_size for o in self.outcomes),
            outcomes=self.outcomes,
            usage=self.usage,
            costs=CostReport.build(self.state.prices, self.usage, self.test_usage),
            seconds={m: round(s, 3) for m, s in sorted(self.seconds.items())},
        )
        self._check_baseline(session, results)
        if self.baseline_check is not None:  # on the page and in results.json too
            results = results.model_copy(update={"baseline": self.baseline_check})
        base = Path(self.config.rootpath, self.state.settings.report_dir)
        try:
            paths = publish(results, base, self.log_writer)  # results.json, page, logs/, latest
        except Exception as exc:  # a report failure must not hide the run's verdicts
            self.report_error = f"{type(exc).__name__}: {exc}"
            self.results = results
            return
        self.paths = paths
        if self.baseline_check is not None:
            check = self.baseline_check.model_dump_json(indent=1)
            write_text(paths.run_dir / "baseline-check.json", check)
        self.results = results.model_copy(update={"run_id": paths.run_dir.name})

    def _check_baseline(self, session: pytest.Session, results: RunResults) -> None:
        """Write (--update-baseline) or check the baseline; a regression makes the exit code 1."""
        s = self.state.settings
        if s.baseline is None:
            return
        current = baselines.rows_from(results.outcomes)
        if s.update_baseline:
            old = self.baseline  # read (and checked) at configure time
            write_text(s.baseline, (old.merged(current) if old else current).dumps())
            self.baseline_lines = [f"baseline {s.baseline}: wrote {len(current.rows)} rows"]
            return
        if self.baseline is None:
            return
        check = regression.compare(
            self.baseline,
            current,
            results.outcomes,
            margin=s.baseline_margin,
            alpha=s.alpha,
            path=str(s.baseline),
        )
        self.baseline_check = check
        self.baseline_lines = check.lines()
        reused = [m for m, u in self.usage.items() if u.cache_hits and not u.cache_misses]
        if reused:  # the same draws as last time cannot show that the model changed since
            self.baseline_lines.append(
                f"warning: every draw of {', '.join(sorted(reused))} came from the draw cache, "
                "so this comparison cannot see a change since the cache was filled; use "
                "--refresh (or a new --seed) to draw afresh"
            )
        if check.failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.stopped:
            terminalreporter.section("models stopped", red=True)
            for line in self.stopped.values():
                terminalreporter.write_line(line, red=True)
        if self.plans:
            terminalreporter.section("plan (no model called)")
            context = PlanContext.build(
                self.state.settings.models,
                self.state.prices,
                Path(self.config.rootpath, self.state.settings.report_dir),
                self.state.settings.generation.max_tokens,
            )
            for line in plan_table(self.plans, context):
                terminalreporter.write_line(line)
        if self.results is None:
            return
        terminalreporter.section("behavioral hypotheses")
        for line in summary_lines(self.results):
            terminalreporter.write_line(line)
        cwd = Path(self.config.invocation_params.dir)
        for line in report_lines(self.paths, self.report_error, cwd):
            terminalreporter.write_line(line)
        if self.baseline_lines:
            failed = self.baseline_check is not None and self.baseline_check.failed
            terminalreporter.section("baseline", red=failed)
            for line in self.baseline_lines:
                terminalreporter.write_line(
                    line, red=failed and line.startswith(("REGRESSED", "  "))
                )


def _load_baseline(state: RunState) -> baselines.Baseline | None:
    """Read the baseline up front, so a missing or broken file stops the run before drawing."""
    s = state.settings
    if s.baseline is None or (s.update_baseline and not s.baseline.is_file()):
        return None
    if not s.baseline.is_file():
        raise pytest.UsageError(f"no baseline at {s.baseline}: write it with --update-baseline")
    try:  # also when updating: the file is merged into, so it must be readable
        return baselines.Baseline.read(s.baseline)
    except baselines.BaselineError as exc:
        raise pytest.UsageError(str(exc)) from None


_HARNESS = Path(__file__).resolve().parents[1]


def name_the_test(report: pytest.TestReport, root: Path) -> None:
    """Point a skip raised inside the harness at the test and name it in the reason.

    pytest shows a skip at the line that raised it (a line of the plugin, the
    same for every test); ``-rs`` should say which test was skipped and why.
    """
    longrepr = report.longrepr
    if not report.skipped or not isinstance(longrepr, tuple | list) or len(longrepr) != 3:
        return
    path, _, reason = longrepr
    try:
        inside = Path(str(path)).resolve().is_relative_to(_HARNESS)
    except OSError:
        return
    if not inside:
        return
    name = report.nodeid.split("::")[-1]
    text = str(reason).removeprefix("Skipped: ")
    file, line = report.location[0], report.location[1]
    report.longrepr = (str(Path(root, file)), 0 if line is None else line + 1, f"{name}: {text}")


def _version() -> str:
    try:
        return version("behavior-harness")
    except PackageNotFoundError:
        return "0+unknown"
