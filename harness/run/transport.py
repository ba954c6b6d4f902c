"""Transport: how one request is sent, timed out, retried, hedged and judged.

The :class:`Transport` half of :class:`harness.run.sampling.Sampler`: the
request's config with inspect-ai's own retries off, one attempt with its
timeout and hedges, the classification of a failure (permanent: 401/403/404,
a missing key, an unknown model, a server that refuses every connection; else
retried), and the helpers that read provider errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
import re
import statistics
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import ValidationError

from harness.define.pair import Message
from harness.results.records import BudgetStop, Draw, Usage
from harness.run.settings import GenerationSettings

if TYPE_CHECKING:  # inspect-ai loads only when a request is made (a cached run makes none)
    from inspect_ai.model import ChatMessage, GenerateConfig, Model, ModelOutput

#: HTTP statuses that no retry can fix: bad key, no permission, no such model or route.
PERMANENT_STATUS = {401: "unauthorized", 403: "forbidden", 404: "not found"}
#: Providers that run in this process: no request to time out, hedge or retry for transport.
IN_PROCESS = ("local/", "sim/")
#: Draws in a row that failed every attempt before a model that answered before is stopped.
FAILED_IN_A_ROW = 16
#: Replies timed per model for the hedging delay, and how many are needed before hedging.
LATENCY_WINDOW, LATENCY_MIN = 64, 4
#: Copies of a slow request sent alongside it, at most; the shortest hedging delay (seconds);
#: how often a request in flight looks whether it has become a straggler (seconds), and
#: one still waiting for a connection whether it went out (most of a large round waits).
MAX_HEDGES, HEDGE_FLOOR, HEDGE_POLL, QUEUED_POLL = 4, 0.05, 0.05, 0.2


class ModelStopped(Exception):
    """A model the run cannot use (bad key, unknown model, unreachable server): one line why."""

    def __init__(self, model: str, line: str) -> None:
        super().__init__(line)
        self.model = model
        self.line = line


#: Stop reasons of a reply cut short: empty then, it is an error (not retried), not behavior.
CUT_SHORT = ("max_tokens", "model_length")
#: The generation settings that shape a reply (the others only say how it is fetched).
REQUEST_SETTINGS = {"temperature", "max_tokens", "stop_seqs"}


class Transport:
    """Sending one request: its config, an attempt, hedging, failure classification."""

    settings: GenerationSettings
    budget: Callable[[str], str | None] | None
    usage: dict[str, Usage]
    stopped: dict[str, str]
    _answered: set[str]
    _failed_in_a_row: dict[str, int]
    _latency: dict[str, deque[float]]
    _requests: dict[str, dict[int, list[float]]]
    _models: dict[str, Model]
    _hooked: set[str]

    def model(self, name: str) -> Model:
        """The inspect-ai model for ``name`` (the sampler's)."""
        raise NotImplementedError

    def stop(self, model: str, why: str) -> str:
        """Stop ``model`` for the rest of the run (the sampler's)."""
        raise NotImplementedError

    def _config(
        self, model: str, seed: int, gen: GenerationSettings | None = None
    ) -> GenerateConfig:
        """The request's config: inspect-ai retries off (the harness retries), the timeout on."""
        from inspect_ai.model import GenerateConfig

        s = gen or self.settings
        remote = not model.startswith(IN_PROCESS)
        timeout = s.timeout if remote and not s.batch else None
        return GenerateConfig(
            temperature=s.temperature,
            max_tokens=s.max_tokens,
            stop_seqs=list(s.stop_seqs) or None,
            seed=seed,
            max_connections=max(s.max_connections, s.batch),  # a batch fills while they wait
            max_retries=0,
            timeout=timeout,
            attempt_timeout=timeout,
            batch=s.batch or None,
        )

    async def _attempt(
        self,
        model: str,
        chat: list[ChatMessage],
        config: GenerateConfig,
        usage: Usage,
        retry: bool = False,
    ) -> ModelOutput:
        """One attempt: a request, re-sent alongside while it stays slow; the first reply wins.

        Each copy has the same seed, so whichever answers gives the same draw. A
        retry, like a copy, goes out alone (not with its batch). When every
        connection is taken, the copy replaces the slow request instead: hung
        requests holding every connection would keep their own copies waiting
        until the timeout.
        """
        from inspect_ai.model import ModelOutput

        went_out: list[float] = []  # when the newest copy went out (empty: still queued)
        tasks = {asyncio.ensure_future(self._request(model, chat, config, usage, retry, went_out))}
        hedging = self._hedging(model)
        hedges, sent = 0, time.monotonic()
        outcome: ModelOutput | BaseException | None = None
        try:
            while tasks:
                queued = model in self._hooked and not went_out
                poll = QUEUED_POLL if queued else HEDGE_POLL
                wait = poll if hedging and hedges < MAX_HEDGES else None
                done, tasks = await asyncio.wait(
                    tasks, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    if task.cancelled():  # a slow request given up for its copy
                        continue
                    found = task.exception() or task.result()
                    if isinstance(found, ModelOutput) and has_reply(found):
                        return found
                    outcome = outcome or found
                if done or not tasks or wait is None:
                    continue
                if queued and not went_out:
                    continue  # waiting for a connection: a copy would wait behind it
                age = time.monotonic() - (went_out[0] if went_out else sent)
                if not self._straggling(model, age, alone=retry or hedges > 0):
                    continue
                if model in self.stopped or (self.budget is not None and self.budget(model)):
                    hedging = False  # no copy past the budget: wait for those in flight
                    continue
                if self._connections_taken(model, config):
                    for task in tasks:
                        task.cancel()  # its connection goes to the copy
                hedges, sent = hedges + 1, time.monotonic()
                went_out = []
                usage.calls += 1
                usage.retries += 1
                copy = self._request(model, chat, config, usage, True, went_out)
                tasks.add(asyncio.ensure_future(copy))
        finally:
            for task in tasks:
                task.cancel()
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        return outcome

    async def _request(
        self,
        model: str,
        chat: list[ChatMessage],
        config: GenerateConfig,
        usage: Usage,
        alone: bool = False,
        went_out: list[float] | None = None,
    ) -> ModelOutput:
        """One HTTP request, counted as a call by the caller (and given back if it was
        cancelled before it went out); its time in flight is kept if it brought a reply.

        ``went_out`` receives the moment the request left for the network (a watched
        client's), so that time spent waiting for a connection is not taken for latency.
        """
        started = time.monotonic()
        out = went_out if went_out is not None else []
        token = _SENT.set(out)
        requests = self._requests.setdefault(model, {})
        requests[id(out)] = out
        try:
            output = await self.model(model).generate(chat, config=config, cache=False)
        except BaseException:
            if not out and model in self._hooked:
                usage.calls -= 1  # never reached the network (waiting for a connection slot)
                usage.retries -= alone  # nor was it re-sent
            raise
        finally:
            _SENT.reset(token)
            requests.pop(id(out), None)
        if has_reply(output):
            self._answered.add(model)
            self._failed_in_a_row[model] = 0
            now = time.monotonic()
            in_flight = now - (out[0] if out else started)
            times = self._latency.setdefault(model, deque(maxlen=LATENCY_WINDOW))
            times.append(in_flight)
            peers = ROUND.get()
            if peers is not None and alone:
                peers.alone.append(in_flight)
            elif peers is not None:
                peers.answered.append(now - peers.started)
                peers.in_flight.append(in_flight)
        return output

    def _connections_taken(self, model: str, config: GenerateConfig) -> bool:
        """Whether as many of ``model``'s requests are out as it has connections."""
        if model not in self._hooked:
            return False
        out = sum(1 for went_out in self._requests.get(model, {}).values() if went_out)
        return out >= (config.max_connections or 0)

    def _hedging(self, model: str) -> bool:
        """Whether slow requests to ``model`` are re-sent alongside (remote, not batched)."""
        s = self.settings
        return bool(s.hedge) and not s.batch and not model.startswith(IN_PROCESS)

    def _straggling(self, model: str, age: float, alone: bool = False) -> bool:
        """Whether a request unanswered for ``age`` seconds is to be sent again alongside.

        Against its own batch (the draws requested together), once half of it
        has answered: the request is ``--hedge`` times older than the slowest
        reply, and the batch has been silent for ``--hedge`` times its mean gap
        between replies. A slow server or a busy client (every reply late
        alike) hedges nothing, nor does a server that answers one request after
        another (replies keep coming). A copy or a retry goes out ``alone``, so it
        is compared with the copies and retries that answered, else with the
        model's recent replies. A batch too small for the batch rule compares
        with the model's last replies too. ``age`` and the replies' times count
        from when a request went out: one still waiting for a connection (behind
        its own batch, when the batch is larger than ``--max-connections``) is
        late through no fault of the server's, and a copy would wait behind it.
        """
        hedge = self.settings.hedge
        if age >= self.settings.timeout:
            return False  # it is about to time out and be retried anyway
        peers = ROUND.get()
        times = self._latency.get(model)
        if alone and peers is not None and peers.alone:
            return age >= max(HEDGE_FLOOR, hedge * max(peers.alone))
        if alone and times is not None and len(times) >= LATENCY_MIN:
            return age >= max(HEDGE_FLOOR, hedge * statistics.median(times))
        if peers is not None and peers.total >= 4:
            answered = len(peers.answered)
            if answered < peers.total / 2:
                return False
            last = max(peers.answered)
            silence = time.monotonic() - peers.started - last
            slowest = max(peers.in_flight)
            return age >= max(HEDGE_FLOOR, hedge * slowest) and silence >= hedge * last / answered
        if times is None or len(times) < LATENCY_MIN:
            return False
        return age >= max(HEDGE_FLOOR, hedge * max(list(times)[-LATENCY_MIN:]))

    def _failure(self, model: str, exc: BaseException) -> tuple[str, bool, bool]:
        """One line for a failed attempt; whether no retry can fix it; whether it never
        connected."""
        root = root_cause(exc)
        status = http_status(root)
        url = self._base_url(model)
        where = f" from {url}" if url else ""
        if status in PERMANENT_STATUS:
            message = getattr(root, "provider_message", None) or getattr(root, "message", None)
            text = plain_text(message or root)
            text = re.sub(r"^Error code: \d+ - ", "", text)
            return f"HTTP {status} ({PERMANENT_STATUS[status]}){where}: {text}", True, False
        if is_prerequisite(root):
            return plain_text(root), True, False
        if type(root).__name__ == "AttemptTimeoutError":
            return f"no reply{where} within --timeout {self.settings.timeout} s", False, False
        chain = cause_chain(root)
        no_connection = any(connect_failure(e) for e in chain)
        if no_connection:
            cause = next(e for e in chain if connect_failure(e))
            return f"cannot connect to {url or model} ({plain_text(cause)})", False, True
        text = plain_text(root)
        behind = root.__cause__ or root.__context__
        if behind is not None and len(text) < 40:
            text += f" ({plain_text(behind)})"
        return f"{type(root).__name__}: {text}", False, False

    def _failed(self, model: str, error: str, never_connected: bool) -> None:
        """Count a draw that failed every attempt; stop the model if it cannot be reached."""
        row = self._failed_in_a_row[model] = self._failed_in_a_row.get(model, 0) + 1
        tries = self.settings.max_retries + 1
        if never_connected and model not in self._answered:
            self.stop(model, f"{error}; no connection in {tries} attempts")
        elif row >= FAILED_IN_A_ROW:
            self.stop(model, f"{row} draws in a row failed {tries} attempts each; last: {error}")

    def _base_url(self, model: str) -> str | None:
        found = self._models.get(model)
        url = getattr(getattr(found, "api", None), "base_url", None)
        return str(url) if url else None


def chat_messages(messages: Sequence[Message]) -> list[ChatMessage]:
    """The harness's messages as inspect-ai chat messages (system, assistant or user)."""
    from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser

    return [
        ChatMessageSystem(content=m.content)
        if m.role == "system"
        else ChatMessageAssistant(content=m.content)
        if m.role == "assistant"
        else ChatMessageUser(content=m.content)
        for m in messages
    ]


def has_reply(output: ModelOutput) -> bool:
    """Whether an output is a reply (not an error; an empty reply is one: behavior)."""
    return not output.error and bool(output.choices)


def retry_delay(attempt: int) -> float:
    """Seconds before retry ``attempt`` (1, 2, ...): 0.5, 1, 2, 4 ... up to 8, with jitter."""
    return min(8.0, 0.5 * 2.0 ** (attempt - 1)) * random.uniform(0.5, 1.0)


def no_client_retries(model: Model) -> None:
    """Turn off the provider SDK's own retries (openai, anthropic ...): the harness retries,
    so that every HTTP request is a counted call."""
    client = getattr(model.api, "client", None)
    if isinstance(getattr(client, "max_retries", None), int):
        client.max_retries = 0  # type: ignore[union-attr]


@dataclass
class Round:
    """The draws requested together (one gather), and when those that answered did."""

    total: int
    started: float = field(default_factory=time.monotonic)
    answered: list[float] = field(default_factory=list)  # seconds from the start
    in_flight: list[float] = field(default_factory=list)  # their times from going out
    alone: list[float] = field(default_factory=list)  # reply times of copies and retries


ROUND: contextvars.ContextVar[Round | None] = contextvars.ContextVar("harness_round", default=None)
#: Filled by the HTTP client's request hook with the moment the current task's request
#: goes out (the first time: a redirect or an SDK retry is the same call).
_SENT: contextvars.ContextVar[list[float]] = contextvars.ContextVar("harness_sent")


async def _mark_sent(request: object) -> None:
    went_out = _SENT.get(None)
    if went_out is not None and not went_out:
        went_out.append(time.monotonic())


def hook_requests(model: Model) -> bool:
    """Watch the provider's HTTP client (an httpx client inside the SDK client, as for
    OpenAI and Anthropic) so a request cancelled before it went out is not a call."""
    http = getattr(getattr(model.api, "client", None), "_client", None)
    hooks = getattr(http, "event_hooks", None)
    if not isinstance(hooks, dict) or not isinstance(hooks.get("request"), list):
        return False
    hooks["request"].append(_mark_sent)
    return True


def root_cause(exc: BaseException) -> BaseException:
    """The exception behind tenacity's RetryError (inspect-ai raises it when it stops)."""
    last = getattr(exc, "last_attempt", None)
    if last is not None and hasattr(last, "exception"):
        inner = last.exception()
        if isinstance(inner, BaseException):
            return inner
    return exc


def cause_chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def http_status(exc: BaseException) -> int | None:
    """The HTTP status an error carries (provider SDK errors, httpx, inspect-ai), if any."""
    for e in cause_chain(exc):
        status = getattr(e, "status_code", None)
        if status is None:
            status = getattr(getattr(e, "response", None), "status_code", None)
        if isinstance(status, int):
            return status
    return None


def is_prerequisite(exc: BaseException) -> bool:
    return any(type(e).__name__ == "PrerequisiteError" for e in cause_chain(exc))


def connect_failure(exc: BaseException) -> bool:
    """Whether an error means no connection was made (refused, no such host, connect timeout)."""
    return type(exc).__name__ in ("ConnectError", "ConnectTimeout") or isinstance(
        exc, ConnectionRefusedError
    )


def plain_text(value: object) -> str:
    """An error as plain text: rich markup and "ERROR:" removed, one line."""
    if isinstance(value, ValidationError):  # e.g. a model argument out of range
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in value.errors()
        )
    text = str(value)
    if "[" in text:
        from rich.errors import MarkupError
        from rich.text import Text

        with contextlib.suppress(MarkupError):  # not markup after all
            text = Text.from_markup(text).plain
    return one_line(re.sub(r"^\s*ERROR:\s*", "", text))


def one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def budget_stopped(index: int, seed: int, reason: str) -> Draw:
    """A draw not made because a budget was reached (never cached, never retried here)."""
    return Draw(
        index=index, seed=seed, text="", error=f"budget: {reason}", stop=BudgetStop(reason=reason)
    )
