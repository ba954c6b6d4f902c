"""The inspect-log helper process writes the same logs as the run's own process would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.report import log_writer
from harness.report.inspect_logs import write_logs
from harness.report.log_writer import LOG_DIR, LogWriter
from harness.report.publish import publish
from harness.results.run import RunResults
from tests.report.test_report import build_run

pytestmark = pytest.mark.subprocess


#: Fields inspect-ai fills per write (fresh ids, clock readings), not from the results.
VOLATILE = {"id", "uuid", "timestamp", "working_start", "working_time"}


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _logs(folder: Path) -> dict[str, Any]:
    return {
        p.name: _stable(json.loads(p.read_text(encoding="utf-8")))
        for p in sorted((folder / LOG_DIR).iterdir())
    }


def test_the_helper_writes_the_logs_the_run_would(tmp_path: Path) -> None:
    results: RunResults = build_run(["sim/indifferent"])
    (tmp_path / "here").mkdir()
    write_logs(results, tmp_path / "here")
    helper = LogWriter.start()
    assert helper is not None
    (tmp_path / "there").mkdir()
    saved = tmp_path / "there" / "results.json"
    saved.write_text(results.model_dump_json(indent=1))
    assert helper.ready(timeout=120)
    assert helper.hand(saved, tmp_path / "there")
    assert helper.finish() is None
    assert _logs(tmp_path / "there") == _logs(tmp_path / "here")
    assert len(_logs(tmp_path / "here")) == len(results.outcomes)


def test_a_failed_helper_leaves_the_logs_to_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helper = LogWriter.start()
    assert helper is not None
    helper.close()  # gone before the run ends: hand() says so
    results = build_run(["sim/indifferent"])
    paths = publish(results, tmp_path / "reports", helper)
    assert len(list(paths.logs.iterdir())) == len(results.outcomes)

    broken = LogWriter.start()
    assert broken is not None and broken.ready(timeout=120)
    assert broken.hand(tmp_path / "no-such-results.json", tmp_path)
    why = broken.finish()
    assert why is not None and "no-such-results.json" in why

    monkeypatch.setattr(log_writer, "HAND_WAIT", 0.0)
    slow = LogWriter.start()  # still importing when the run's wait ends: ended, not waited for
    assert slow is not None and not slow.hand(tmp_path / "results.json", tmp_path)
    assert slow.process.poll() is not None


def test_a_run_waits_a_moment_for_a_helper_still_importing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_writer, "HAND_WAIT", 60.0)  # longer than any import here
    results = build_run(["sim/indifferent"])
    helper = LogWriter.start()  # just started: still importing when the run reaches it
    assert helper is not None
    paths = publish(results, tmp_path / "reports", helper)
    assert helper.handed  # the logs came from the helper, not from this process
    assert len(list(paths.logs.iterdir())) == len(results.outcomes)
