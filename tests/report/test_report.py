"""Reports of a run: results.json, the HTML page, inspect-ai logs, ``latest``, xdist.

Runs are real: simulated models and a real OpenAI-compatible server on
127.0.0.1 (``tests.openai_server``) whose replies sometimes carry an HTML
injection payload, drawn through inspect-ai and decided by the runner. The
browser-level checks of the same page are in ``test_report_browser.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from inspect_ai.log import list_eval_logs, read_eval_log

from harness import PromptPair, RunSettings, Sampler, claims, evaluate
from harness.define.claims import Claim
from harness.report.html import render
from harness.report.progress import ThrottledProgress, interval_for
from harness.report.publish import publish, update_latest
from harness.report.redact import redact
from harness.report.schema import results_schema
from harness.report.terminal import report_lines
from harness.results.run import RunResults
from tests.openai_server import OpenAIServer

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD = (
    '<script>window.__pwned = "script";</script>'
    "<img src=x onerror=\"window.__pwned = 'img'\">"
    "</td></tr></table><b>not bold</b> & done"
)
API_KEY = "sk-report-test-5ecret-do-not-print"
PAYLOAD_MODEL = "openai-api/payload/echo"

PAIR = PromptPair(
    id="report-zero-vs-random",
    description="the seed pair, for report tests",
    control={
        "prompt": 'Guess: "1" or "0"? If your guess is "1", answer with "1". If your guess '
        'is "0", answer with the word "zero".',
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "word", "classifier": "zero_word"},
        ],
    },
    treatment={
        "prompt": 'Guess: "1" or "0"? If your guess is "1", answer with "1". If your guess '
        'is "0", answer with a string of random letters.',
        "categories": [
            {"name": "plain", "classifier": "one"},
            {"name": "random", "classifier": "random_letters"},
        ],
    },
)
CLAIMS: list[tuple[str, Claim]] = [
    ("test_half", claims.equivalent(("treatment", "random"), value=0.5, margin=0.2)),
    (
        "test_no_avoidance",
        claims.not_lower(("treatment", "random"), ("control", "word"), margin=0.2),
    ),
]


class PayloadServer(OpenAIServer):
    """The loopback server, but every third draw (by seed) replies with an injection."""

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        reply = super().answer(body)
        seed = body.get("seed")
        if isinstance(seed, int) and seed % 3 == 0:
            reply["choices"][0]["message"]["content"] = PAYLOAD
        return reply


def build_run(
    models: list[str],
    model_args: dict[str, dict[str, Any]] | None = None,
    max_draws: int = 48,
    run_id: str = "20240101-000000",
) -> RunResults:
    """Decide every claim of :data:`CLAIMS` for every model, as the plugin would."""
    settings = RunSettings(
        models=tuple(models), model_args=model_args or {}, max_draws=max_draws, batch_size=8
    )
    sampler = Sampler(settings.generation, settings.seed, model_args=settings.model_args)
    started = dt.datetime.now(dt.UTC)
    family = len(models) * len(CLAIMS)
    outcomes = [
        evaluate(
            PAIR,
            "original",
            claim,
            model,
            sampler,
            settings,
            claim_alpha=settings.alpha / family,
            family_size=family,
            test=f"tests/test_report.py::{name}[original-{model}]",
        )
        for name, claim in CLAIMS
        for model in models
    ]
    return RunResults(
        run_id=run_id,
        started=started,
        finished=dt.datetime.now(dt.UTC),
        harness_version="0.1.0+test",
        settings=settings,
        family_size=family,
        outcomes=outcomes,
        usage=sampler.usage,
    )


@pytest.fixture(scope="module")
def payload_server() -> Iterator[PayloadServer]:
    server = PayloadServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def run(payload_server: PayloadServer) -> RunResults:
    args = {PAYLOAD_MODEL: {"base_url": payload_server.base_url, "api_key": API_KEY}}
    return build_run(["sim/indifferent", "sim/avoidant", PAYLOAD_MODEL], args)


@pytest.fixture(scope="module")
def published(run: RunResults, tmp_path_factory: pytest.TempPathFactory) -> Path:
    os.environ["HARNESS_REPORT_TEST_ENV_SECRET"] = "env-5ecret-value"
    try:
        return publish(run, tmp_path_factory.mktemp("reports")).run_dir
    finally:
        del os.environ["HARNESS_REPORT_TEST_ENV_SECRET"]


class _Page(HTMLParser):
    """What a browser's parser would build, reduced to what the checks need."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.models: list[str] = []
        self.refs: list[str] = []
        self.text: list[str] = []
        self._in_model = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        self.refs += [v for k, v in attrs if k.endswith(("src", "href", "action")) and v]
        self._in_model = tag == "th" and "model" in (found.get("class") or "").split()
        if self._in_model and found.get("data-model"):
            self.models.append(found["data-model"] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


# -- results.json ------------------------------------------------------------------------------


def test_results_json_validates_against_model_and_documented_schema(
    published: Path, run: RunResults
) -> None:
    raw = (published / "results.json").read_text(encoding="utf-8")
    loaded = RunResults.model_validate_json(raw)
    assert loaded.models() == run.models()
    records = {
        (o.hypothesis, o.variant, o.model, a.arm, o.rule): a.n
        for o in loaded.outcomes
        for a in o.arms
    }
    assert len(records) == sum(len(o.arms) for o in run.outcomes)  # one per (.., arm, claim)
    for o, mine in zip(loaded.outcomes, run.outcomes, strict=True):
        assert [a.draws for a in o.arms] == [a.draws for a in mine.arms]  # raw draws kept
        assert all(d.category for a in o.arms for d in a.draws if d.error is None)
    documented = json.loads((ROOT / "docs" / "results-schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(raw), documented)


def test_documented_schema_is_current() -> None:
    documented = (ROOT / "docs" / "results-schema.json").read_text(encoding="utf-8")
    assert documented.strip() == results_schema().strip(), (
        "docs/results-schema.json is stale: run "
        "`python -m harness.report.schema > docs/results-schema.json`"
    )


def test_results_json_is_stable_between_identical_runs(
    run: RunResults, payload_server: PayloadServer
) -> None:
    again = build_run(run.models(), dict(run.settings.model_args))
    # times, and the requests made: a slow reply may be re-sent (hedged) on a busy machine
    varying = {"started", "finished", "seconds", "usage"}
    first = run.model_dump_json(indent=1, exclude=varying)
    assert first == again.model_dump_json(indent=1, exclude=varying)
    draws = {m: u.cache_misses for m, u in run.usage.items()}
    assert draws == {m: u.cache_misses for m, u in again.usage.items()}


# -- secrets -----------------------------------------------------------------------------------


def test_no_api_key_or_environment_in_any_output(published: Path, run: RunResults) -> None:
    assert run.settings.model_args[PAYLOAD_MODEL]["api_key"] == API_KEY  # it was there to leak
    files = [p for p in published.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".json", ".html"}
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert API_KEY not in text, path
        assert "env-5ecret-value" not in text, path
    saved = RunResults.model_validate_json((published / "results.json").read_text())
    assert saved.settings.model_args[PAYLOAD_MODEL]["api_key"] == "***"
    assert saved.settings.model_args[PAYLOAD_MODEL]["base_url"].startswith("http://127.0.0.1:")


def test_redact_masks_credential_names_and_url_userinfo() -> None:
    got = redact(
        {"m": {"api_key": "a", "Token": "b", "base_url": "https://u:pw@host:8/v1", "n": 3}}
    )
    assert got == {"m": {"api_key": "***", "Token": "***", "base_url": "https://host:8/v1", "n": 3}}


# -- HTML ------------------------------------------------------------------------------------


def test_html_escapes_model_text_and_references_nothing(published: Path, run: RunResults) -> None:
    html = (published / "index.html").read_text(encoding="utf-8")
    payload_draws = [d for o in run.outcomes for a in o.arms for d in a.draws if d.text == PAYLOAD]
    assert payload_draws, "the loopback server sent no payload: the check would be empty"
    page = _parse(html)
    assert "script" not in page.tags and "img" not in page.tags
    assert PAYLOAD in page.text  # the whole payload is one text node: it stayed text
    assert "<script>" not in html and "onerror=" not in html.replace("onerror=&#34;", "")
    assert all(r.startswith("#") for r in page.refs), page.refs  # only in-page links
    assert "url(http" not in html.replace(" ", "") and "@import" not in html


def test_html_shows_matrix_metadata_and_per_test_details(published: Path, run: RunResults) -> None:
    html = (published / "index.html").read_text(encoding="utf-8")
    page = _parse(html)
    assert page.models == run.models()
    text = " ".join(page.text)
    for verdict in {o.verdict.value for o in run.outcomes}:
        assert verdict in text
    assert text.count("simulated") >= 2
    for needle in ("harness version", "0.1.0+test", "family-wise alpha 0.05", "temperature"):
        assert needle in text
    assert html.count("<svg") == len(run.outcomes)  # one matplotlib chart per test
    assert "matplotlib" in html  # drawn by the library, not by hand
    for o in run.outcomes:
        assert o.rule in text or o.rule.replace("'", "&#39;") in html
        assert f"{o.draws_per_arm} per arm of {o.max_draws} allowed" in text
        for g in o.gates:
            assert f"{g.fail_evidence:.2f} of {g.fail_threshold:.2f}" in text
    for header in ("evidence for FAIL / threshold", "allowed edge", "forbidden edge"):
        assert header in text  # statistics named for people, not "LLR"
    assert "LLR" not in text


# -- inspect-ai logs ---------------------------------------------------------------------------


def test_inspect_logs_hold_every_draw_as_a_transcript(published: Path, run: RunResults) -> None:
    infos = list_eval_logs(str(published / "logs"))  # what `inspect view` lists
    assert len(infos) == len(run.outcomes)
    by_key = {(o.test, o.model): o for o in run.outcomes}
    payloads = 0
    for info in infos:
        log = read_eval_log(info)
        assert log.status == "success"
        outcome = by_key[(str((log.eval.metadata or {})["test"]), log.eval.model)]
        assert (log.eval.metadata or {})["verdict"] == outcome.verdict.value
        draws = [(a, d) for a in outcome.arms for d in a.draws]
        assert log.samples is not None and len(log.samples) == len(draws)
        for sample, (arm, draw) in zip(log.samples, draws, strict=True):
            assert sample.messages[0].text == arm.messages[0].content
            assert sample.messages[-1].text == (draw.text or "(no reply)")
            assert sample.scores is not None
            assert sample.scores["category"].value == (draw.category or "error")
            payloads += draw.text == PAYLOAD
    assert payloads > 0


# -- run folders -------------------------------------------------------------------------------


def test_same_second_runs_get_distinct_folders_and_latest_follows(
    run: RunResults, tmp_path: Path
) -> None:
    small = run.model_copy(update={"outcomes": run.outcomes[:2]})
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(publish(small, tmp_path).run_dir))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = sorted(p.name for p in results)
    assert names == ["20240101-000000", "20240101-000000-2", "20240101-000000-3"]
    for path in results:
        saved = RunResults.model_validate_json((path / "results.json").read_text())
        assert saved.run_id == path.name
        assert (path / "index.html").is_file() and len(list((path / "logs").iterdir())) == 2
    found = sorted(p.name for p in tmp_path.iterdir() if p.name != ".charts")
    assert found == [*names, "latest"]  # no staging left
    assert (tmp_path / "latest").resolve().name in names
    last = publish(small, tmp_path).run_dir
    assert (tmp_path / "latest").resolve() == last.resolve()


def test_latest_replaces_an_old_copied_folder(tmp_path: Path) -> None:
    (tmp_path / "latest").mkdir()
    (tmp_path / "latest" / "index.html").write_text("old")
    run_dir = tmp_path / "20240101-000000"
    run_dir.mkdir()
    (run_dir / "index.html").write_text("new")
    update_latest(tmp_path, run_dir)
    assert (tmp_path / "latest" / "index.html").read_text() == "new"


# -- terminal ----------------------------------------------------------------------------------


def test_report_lines_name_the_html_report(published: Path) -> None:
    from harness.report.publish import RunPaths

    paths = RunPaths(
        run_dir=published,
        results=published / "results.json",
        html=published / "index.html",
        logs=published / "logs",
        latest=published.parent / "latest",
    )
    lines = report_lines(paths, cwd=published.parent)
    assert len(lines) == 2
    assert lines[0].startswith(f"report: {published.name}/index.html")
    assert "inspect view --log-dir" in lines[1]
    assert report_lines(None, "OSError: disk full") == ["report not written: OSError: disk full"]


def test_progress_is_throttled() -> None:
    now = [0.0]
    lines: list[str] = []
    progress = ThrottledProgress(lines.append, "t[x]", budget=400, every=10.0, clock=lambda: now[0])
    for step in range(1, 31):  # 30 batches, one per second
        now[0] = float(step)
        progress(f"{8 * step} draws per arm")
    assert lines == [
        "  ... t[x]: 80 draws per arm (budget 400), 10 s",
        "  ... t[x]: 160 draws per arm (budget 400), 20 s",
        "  ... t[x]: 240 draws per arm (budget 400), 30 s",
    ]
    assert interval_for(-2) is None and interval_for(0) == 10.0 and interval_for(1) == 2.0


def test_render_needs_no_network_or_files(run: RunResults) -> None:
    small = run.model_copy(update={"outcomes": run.outcomes[:1]})
    assert render(small).startswith("<!DOCTYPE html>")


# -- through pytest: xdist, JUnit XML, pytest-html --------------------------------------------


def _pytest_run(report_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "evals/test_zero_vs_random.py",
        "--model",
        "sim/indifferent",
        "--model",
        "sim/avoidant",
        "-k",
        "original or terse or counterbalanced",
        "--report-dir",
        str(report_dir),
        "--no-cache",
        "-p",
        "no:cacheprovider",
        "-q",
        *extra,
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _verdicts(report_dir: Path) -> dict[tuple[str, str], str]:
    runs = [p for p in report_dir.iterdir() if p.name != "latest" and not p.name.startswith(".")]
    assert len(runs) == 1, runs  # one report, not one per worker
    results = RunResults.model_validate_json((runs[0] / "results.json").read_text())
    assert (report_dir / "latest").resolve() == runs[0].resolve()
    assert (runs[0] / "index.html").is_file()
    assert len(list_eval_logs(str(runs[0] / "logs"))) == len(results.outcomes)
    return {(o.test, o.model): o.verdict.value for o in results.outcomes}


@pytest.mark.subprocess
def test_xdist_run_writes_one_report_with_the_same_verdicts(tmp_path: Path) -> None:
    pytest.importorskip("pytest_html")
    serial = _pytest_run(tmp_path / "serial")
    parallel = _pytest_run(
        tmp_path / "parallel",
        "-n",
        "2",
        f"--junitxml={tmp_path / 'junit.xml'}",
        f"--html={tmp_path / 'pytest-html.html'}",
        "--self-contained-html",
    )
    assert serial.returncode == parallel.returncode == 1, serial.stdout[-2000:]
    expected = _verdicts(tmp_path / "serial")
    got = _verdicts(tmp_path / "parallel")
    assert got == expected
    assert {model for _, model in got} == {"sim/indifferent", "sim/avoidant"}
    assert set(got.values()) >= {"PASS", "FAIL"}
    assert "report: " in parallel.stdout and "index.html" in parallel.stdout

    cases = ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    seen = 0
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        nodeid = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        assert props["verdict"] == got[(nodeid, str(props["model"]))]
        assert props.keys() >= {"treatment.random.share", "treatment.random.ci95"}
        seen += 1
    assert seen == len(got)
    html = (tmp_path / "pytest-html.html").read_text(encoding="utf-8")
    assert html.count("harness-outcome") == len(got)  # chart and examples in every row


@pytest.mark.subprocess
def test_progress_of_a_slow_model_reaches_the_terminal(tmp_path: Path) -> None:
    """A slow (loopback, 0.4 s per call) model prints throttled progress lines at -v."""
    with OpenAIServer(latency=0.4) as server:
        env = {**os.environ, **server.env("slow")}
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "evals/test_zero_vs_random.py",
            "--model",
            "openai-api/slow/indifferent",
            "-k",
            "original",
            "--max-draws",
            "24",
            "--batch-size",
            "8",
            "--report-dir",
            str(tmp_path),
            "--no-cache",
            "-p",
            "no:cacheprovider",
            "-v",
        ]
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout
    lines = [line for line in out.splitlines() if line.startswith("  ... ")]
    assert lines, out[-3000:]
    tests = [line for line in lines if "draws per arm (budget 24)" in line]
    models = [line for line in lines if line.startswith("  ... openai-api/slow/indifferent: ")]
    assert len(tests) + len(models) == len(lines), lines
    assert models, out[-3000:]  # one line per model: tests done, draws, calls, time left
    assert all(re.search(r": \d of 2 tests, \d+ draws, \d+ calls, \d+ s; ", m) for m in models)
    assert len(lines) <= 6  # throttled: one line per 2 s at -v, not one per batch
    assert "Captured stdout" not in out  # written past capturing, not into the test's output


# -- honest shares, capped replies, trend, charts drawn once ----------------------------------


@pytest.fixture(scope="module")
def chatty() -> RunResults:
    """A run of a model that never follows the protocol (every test NONCOMPLIANT)."""
    return build_run(["sim/noncompliant"], max_draws=16, run_id="20240101-000001")


def test_no_headline_share_from_a_handful_of_replies(chatty: RunResults) -> None:
    from harness.report.labels import MIN_REPLIES, headline_share
    from harness.report.terminal import summary_lines

    assert {o.verdict.value for o in chatty.outcomes} == {"NONCOMPLIANT"}
    assert all(a.compliant < MIN_REPLIES for o in chatty.outcomes for a in o.arms)
    assert {headline_share(o) for o in chatty.outcomes} == {"random=n/a"}
    assert any("off-protocol random=n/a" in line for line in summary_lines(chatty))
    html = render(chatty)
    text = " ".join(_parse(html).text)
    assert "0.0% - 100.0%" not in text and "n/a" in text  # 0 of 0 is not a share
    assert "n/a" in text and "off-protocol: too few on-protocol replies for shares" in text
    assert f"fewer than {MIN_REPLIES} replies were on-protocol" in text


def test_a_share_from_enough_replies_is_shown(run: RunResults) -> None:
    from harness.report.labels import headline_share

    outcome = next(o for o in run.outcomes if o.model == "sim/indifferent")
    share = headline_share(outcome)
    arm = outcome.arm(outcome.claim.shares()[0].arm)
    assert share == f"random={arm.shares['random']:.2f}", share


def test_replies_are_capped_in_results_page_and_logs(run: RunResults, tmp_path: Path) -> None:
    from harness.report.publish import MAX_REPLY_CHARS

    huge = "q" * 200_000
    first = run.outcomes[0]
    arm = first.arms[0]
    draws = [arm.draws[0].model_copy(update={"text": huge}), *arm.draws[1:]]
    arms = [arm.model_copy(update={"draws": draws, "examples": {"other": [huge]}}), *first.arms[1:]]
    big = run.model_copy(update={"outcomes": [first.model_copy(update={"arms": arms})]})
    run_dir = publish(big, tmp_path).run_dir
    note = f"[cut: {MAX_REPLY_CHARS:,} of 200,000 characters shown]"
    for path in [run_dir / "results.json", run_dir / "index.html", *(run_dir / "logs").iterdir()]:
        text = path.read_text(encoding="utf-8")
        assert note in text, path
        assert "q" * (MAX_REPLY_CHARS + 1) not in text, path
    assert sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file()) < 3_000_000
    assert len(huge) == 200_000  # the caller's results (and the draw cache) keep the whole reply


def test_the_page_shows_a_trend_over_earlier_runs(run: RunResults, tmp_path: Path) -> None:
    small = run.model_copy(update={"outcomes": run.outcomes[:2]})
    first = publish(small.model_copy(update={"run_id": "20240101-000000"}), tmp_path)
    assert 'id="trend"' not in first.html.read_text(encoding="utf-8")  # nothing to compare yet
    second = publish(small.model_copy(update={"run_id": "20240102-000000"}), tmp_path)
    html = second.html.read_text(encoding="utf-8")
    assert 'id="trend"' in html
    assert "20240101-000000" in html and "20240102-000000 (this run)" in html
    for o in small.outcomes:
        assert o.verdict.value in html


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tests whose charts matplotlib draws (none kept in memory at the start)."""
    from harness.report import charts

    tests: list[str] = []
    real = charts._draw

    def counting(outcome: Any, salt: str) -> str:
        tests.append(outcome.test)
        return real(outcome, salt)

    monkeypatch.setattr(charts, "_draw", counting)
    monkeypatch.setattr(charts, "_DRAWN", {})
    return tests


def test_charts_are_drawn_once_and_only_for_requested_outputs(
    run_evals: Any, drawn: list[str], tmp_path: Path
) -> None:
    pytest.importorskip("pytest_html")
    from harness.report import charts

    model = ("--model", "sim/indifferent", "-k", "original")
    done = run_evals(*model)
    assert done.returncode == 0, done.output
    assert len(drawn) == 2  # the page's charts, none for a pytest-html report nobody asked for
    drawn.clear()
    charts._DRAWN.clear()
    page = tmp_path / "pytest-html.html"
    done = run_evals(*model, f"--html={page}", "--self-contained-html")
    assert done.returncode == 0, done.output
    assert len(drawn) == 2  # the pytest-html extra and the page share one drawing per test
    assert page.read_text(encoding="utf-8").count("harness-outcome") == 2
    drawn.clear()
    assert run_evals(*model, "--plan").returncode == 0
    assert drawn == []


def test_model_progress_lines_give_tests_draws_calls_and_time_left() -> None:
    from harness.report.progress import ModelProgress

    now = [0.0]
    lines: list[str] = []
    progress = ModelProgress(lines.append, {"m/a": 4, "m/b": 2}, every=10.0, clock=lambda: now[0])
    now[0] = 5.0
    progress.finished("m/a", draws=16, calls=16, seconds=5.0)
    assert lines == []  # quick runs print nothing
    now[0] = 12.0
    progress.finished("m/b", draws=8, calls=8, seconds=7.0)
    assert lines == [
        "  ... m/a: 1 of 4 tests, 16 draws, 16 calls, 5 s; about 15 s left",
        "  ... m/b: 1 of 2 tests, 8 draws, 8 calls, 7 s; about 7 s left",
    ]
    now[0] = 30.0
    progress.finished("m/b", draws=8, calls=4, seconds=9.0)
    assert lines[-1] == "  ... m/b: 2 of 2 tests, 16 draws, 12 calls, 16 s; done"


def _plan_rows(models: list[str]) -> list[dict[str, Any]]:
    from harness.run.evaluate import claim_plan

    settings = RunSettings(models=tuple(models))
    rows = []
    for name, claim in CLAIMS:
        plan = claim_plan(PAIR, "original", claim, settings, 0.01)
        for model in models:
            rows.append(
                {
                    **plan.model_dump(mode="json"),
                    "test": f"evals/test_x.py::{name}[original-{model}]",
                    "family_size": 4,
                    "run_alpha": 0.05,
                    "line": plan.line(),
                    "warnings": [],
                }
            )
    return rows


def test_plan_totals_give_calls_time_and_cost_per_model(tmp_path: Path) -> None:
    from harness.report.terminal import PlanContext, measured_rates, plan_table
    from harness.results.costs import PriceTable

    models = ["sim/indifferent", "openai/gpt-4o-mini", "openai-api/vendor/m"]
    rows = _plan_rows(models)
    context = PlanContext.build(tuple(models), PriceTable.from_config(), tmp_path / "none")
    lines = plan_table(rows, context)
    totals = lines[lines.index(next(x for x in lines if x.startswith("totals"))) :]
    by_model = {m: next(x for x in totals if x.startswith(f"  {m}: ")) for m in models}
    assert "no time (simulated)" in by_model["sim/indifferent"]
    assert "$0 at" in by_model["sim/indifferent"]
    assert "at stated 10 calls/s" in by_model["openai/gpt-4o-mini"]
    assert re.search(r"\$0\.0\d+ at 60 in / 16 out tokens per call", by_model["openai/gpt-4o-mini"])
    assert by_model["openai-api/vendor/m"].endswith("unpriced")
    assert totals[-1].startswith("  all models: about ") and "cost unpriced" in totals[-1]
    # the treatment arm both claims draw counts once, at the larger of their plans
    one = [r for r in rows if r["test"].endswith("-sim/indifferent]")]
    alone = plan_table(one, PlanContext(("sim/indifferent",), None))
    half, two_arms = (r["allowed"]["mean_draws"] for r in one)
    expected = max(half, two_arms) + two_arms
    assert any(f"about {expected:,.0f} calls" in line for line in alone), alone

    # a rate measured in an earlier run wins over the stated one
    earlier = tmp_path / "reports" / "20240101-000000"
    earlier.mkdir(parents=True)
    usage = {"calls": 200, "input_tokens": 12_000, "output_tokens": 800}
    (earlier / "results.json").write_text(
        json.dumps({"usage": {"openai/gpt-4o-mini": usage}, "seconds": {"openai/gpt-4o-mini": 50}})
    )
    rates = measured_rates(tuple(models), tmp_path / "reports")
    assert set(rates) == {"openai/gpt-4o-mini"}
    rate = rates["openai/gpt-4o-mini"]
    assert (rate.calls_per_second, rate.input_tokens, rate.output_tokens) == (4.0, 60.0, 4.0)
    assert rate.source == "measured 4 calls/s in reports/20240101-000000"


def test_an_unchanged_rerun_reads_its_charts_from_the_report_folder(
    drawn: list[str], tmp_path: Path
) -> None:
    from harness.report import charts

    results = build_run(["sim/indifferent"])
    first = publish(results, tmp_path / "reports")
    assert len(drawn) == len(results.outcomes)
    charts._DRAWN.clear()  # a new process: nothing drawn in memory
    second = publish(results, tmp_path / "reports")
    assert len(drawn) == len(results.outcomes)  # every chart came from .charts
    svgs = [re.findall(r"<svg.*?</svg>", p.html.read_text(), re.S) for p in (first, second)]
    assert svgs[0] == svgs[1] and len(svgs[0]) == len(results.outcomes)
    changed = build_run(["sim/avoidant"])  # other numbers: drawn afresh
    publish(changed, tmp_path / "reports")
    assert len(drawn) == len(results.outcomes) + len(changed.outcomes)
