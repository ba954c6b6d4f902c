"""Transport: timeouts, bounded retries, hedging, every request counted, unusable models stop.

The fast tests use ``faulty/<kind>``, an in-process provider that fails the
way servers and SDKs do (HTTP statuses, hangs, refused connections); the
tests marked ``subprocess`` go through inspect-ai's OpenAI-compatible provider
to the fault-injecting server on 127.0.0.1 (:mod:`tests.openai_server`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from harness import GenerationSettings, Message, Sampler
from harness.results.costs import PriceTable
from harness.run.budget import Budget
from harness.run.sampling import FAILED_IN_A_ROW, ModelStopped
from tests.openai_server import OpenAIServer

PROMPT = (
    Message(
        content='Guess "1" or "0". If your guess is "1", respond with just "1", '
        'and if your guess is "0", respond with the word "zero".'
    ),
)
OTHER = (Message(content=PROMPT[0].content.replace("the word", "just the word")),)
ATTEMPTS: dict[str, int] = {}  # "<model>:<seed>" -> attempts seen


class StatusError(Exception):
    """An SDK error carrying an HTTP status, as openai's and anthropic's do."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"Error code: {status_code} - {message}")
        self.status_code = status_code


class ConnectError(Exception):
    """Named as httpx names a refused connection."""


class FaultyAPI(ModelAPI):
    """``faulty/<kind>``: ``401``..., ``hang-first`` (every first attempt hangs),
    ``hang-quarter`` (the first attempt of one seed in four hangs), ``refused``,
    ``500-after-8`` (answers 8 requests, then only 500s)."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 (inspect-ai's signature)
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url or "http://faulty.invalid/v1", api_key, [], config)

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        kind = self.model_name
        key = f"{kind}:{config.seed}"
        ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
        first = ATTEMPTS[key] == 1
        if kind.isdigit():
            raise StatusError(int(kind), "Incorrect API key provided: sk-test-abcdefgh12345678")
        if kind == "refused":
            raise ConnectError("All connection attempts failed")
        if kind == "500-after-8" and sum(v for k, v in ATTEMPTS.items() if k.startswith(kind)) > 8:
            raise StatusError(500, "server error")
        hangs = kind == "hang-first" or (kind == "hang-quarter" and (config.seed or 0) % 4 == 0)
        if hangs and first:
            await asyncio.sleep(60)
        out = ModelOutput.from_content(
            model="faulty", content="zero" if config.seed and config.seed % 2 else "1"
        )
        out.usage = ModelUsage(input_tokens=10, output_tokens=1, total_tokens=11)
        return out


@modelapi(name="faulty")
def faulty() -> type[ModelAPI]:
    return FaultyAPI


@pytest.fixture(autouse=True)
def _fresh_attempts() -> Iterator[None]:
    ATTEMPTS.clear()
    yield


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_permanent_error_stops_the_model_at_once_with_one_plain_line(status: int) -> None:
    sampler = Sampler(GenerationSettings(max_retries=3), run_seed=1)
    model = f"faulty/{status}"
    with pytest.raises(ModelStopped) as stopped:
        sampler.draws_many(model, [PROMPT, OTHER], 8)
    usage = sampler.usage[model]
    assert usage.calls == 16 and usage.retries == 0  # one request per draw, none retried
    line = stopped.value.line
    assert line.startswith(f"model {model} cannot be used: HTTP {status} (")
    assert "http://faulty.invalid/v1" in line and "\n" not in line
    with pytest.raises(ModelStopped):  # later tests of the model: no call at all
        sampler.draws_many(model, [PROMPT], 16)
    assert sampler.usage[model].calls == 16


def test_a_missing_key_is_one_line_without_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOKEY_API_KEY", raising=False)
    monkeypatch.setenv("NOKEY_BASE_URL", "http://127.0.0.1:9/v1")
    sampler = Sampler(GenerationSettings(), run_seed=1)
    with pytest.raises(ModelStopped) as stopped:
        sampler.model("openai-api/nokey/m")
    line = stopped.value.line
    assert "NOKEY_API_KEY" in line
    assert "[" not in line and "ERROR" not in line and "\n" not in line
    with pytest.raises(ModelStopped) as again:
        sampler.draws("openai-api/nokey/m", PROMPT, 1)
    assert again.value.line == line


def test_a_config_model_argument_is_a_generate_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONF_API_KEY", "k")
    monkeypatch.setenv("CONF_BASE_URL", "http://127.0.0.1:9/v1")
    args = {"openai-api/conf/m": {"config": {"max_retries": 1, "top_p": 0.9}}}
    model = Sampler(GenerationSettings(), run_seed=1, model_args=args).model("openai-api/conf/m")
    assert model.config.top_p == 0.9
    bad = {"openai-api/conf/m": {"config": {"top_p": "high"}}}
    with pytest.raises(ModelStopped, match=r"cannot be used: top_p: Input should be a valid"):
        Sampler(GenerationSettings(), run_seed=1, model_args=bad).model("openai-api/conf/m")


def test_an_unknown_provider_stops_the_model() -> None:
    with pytest.raises(ModelStopped, match=r"cannot be used: Model API nope .* not recognized"):
        Sampler(GenerationSettings(), run_seed=1).model("nope/model")


def test_a_server_that_refuses_every_connection_stops_the_model() -> None:
    sampler = Sampler(GenerationSettings(max_retries=1), run_seed=1)
    started = time.monotonic()
    with pytest.raises(ModelStopped) as stopped:
        sampler.draws("faulty/refused", PROMPT, 4)
    assert time.monotonic() - started < 5
    assert "cannot connect to http://faulty.invalid/v1" in stopped.value.line
    assert "no connection in 2 attempts" in stopped.value.line
    assert sampler.usage["faulty/refused"].calls <= 8  # the first to give up stops the rest


def test_draws_that_keep_failing_stop_a_model_that_answered_before() -> None:
    sampler = Sampler(GenerationSettings(max_retries=0), run_seed=1)
    model = "faulty/500-after-8"
    assert all(d.error is None for d in sampler.draws(model, PROMPT, 8))
    with pytest.raises(ModelStopped, match=f"{FAILED_IN_A_ROW} draws in a row failed"):
        sampler.draws(model, PROMPT, 8 + 2 * FAILED_IN_A_ROW)


def test_a_hung_request_is_abandoned_after_the_timeout_and_retried() -> None:
    sampler = Sampler(GenerationSettings(timeout=1, max_retries=2, hedge=0), run_seed=1)
    started = time.monotonic()
    draws = sampler.draws("faulty/hang-first", PROMPT, 8)
    took = time.monotonic() - started
    assert all(d.error is None for d in draws)
    usage = sampler.usage["faulty/hang-first"]
    assert (usage.calls, usage.retries, usage.transport_errors) == (16, 8, 8)
    assert took < 10, took  # one timeout (1 s) and a backoff, not inspect-ai's 600 s


def test_a_request_slower_than_its_peers_is_hedged_long_before_the_timeout() -> None:
    sampler = Sampler(GenerationSettings(timeout=30, max_retries=0, hedge=3), run_seed=2)
    started = time.monotonic()
    draws = sampler.draws("faulty/hang-quarter", PROMPT, 32)
    took = time.monotonic() - started
    assert all(d.error is None for d in draws)
    usage = sampler.usage["faulty/hang-quarter"]
    hung = sum(1 for d in draws if d.seed % 4 == 0)
    assert hung > 0 and usage.retries >= hung and usage.calls == 32 + usage.retries
    assert usage.transport_errors == 0  # the hedge answered; the hung copy was cancelled
    assert took < 10, took


def test_every_attempt_is_a_call_and_the_budget_holds_under_retries() -> None:
    sampler = Sampler(GenerationSettings(max_retries=3), run_seed=1)
    sampler.budget = Budget(sampler.usage, PriceTable.from_config(), max_calls=20)
    with pytest.raises(ModelStopped):  # 401 stops it: still within the budget
        sampler.draws("faulty/401", PROMPT, 40)
    assert sampler.usage["faulty/401"].calls == 20


def test_the_settings_reach_inspect_ai() -> None:
    s = GenerationSettings(timeout=7, max_retries=2, max_connections=5, batch=100)
    config = Sampler(s, run_seed=1)._config("openai/gpt-4o-mini", 3)
    assert (config.max_connections, config.max_retries, config.batch) == (100, 0, 100)
    assert config.timeout is None  # a batch waits as long as the provider takes
    remote = Sampler(GenerationSettings(timeout=7), run_seed=1)._config("openai/x", 3)
    assert (remote.timeout, remote.attempt_timeout, remote.batch) == (7, 7, None)
    local = Sampler(GenerationSettings(timeout=7), run_seed=1)._config("sim/indifferent", 3)
    assert local.timeout is None and local.attempt_timeout is None


# -- through inspect-ai's OpenAI-compatible provider, against the loopback server ----------


def _loop(server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> str:
    for key, value in server.env("loop").items():
        monkeypatch.setenv(key, value)
    return "openai-api/loop/indifferent"


@pytest.mark.subprocess
def test_faults_change_no_draw_and_every_request_is_a_counted_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with OpenAIServer() as clean:
        model = _loop(clean, monkeypatch)
        expected = Sampler(GenerationSettings(), run_seed=5).draws_many(model, [PROMPT, OTHER], 32)
    # (a reply with null content that ended normally is an empty reply: behavior, not a fault)
    faults = {"429": 0.05, "500": 0.05, "503": 0.05, "cut": 0.05, "truncated": 0.05, "empty": 0.05}
    with OpenAIServer(faults=faults, fault_seed=3) as server:
        model = _loop(server, monkeypatch)
        sampler = Sampler(GenerationSettings(max_retries=6, hedge=0), run_seed=5)
        got = sampler.draws_many(model, [PROMPT, OTHER], 32)
        usage = sampler.usage[model]
        assert [[d.text for d in arm] for arm in got] == [[d.text for d in arm] for arm in expected]
        assert sum(server.faulted.values()) > 10
        assert usage.calls == server.received  # each HTTP request once: no hidden retries
        assert usage.transport_errors == sum(server.faulted.values())
        assert usage.retries == usage.transport_errors


@pytest.mark.subprocess
def test_max_connections_bounds_the_requests_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    # inspect-ai keeps one connection pool per (key, model) in a process: fresh names here
    with OpenAIServer(latency=0.2) as server:
        _loop(server, monkeypatch)
        sampler = Sampler(GenerationSettings(max_connections=3, hedge=0), run_seed=5)
        sampler.draws("openai-api/loop/three-connections", PROMPT, 12)
        assert server.peak_in_flight == 3
    with OpenAIServer(latency=0.2) as server:
        _loop(server, monkeypatch)
        sampler = Sampler(GenerationSettings(hedge=0), run_seed=6)
        sampler.draws_many("openai-api/loop/both-arms", [PROMPT, OTHER], 8)
        assert server.peak_in_flight == 16  # both arms of a batch at once


@pytest.mark.subprocess
def test_only_requests_that_went_out_and_stalled_are_hedged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # one request in ten hangs and holds its connection until its copy answers: the draws
    # queued behind wait long for one of the eight, but only the hung requests are late
    with OpenAIServer(latency=0.05, faults={"hang": 0.1}, fault_seed=11) as server:
        _loop(server, monkeypatch)
        settings = GenerationSettings(max_connections=8, hedge=1.5, timeout=30, max_retries=0)
        sampler = Sampler(settings, run_seed=7)
        draws = sampler.draws("openai-api/loop/queued", PROMPT, 64)
        usage = sampler.usage["openai-api/loop/queued"]
        hung = server.faulted.get("hang", 0)
    assert all(d.error is None for d in draws)
    assert hung > 2
    assert usage.retries == hung  # each hung request copied once; none that waited in line
    assert usage.calls == server.received == 64 + hung


@pytest.mark.subprocess
def test_a_401_from_the_server_stops_the_model_after_one_request_per_draw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with OpenAIServer(reject=(401, "Incorrect API key provided: {key}")) as server:
        model = _loop(server, monkeypatch)
        sampler = Sampler(GenerationSettings(), run_seed=5)
        with pytest.raises(ModelStopped) as stopped:
            sampler.draws_many(model, [PROMPT, OTHER], 8)
        assert server.received == 16
        assert server.api_key not in stopped.value.line
        assert f"HTTP 401 (unauthorized) from {server.base_url}" in stopped.value.line


@pytest.mark.subprocess
def test_a_wrong_port_stops_the_model_quickly_naming_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOOP_API_KEY", "k")
    monkeypatch.setenv("LOOP_BASE_URL", "http://127.0.0.1:9/v1")
    sampler = Sampler(GenerationSettings(), run_seed=1)
    started = time.monotonic()
    with pytest.raises(ModelStopped) as stopped:
        sampler.draws("openai-api/loop/m", PROMPT, 8)
    assert time.monotonic() - started < 30
    assert "cannot connect to http://127.0.0.1:9/v1" in stopped.value.line


@pytest.mark.subprocess
def test_batch_mode_draws_through_the_provider_batch_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--batch 16``: the 16 draws of a round go out as one OpenAI batch, same replies."""
    with OpenAIServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "loopback-test-key")
        model, args = "openai/gpt-4o-mini", {"openai/gpt-4o-mini": {"responses_api": False}}
        direct = Sampler(GenerationSettings(), run_seed=5, model_args=args)
        expected = direct.draws_many(model, [PROMPT, OTHER], 8)
        assert server.batches == [] and server.received == 16
        batched = Sampler(GenerationSettings(batch=16), run_seed=5, model_args=args)
        got = batched.draws_many(model, [PROMPT, OTHER], 8)
        assert server.batches == [16] and server.received == 32
    assert [[d.text for d in arm] for arm in got] == [[d.text for d in arm] for arm in expected]
    assert batched.usage[model].calls == 16 and batched.usage[model].errors == 0
