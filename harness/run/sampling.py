"""Drawing model responses through inspect-ai, independently and reproducibly.

Each draw of a request (model, messages, generation settings, run seed) has an
index; its seed is derived from the run seed, the request and the index, so a
rerun with the same ``--seed`` asks for exactly the same draws and a different
seed gives fresh ones. inspect-ai's own response cache is off (it keys on the
request, which would make repeated draws identical); the harness keeps its own
store keyed by request *and* draw index, in memory and optionally on disk, so
that claims sharing an arm share its draws and an interrupted run resumes.

Calls go straight to ``Model.generate`` (about 0.7 ms overhead per call)
rather than through ``eval()`` (12-16 ms per sample), and run concurrently
within a batch; ``--max-connections`` bounds the parallelism.

Every HTTP request is one counted call: inspect-ai's retries and the provider
SDK's are turned off, and the harness retries a failed request itself (up to
``--max-retries``, with a short backoff), checking the budget before each.
A request unanswered after ``--timeout`` seconds is abandoned and retried; a
straggler (``--hedge`` times older than the slowest reply of its batch, the
batch silent since) is re-sent alongside (same seed, first reply wins), so a
few hung requests do not hold a whole batch. An error that retrying cannot
fix (401, 403, 404, a missing key, an unknown model, a server that refuses
every connection) stops the model: its draws raise :class:`ModelStopped` with
one line saying why. Every error text kept is scrubbed of known secrets
(:func:`harness.report.redact.scrub`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import random
import re
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from inspect_ai.model import ChatMessage, GenerateConfig, Model, ModelOutput, get_model
from pydantic import ValidationError

from harness.define.pair import Message
from harness.report.redact import remember, scrub, secret_values
from harness.results.records import BudgetStop, Draw, Usage
from harness.run.cache import DrawStore, public_args, store_key
from harness.run.settings import GenerationSettings

#: HTTP statuses that no retry can fix: bad key, no permission, no such model or route.
PERMANENT_STATUS = {401: "unauthorized", 403: "forbidden", 404: "not found"}
#: Providers that run in this process: no request to time out, hedge or retry for transport.
IN_PROCESS = ("local/", "sim/")
#: Draws in a row that failed every attempt before a model that answered before is stopped.
FAILED_IN_A_ROW = 16
#: Replies timed per model for the hedging delay, and how many are needed before hedging.
LATENCY_WINDOW, LATENCY_MIN = 64, 4
#: Copies of a slow request sent alongside it, at most; the shortest hedging delay (seconds);
#: how often a request in flight looks whether it has become a straggler (seconds).
MAX_HEDGES, HEDGE_FLOOR, HEDGE_POLL = 4, 0.05, 0.05


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


def request_key(
    model: str, messages: tuple[Message, ...], settings: GenerationSettings, run_seed: int
) -> str:
    """A stable hash of everything that determines a request's draws."""
    payload = {
        "model": model,
        "messages": [m.model_dump() for m in messages],
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "stop_seqs": list(settings.stop_seqs),
        "seed": run_seed,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def draw_seed(key: str, index: int) -> int:
    """The seed of draw ``index`` of request ``key`` (fits a uint32 sampler seed)."""
    digest = hashlib.sha256(f"{key}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class Sampler:
    """Draws responses for (model, messages) requests; owns its event loop."""

    def __init__(
        self,
        settings: GenerationSettings,
        run_seed: int,
        store: DrawStore | None = None,
        model_args: dict[str, dict[str, Any]] | None = None,
        budget: Callable[[str], str | None] | None = None,
    ) -> None:
        self.settings = settings
        self.run_seed = run_seed
        self.store = store or DrawStore()
        self.model_args = model_args or {}
        self.budget = budget
        self.usage: dict[str, Usage] = {}
        self.stopped: dict[str, str] = {}  # model -> the one line saying why it was stopped
        self._answered: set[str] = set()  # models that gave at least one reply
        self._failed_in_a_row: dict[str, int] = {}
        self._latency: dict[str, deque[float]] = {}
        self._models: dict[str, Model] = {}
        self._hooked: set[str] = set()  # models whose HTTP requests are seen going out
        remember(secret_values(self.model_args))
        self._served: set[tuple[str, int]] = set()  # cached draws already counted as hits
        self._loop = asyncio.new_event_loop()

    def model(self, name: str) -> Model:
        """The inspect-ai model for ``name`` (created once per process).

        Raises :class:`ModelStopped` if it cannot be created (unknown provider,
        missing key or file), or was stopped before.
        """
        if name in self.stopped:
            raise ModelStopped(name, self.stopped[name])
        if name not in self._models:
            args = dict(self.model_args.get(name, {}))
            try:
                if isinstance(args.get("config"), dict):  # --model-arg 'M:config={"top_p": 0.9}'
                    args["config"] = GenerateConfig.model_validate(args["config"])
                model = get_model(name, memoize=False, **args)
            except Exception as exc:
                raise ModelStopped(name, self.stop(name, _plain(exc))) from None
            _no_client_retries(model)
            if _hook_requests(model):
                self._hooked.add(name)
            self._models[name] = model
        return self._models[name]

    def stop(self, model: str, why: str) -> str:
        """Stop ``model`` for the rest of the run; the line saying why (the first one wins)."""
        line = scrub(f"model {model} cannot be used: {_one_line(why)}")
        return self.stopped.setdefault(model, line)

    def draws(self, model: str, messages: tuple[Message, ...], count: int) -> list[Draw]:
        """Draws 0..count-1 of this request, generating only the missing ones."""
        return self.draws_many(model, [messages], count)[0]

    def draws_many(
        self,
        model: str,
        requests: list[tuple[Message, ...]],
        count: int,
        generation: GenerationSettings | None = None,
    ) -> list[list[Draw]]:
        """Draws 0..count-1 of each request, the missing ones of all requests in one gather.

        Both arms of a claim (and every paraphrase of a pooled one) are drawn
        together, so the provider's connection limit, not the claim's shape,
        bounds the concurrency. Identical requests share their draws.
        ``generation`` (a hypothesis's settings; default: the sampler's) keys the
        draws and configures the calls; its system prompt is sent as a leading
        system message.
        """
        gen = generation or self.settings
        if gen.system_prompt is not None:
            system = Message(role="system", content=gen.system_prompt)
            requests = [(system, *messages) for messages in requests]
        usage = self.usage.setdefault(model, Usage())
        if model in self.stopped:
            raise ModelStopped(model, self.stopped[model])
        args = self.model_args.get(model, {})
        have: dict[str, dict[int, Draw]] = {}
        jobs: list[tuple[tuple[Message, ...], str, int, str, dict[str, Any]]] = []
        keys = [request_key(model, m, gen, self.run_seed) for m in requests]
        for messages, seed_key in zip(requests, keys, strict=True):
            if seed_key in have:
                continue
            key = store_key(seed_key, args)  # a reconfigured model never reuses draws
            got_all = have.setdefault(seed_key, {})
            header = {
                "model": model,
                "model_args": public_args(args),
                "messages": [m.model_dump() for m in messages],
                "settings": gen.model_dump(include=REQUEST_SETTINGS),
                "seed": self.run_seed,
            }
            for i in range(count):
                got = self.store.get(key, i)
                if got is not None and got.error is None:
                    got_all[i] = got
                    if got.cached and (key, i) not in self._served:
                        self._served.add((key, i))
                        usage.cache_hits += 1
                else:
                    jobs.append((messages, seed_key, i, key, header))
        if jobs:
            made = self._loop.run_until_complete(self._gather(model, jobs, gen))
            for job, draw in zip(jobs, made, strict=True):
                have[job[1]][draw.index] = draw
            if model in self.stopped:
                raise ModelStopped(model, self.stopped[model])
        return [[have[k][i] for i in range(count)] for k in keys]

    async def _gather(
        self,
        model: str,
        jobs: list[tuple[tuple[Message, ...], str, int, str, dict[str, Any]]],
        gen: GenerationSettings,
    ) -> list[Draw]:
        # gather inside a coroutine so its future belongs to this sampler's loop
        _ROUND.set(_Round(total=len(jobs)))  # the draws' tasks see it: their peers for hedging
        calls = (
            self._one(model, msgs, sk, i, key, header, gen) for msgs, sk, i, key, header in jobs
        )
        return list(await asyncio.gather(*calls))

    async def _one(
        self,
        model: str,
        messages: tuple[Message, ...],
        seed_key: str,
        index: int,
        key: str,
        header: dict[str, Any],
        gen: GenerationSettings,
    ) -> Draw:
        """Draw ``index`` of a request, kept in the store as soon as it returns."""
        draw = await self._call(model, messages, seed_key, index, gen)
        self.store.put(key, draw, header)
        return draw

    async def _call(
        self,
        model: str,
        messages: tuple[Message, ...],
        key: str,
        index: int,
        gen: GenerationSettings | None = None,
    ) -> Draw:
        from inspect_ai.model import (
            ChatMessageAssistant,
            ChatMessageSystem,
            ChatMessageUser,
        )

        seed = draw_seed(key, index)
        usage = self.usage.setdefault(model, Usage())
        reason = self.budget(model) if self.budget is not None else None
        if reason is not None:
            return _stopped(index, seed, reason)
        usage.cache_misses += 1
        chat: list[ChatMessage] = [
            ChatMessageSystem(content=m.content)
            if m.role == "system"
            else ChatMessageAssistant(content=m.content)
            if m.role == "assistant"
            else ChatMessageUser(content=m.content)
            for m in messages
        ]
        gen = gen or self.settings
        config = self._config(model, seed, gen)
        error = "no attempt"
        refused = 0  # attempts that could not connect at all
        for attempt in range(self.settings.max_retries + 1):
            if attempt:  # the previous attempt failed
                usage.transport_errors += 1
                if model in self.stopped:
                    break
                await asyncio.sleep(_backoff(attempt))
            reason = self.budget(model) if self.budget is not None and attempt else None
            if reason is not None:  # a retry is a call too: it may not pass the budget
                return _stopped(index, seed, reason)
            usage.calls += 1  # counted with the check, before any await: no overshoot
            if attempt:
                usage.retries += 1
            try:
                output = await self._attempt(model, chat, config, usage, retry=attempt > 0)
            except Exception as exc:  # provider bugs (e.g. truncated JSON) must not end the run
                error, permanent, no_connection = self._failure(model, exc)
                refused += no_connection
                if permanent:
                    self.stop(model, error)
                    break
                continue
            tokens = output.usage
            if tokens is not None:
                usage.input_tokens += tokens.input_tokens
                usage.output_tokens += tokens.output_tokens
            if output.error or not output.choices:
                error = output.error or "no reply (no choices)"  # a fault: retried
                continue
            if not output.completion.strip() and output.choices[0].stop_reason in CUT_SHORT:
                error = (
                    f"empty reply: it hit max_tokens={gen.max_tokens}"
                    " (a reasoning model may need a larger --max-tokens)"
                )
                break  # the same request would stop the same way
            # an empty reply that ended normally is behavior (labelled "empty"), never retried
            return Draw(
                index=index,
                seed=seed,
                text=output.completion,
                input_tokens=tokens.input_tokens if tokens else 0,
                output_tokens=tokens.output_tokens if tokens else 0,
            )
        usage.errors += 1
        usage.transport_errors += 1
        self._failed(model, error, refused == self.settings.max_retries + 1)
        return Draw(index=index, seed=seed, text="", error=scrub(error))

    def _config(
        self, model: str, seed: int, gen: GenerationSettings | None = None
    ) -> GenerateConfig:
        """The request's config: inspect-ai retries off (the harness retries), the timeout on."""
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
        retry, like a copy, goes out alone (not with its batch).
        """
        tasks = {asyncio.ensure_future(self._request(model, chat, config, usage, retry))}
        hedging = self._hedging(model)
        hedges, sent = 0, time.monotonic()
        outcome: ModelOutput | BaseException | None = None
        try:
            while tasks:
                wait = HEDGE_POLL if hedging and hedges < MAX_HEDGES else None
                done, tasks = await asyncio.wait(
                    tasks, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    found = task.exception() or task.result()
                    if isinstance(found, ModelOutput) and _answered(found):
                        return found
                    outcome = outcome or found
                if done or not tasks or wait is None:
                    continue
                if not self._straggling(model, time.monotonic() - sent, alone=retry or hedges > 0):
                    continue
                if model in self.stopped or (self.budget is not None and self.budget(model)):
                    hedging = False  # no copy past the budget: wait for those in flight
                    continue
                hedges, sent = hedges + 1, time.monotonic()
                usage.calls += 1
                usage.retries += 1
                tasks.add(asyncio.ensure_future(self._request(model, chat, config, usage, True)))
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
    ) -> ModelOutput:
        """One HTTP request, counted as a call by the caller (and given back if it was
        cancelled before it went out); its time is kept if it brought a reply."""
        started = time.monotonic()
        sent = _SENT.set([False])
        try:
            output = await self.model(model).generate(chat, config=config, cache=False)
        except BaseException:
            if _SENT.get() == [False] and model in self._hooked:
                usage.calls -= 1  # never reached the network (waiting for a connection slot)
            raise
        finally:
            _SENT.reset(sent)
        if _answered(output):
            self._answered.add(model)
            self._failed_in_a_row[model] = 0
            now = time.monotonic()
            times = self._latency.setdefault(model, deque(maxlen=LATENCY_WINDOW))
            times.append(now - started)
            peers = _ROUND.get()
            if peers is not None and alone:
                peers.alone.append(now - started)
            elif peers is not None:
                peers.answered.append(now - peers.started)
        return output

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
        with the model's last replies too.
        """
        hedge = self.settings.hedge
        if age >= self.settings.timeout:
            return False  # it is about to time out and be retried anyway
        peers = _ROUND.get()
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
            return age >= max(HEDGE_FLOOR, hedge * last) and silence >= hedge * last / answered
        if times is None or len(times) < LATENCY_MIN:
            return False
        return age >= max(HEDGE_FLOOR, hedge * max(list(times)[-LATENCY_MIN:]))

    def _failure(self, model: str, exc: BaseException) -> tuple[str, bool, bool]:
        """One line for a failed attempt; whether no retry can fix it; whether it never
        connected."""
        root = _root(exc)
        status = _status(root)
        url = self._base_url(model)
        where = f" from {url}" if url else ""
        if status in PERMANENT_STATUS:
            message = getattr(root, "provider_message", None) or getattr(root, "message", None)
            text = _plain(message or root)
            text = re.sub(r"^Error code: \d+ - ", "", text)
            return f"HTTP {status} ({PERMANENT_STATUS[status]}){where}: {text}", True, False
        if _is_prerequisite(root):
            return _plain(root), True, False
        if type(root).__name__ == "AttemptTimeoutError":
            return f"no reply{where} within --timeout {self.settings.timeout} s", False, False
        chain = _chain(root)
        no_connection = any(_connect_failure(e) for e in chain)
        if no_connection:
            cause = next(e for e in chain if _connect_failure(e))
            return f"cannot connect to {url or model} ({_plain(cause)})", False, True
        text = _plain(root)
        behind = root.__cause__ or root.__context__
        if behind is not None and len(text) < 40:
            text += f" ({_plain(behind)})"
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


def _answered(output: ModelOutput) -> bool:
    """Whether an output is a reply (not an error; an empty reply is one: behavior)."""
    return not output.error and bool(output.choices)


def _backoff(attempt: int) -> float:
    """Seconds before retry ``attempt`` (1, 2, ...): 0.5, 1, 2, 4 ... up to 8, with jitter."""
    return min(8.0, 0.5 * 2.0 ** (attempt - 1)) * random.uniform(0.5, 1.0)


def _no_client_retries(model: Model) -> None:
    """Turn off the provider SDK's own retries (openai, anthropic ...): the harness retries,
    so that every HTTP request is a counted call."""
    client = getattr(model.api, "client", None)
    if isinstance(getattr(client, "max_retries", None), int):
        client.max_retries = 0  # type: ignore[union-attr]


@dataclass
class _Round:
    """The draws requested together (one gather), and when those that answered did."""

    total: int
    started: float = field(default_factory=time.monotonic)
    answered: list[float] = field(default_factory=list)  # seconds from the start
    alone: list[float] = field(default_factory=list)  # reply times of copies and retries


_ROUND: contextvars.ContextVar[_Round | None] = contextvars.ContextVar(
    "harness_round", default=None
)
#: Set by the HTTP client's request hook when the request of the current task goes out.
_SENT: contextvars.ContextVar[list[bool]] = contextvars.ContextVar("harness_sent")


async def _mark_sent(request: object) -> None:
    flag = _SENT.get(None)
    if flag is not None:
        flag[0] = True


def _hook_requests(model: Model) -> bool:
    """Watch the provider's HTTP client (an httpx client inside the SDK client, as for
    OpenAI and Anthropic) so a request cancelled before it went out is not a call."""
    http = getattr(getattr(model.api, "client", None), "_client", None)
    hooks = getattr(http, "event_hooks", None)
    if not isinstance(hooks, dict) or not isinstance(hooks.get("request"), list):
        return False
    hooks["request"].append(_mark_sent)
    return True


def _root(exc: BaseException) -> BaseException:
    """The exception behind tenacity's RetryError (inspect-ai raises it when it stops)."""
    last = getattr(exc, "last_attempt", None)
    if last is not None and hasattr(last, "exception"):
        inner = last.exception()
        if isinstance(inner, BaseException):
            return inner
    return exc


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _status(exc: BaseException) -> int | None:
    """The HTTP status an error carries (provider SDK errors, httpx, inspect-ai), if any."""
    for e in _chain(exc):
        status = getattr(e, "status_code", None)
        if status is None:
            status = getattr(getattr(e, "response", None), "status_code", None)
        if isinstance(status, int):
            return status
    return None


def _is_prerequisite(exc: BaseException) -> bool:
    return any(type(e).__name__ == "PrerequisiteError" for e in _chain(exc))


def _connect_failure(exc: BaseException) -> bool:
    """Whether an error means no connection was made (refused, no such host, connect timeout)."""
    return type(exc).__name__ in ("ConnectError", "ConnectTimeout") or isinstance(
        exc, ConnectionRefusedError
    )


def _plain(value: object) -> str:
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
    return _one_line(re.sub(r"^\s*ERROR:\s*", "", text))


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _stopped(index: int, seed: int, reason: str) -> Draw:
    """A draw not made because a budget was reached (never cached, never retried here)."""
    return Draw(
        index=index, seed=seed, text="", error=f"budget: {reason}", stop=BudgetStop(reason=reason)
    )
