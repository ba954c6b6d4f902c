"""The HTML report in a real headless Chromium, driven over the DevTools protocol.

The report of a run with simulated models, the embedded SmolLM2 model and a
loopback server whose replies carry an HTML injection is opened from disk.
Every request the page makes is recorded (Network domain), the page's own
state is read (Runtime domain), and a screenshot is kept under the test's tmp
folder and in ``reports/test-artifacts/``. A control page with the same
payload left unescaped proves that the probes see an injection and an
outgoing request when there is one.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); skipped without it.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.report.charts import ALLOWED, FORBIDDEN
from harness.report.publish import publish
from harness.results.baseline import rows_from
from harness.results.regression import compare
from harness.results.run import RunResults
from harness.run.settings import DEFAULT_MODEL
from tests.report.test_report import API_KEY, PAYLOAD, PAYLOAD_MODEL, PayloadServer, build_run

websocket = pytest.importorskip("websocket", reason="websocket-client is a dev dependency")

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not installed (apt-get install -y chromium; .ci/run does)",
    ),
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "reports" / "test-artifacts"
LOCAL_PREFIXES = ("file://", "data:", "about:")


class Browser:
    """One headless Chromium with a DevTools websocket to its first page."""

    def __init__(self, chromium: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="harness-chromium-")
        self.process = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--metrics-recording-only",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--remote-allow-origins=*",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                "--window-size=1280,1600",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = self._port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            targets = json.loads(r.read())
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True
        )
        self.events: list[dict[str, Any]] = []
        self._id = 0

    def _port(self) -> int:
        """The DevTools port Chromium picked (written to its profile folder)."""
        marker = Path(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().splitlines()[0])
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}")
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a DevTools method and return its result; events are kept in order."""
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == event for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(event)
            self.events.append(json.loads(self.ws.recv()))

    def open(self, url: str) -> None:
        """Navigate to ``url`` with request recording on, and wait for the load."""
        self.events.clear()
        self.send("Network.enable")
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=1280, height=1600,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        self.send("Runtime.evaluate", expression="1", awaitPromise=True)  # drain microtasks

    def requests(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def eval(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=False)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def screenshot_of(self, selector: str, path: Path) -> Path:
        """A screenshot of the first element matching ``selector``, wherever it is on the page."""
        box = self.eval(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return [r.left + window.scrollX, r.top + window.scrollY,"
            " r.width, r.height]; })()"
        )
        x, y, width, height = box
        assert width > 0 and height > 0, (selector, box)
        clip = {"x": x, "y": y, "width": width, "height": min(height, 4000), "scale": 1}
        data = self.send(
            "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
        )
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    b = Browser(CHROMIUM)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResults, Path]:
    """A published run of sims, the embedded model and the injecting loopback model.

    It is the second run in its folder (the first is the same run a day
    earlier, for the trend), and it was checked against a baseline taken from
    that first run, in which ``sim/indifferent`` followed the protocol; here
    it chatters 90% of the time, so the baseline section lists regressions.
    """
    with PayloadServer() as server:
        args = {PAYLOAD_MODEL: {"base_url": server.base_url, "api_key": API_KEY}}
        models = ["sim/indifferent", "sim/avoidant", DEFAULT_MODEL, PAYLOAD_MODEL]
        before = build_run(models, args, max_draws=64)  # SmolLM2 is off-protocol by draw 8
    chatty = build_run(["sim/indifferent"], {"sim/indifferent": {"chatter": 0.9}}, max_draws=64)
    outcomes = [o for o in before.outcomes if o.model != "sim/indifferent"] + chatty.outcomes
    check = compare(
        rows_from(before.outcomes), rows_from(outcomes), outcomes, 0.0, 0.05, "evals/baseline.json"
    )
    run = before.model_copy(
        update={"run_id": "20240102-000000", "outcomes": outcomes, "baseline": check}
    )
    base = tmp_path_factory.mktemp("browser-reports")
    publish(before, base)  # 20240101-000000: the earlier run of the trend
    paths = publish(run, base)
    return run, paths.html


MATRIX_MODELS = (
    "Array.from(document.querySelectorAll('#verdict-matrix thead th.model'))"
    ".map(th => th.dataset.model)"
)
REPLIES = "Array.from(document.querySelectorAll('td.reply, div.reply')).map(e => e.textContent)"


def test_report_loads_offline_shows_every_model_and_runs_no_injection(
    browser: Browser, report: tuple[RunResults, Path], tmp_path: Path
) -> None:
    run, html = report
    assert any(d.text == PAYLOAD for o in run.outcomes for a in o.arms for d in a.draws)
    browser.open(html.as_uri())

    requests = browser.requests()
    assert requests and requests[0] == html.as_uri()
    leaving = [u for u in requests if not u.startswith(LOCAL_PREFIXES)]
    assert leaving == [], f"requests left the page: {leaving}"

    assert browser.eval("document.title").startswith("Behavioral hypotheses")
    assert browser.eval(MATRIX_MODELS) == run.models()
    assert len(run.models()) == 4 and DEFAULT_MODEL in run.models()
    cells = browser.eval("document.querySelectorAll('#verdict-matrix tbody td .badge').length")
    assert cells == len(run.outcomes)
    assert browser.eval("document.querySelectorAll('section.outcome svg').length") == len(
        run.outcomes
    )

    assert browser.eval("typeof window.__pwned") == "undefined"
    assert browser.eval("document.scripts.length") == 0
    assert browser.eval("document.images.length") == 0
    assert PAYLOAD in browser.eval(REPLIES)  # whole, as text, inside its own cell
    assert API_KEY not in browser.eval("document.documentElement.outerHTML")

    shot = browser.screenshot(tmp_path / "report.png")
    assert shot.stat().st_size > 10_000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "report.png")


def _anchor(run: RunResults, model: str, verdicts: set[str]) -> str:
    index = next(
        i for i, o in enumerate(run.outcomes) if o.model == model and o.verdict.value in verdicts
    )
    return f"#outcome-{index}"


def test_charts_show_regions_and_off_protocol_arms_and_the_baseline_section_its_regressions(
    browser: Browser, report: tuple[RunResults, Path], tmp_path: Path
) -> None:
    run, html = report
    assert run.baseline is not None and run.baseline.failed
    browser.open(html.as_uri())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # the baseline section: shown, marked failed, one row per regression, the test used
    assert browser.eval("document.querySelector('#baseline').className") == "failed"
    rows = browser.eval(
        "Array.from(document.querySelectorAll('#regressions tbody tr'))"
        ".map(tr => Array.from(tr.cells).map(td => td.textContent))"
    )
    assert len(rows) == len(run.baseline.regressions) >= 2
    assert all(r[0].startswith("report-zero-vs-random[original] sim/indifferent") for r in rows)
    assert any(r[1] == "compliance fell" for r in rows)
    assert all("score test" in r[6] or "z test" in r[6] for r in rows)
    shot = browser.screenshot_of("#baseline", tmp_path / "baseline.png")
    assert shot.stat().st_size > 10_000
    shutil.copy(shot, ARTIFACTS / "baseline.png")

    # the trend: this run beside the earlier one
    runs = browser.eval("Array.from(document.querySelectorAll('#trend + table th')).length")
    assert runs == 2 + 2  # test, model, and the two runs
    shutil.copy(
        browser.screenshot_of("#trend + table", tmp_path / "t.png"), ARTIFACTS / "trend.png"
    )

    # a decided test's chart: the allowed and forbidden regions are drawn (in their colours)
    decided = _anchor(run, "sim/avoidant", {"PASS", "FAIL"})
    svg = browser.eval(f"document.querySelector('{decided} .chart svg').outerHTML")
    assert f"fill: {ALLOWED}" in svg and f"fill: {FORBIDDEN}" in svg
    assert browser.eval(f"document.querySelector('{decided} .chart svg').getBBox().width") > 300
    shot = browser.screenshot_of(f"{decided} .chart", tmp_path / "chart.png")
    shutil.copy(shot, ARTIFACTS / "chart-regions.png")

    # an off-protocol test: its arms drawn as such, its replies one per box with their variant
    off = _anchor(run, "sim/indifferent", {"NONCOMPLIANT"})
    assert "off-protocol" in browser.eval(f"document.querySelector('{off} .counts th').textContent")
    labels = browser.eval(
        f"Array.from(document.querySelectorAll('{off} .reply.example .reply-label'))"
        ".map(e => e.textContent)"
    )
    assert labels and all(label.endswith("original") for label in labels)
    shot = browser.screenshot_of(off, tmp_path / "off.png")
    shutil.copy(shot, ARTIFACTS / "chart-off-protocol.png")


def test_probes_catch_an_unescaped_payload_and_an_outgoing_request(
    browser: Browser, tmp_path: Path
) -> None:
    """The same probes on a page that does inject: they must see it (the check can fail)."""
    page = tmp_path / "unsafe.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>unsafe</title></head><body><table><tr>"
        f"<td class='reply'>{PAYLOAD}</td></tr></table>"
        "<img src='http://report-test.invalid/pixel.png'></body></html>",
        encoding="utf-8",
    )
    browser.open(page.as_uri())
    deadline = time.monotonic() + 10
    while browser.eval("typeof window.__pwned") == "undefined" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert browser.eval("String(window.__pwned)") in {"script", "img"}
    assert PAYLOAD not in browser.eval(REPLIES)
    assert "http://report-test.invalid/pixel.png" in browser.requests()


def test_pytest_html_fragment_renders_chart_and_escaped_examples(
    browser: Browser, report: tuple[RunResults, Path], tmp_path: Path
) -> None:
    from harness.report.html import fragment

    run, _ = report
    outcome = next(
        o for o in run.outcomes if any(d.text == PAYLOAD for a in o.arms for d in a.draws)
    )
    page = tmp_path / "fragment.html"
    page.write_text(f"<!DOCTYPE html><html><body>{fragment(outcome)}</body></html>")
    browser.open(page.as_uri())
    assert browser.eval("document.querySelectorAll('.harness-outcome svg').length") == 1
    assert browser.eval("typeof window.__pwned") == "undefined"
    examples = browser.eval("Array.from(document.querySelectorAll('code')).map(e => e.textContent)")
    assert any(e.endswith(f"[original] {PAYLOAD}") for e in examples)  # whole, as text
