"""Secrets: every known key is masked in everything the harness writes or prints.

The known secrets are the values of environment variables named ``*_KEY``,
``*_TOKEN``, ``*_SECRET`` (or ``*_PASSWORD``) and model arguments that are
credential-named or look like keys. The end-to-end tests run ``pytest evals/``
against the loopback server while it echoes the key in its error messages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.report.redact import (
    known_secrets,
    looks_like_key,
    remember,
    scrub,
    scrubbed,
    secret_values,
)
from harness.results.records import Draw
from tests.conftest import evals_project
from tests.openai_server import OpenAIServer

KEY = "sk-loop-9f8e7d6c5b4a3f2e1d0c"


def test_environment_keys_tokens_and_secrets_are_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VENDOR_API_KEY", "vendor-key-123456")
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnop")
    monkeypatch.setenv("SERVICE_SECRET", "s3cr3t-value-99")
    monkeypatch.setenv("SHORT_KEY", "1")  # too short to mask: "1" is an answer
    monkeypatch.setenv("KEYBOARD", "not-a-secret-at-all")
    known = known_secrets()
    assert {"vendor-key-123456", "hf_abcdefghijklmnop", "s3cr3t-value-99"} <= set(known)
    assert "1" not in known and "not-a-secret-at-all" not in known
    text = "401: Incorrect API key provided: vendor-key-123456 (hf_abcdefghijklmnop)"
    assert scrub(text) == "401: Incorrect API key provided: *** (***)"
    assert scrub("1") == "1"


def test_model_arguments_that_hold_or_look_like_keys_are_secrets() -> None:
    args = {
        "api_key": "abcdefgh1",
        "avoidance": 0.4,
        "base_url": "https://user:hunter2pass@proxy.example/v1",
        "extra_headers": {"X-Gateway": "gw_Zq8vN3kLp0RtY7uWb2Xc"},
        "note": "a plain sentence is no key",
    }
    found = secret_values(args)
    assert set(found) == {"abcdefgh1", "hunter2pass", "gw_Zq8vN3kLp0RtY7uWb2Xc"}
    assert looks_like_key("sk-proj-abc123XYZ") and not looks_like_key("loopback")
    assert not looks_like_key("https://example.com/v1")
    remember(found)
    assert scrub("sent gw_Zq8vN3kLp0RtY7uWb2Xc to hunter2pass") == "sent *** to ***"


def test_a_longer_secret_containing_a_shorter_one_is_masked_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("A_KEY", "abcdefgh")
    monkeypatch.setenv("B_KEY", "abcdefgh-and-more")
    assert scrub("x abcdefgh-and-more y abcdefgh") == "x *** y ***"


def test_records_are_scrubbed_at_any_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOP_API_KEY", KEY)
    draw = Draw(index=0, seed=1, text="", error=f"HTTP 500: bad key {KEY}")
    assert scrubbed(draw).error == "HTTP 500: bad key ***"
    clean = Draw(index=0, seed=1, text="1")
    assert scrubbed(clean) is clean


def _files_with(root: Path, secret: str) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and secret.encode() in path.read_bytes():
            found.append(str(path.relative_to(root)))
    return found


@pytest.mark.subprocess
def test_a_401_echoing_the_key_stops_the_model_and_the_key_reaches_no_output(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with OpenAIServer(reject=(401, "Incorrect API key provided: {key}"), api_key=KEY) as server:
        for name, value in server.env("loop").items():
            monkeypatch.setenv(name, value)
        project = evals_project(pytester.path)
        result = pytester.runpytest_inprocess(
            *("evals/", "-p", "no:cacheprovider", "-k", "original", "-rA"),
            *("--model", "openai-api/loop/m", "--model", "sim/indifferent"),
            *("--junitxml", "junit.xml", "--report-dir", "reports", "--cache-dir", "draws"),
        )
        received = server.received
    out = "\n".join([*result.outlines, *result.errlines])
    assert result.ret == pytest.ExitCode.USAGE_ERROR, out
    assert 0 < received <= 16, received  # one batch (8 per arm), each request once
    line = f"model openai-api/loop/m cannot be used: HTTP 401 (unauthorized) from {server.base_url}"
    assert out.count(line) == 1, out  # shown once
    assert "Incorrect API key provided: ***" in out
    assert "Traceback" not in out and "[bold]" not in out
    assert KEY not in out
    assert _files_with(project, KEY) == []
    assert "2 passed, 2 skipped" in out  # the other model went on


@pytest.mark.subprocess
def test_provider_errors_kept_in_draws_are_scrubbed_everywhere(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with OpenAIServer(faults={"500": 0.3}, echo_key=True, api_key=KEY, fault_seed=4) as server:
        for name, value in server.env("loop").items():
            monkeypatch.setenv(name, value)
        project = evals_project(pytester.path)
        result = pytester.runpytest_inprocess(
            *("evals/", "-p", "no:cacheprovider", "-k", "original and share_is_half", "-rA"),
            *("--model", "openai-api/loop/m", "--max-retries", "0", "--max-draws", "48"),
            *("--junitxml", "junit.xml", "--report-dir", "reports", "--cache-dir", "draws"),
        )
        assert server.faulted.get("500", 0) > 0
    out = "\n".join([*result.outlines, *result.errlines])
    assert "Traceback" not in out, out
    results = next(p for p in (project / "reports").glob("*/results.json"))
    assert "injected fault 500 for key ***" in results.read_text()  # the error is kept ...
    assert KEY not in out
    assert _files_with(project, KEY) == []  # ... without the key, in every file
    assert list((project / "reports").glob("*/logs/*.json"))
