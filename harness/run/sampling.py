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
(:func:`harness.report.redact.scrub`). How one request is sent, timed, retried
and judged is the sampler's :class:`~harness.run.transport.Transport` half.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.define.pair import Message
from harness.report.redact import remember, scrub, secret_values
from harness.results.records import Draw, Usage
from harness.run.cache import DrawStore, public_args, store_key
from harness.run.heap import round_heap
from harness.run.settings import GenerationSettings
from harness.run.transport import (
    CUT_SHORT,
    FAILED_IN_A_ROW,
    REQUEST_SETTINGS,
    ROUND,
    ModelStopped,
    Round,
    Transport,
    budget_stopped,
    chat_messages,
    hook_requests,
    no_client_retries,
    one_line,
    plain_text,
    retry_delay,
)

if TYPE_CHECKING:  # inspect-ai loads with the first model a run calls (a cached run: none)
    from inspect_ai.model import Model

#: One draw to make: (messages, request key, draw index, store key, store header).
Job = tuple[tuple[Message, ...], str, int, str, dict[str, Any]]


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


class Sampler(Transport):
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
        self._requests: dict[str, dict[int, list[float]]] = {}  # requests made, by model
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
            from inspect_ai.model import GenerateConfig, get_model

            args = dict(self.model_args.get(name, {}))
            try:
                if isinstance(args.get("config"), dict):  # --model-arg 'M:config={"top_p": 0.9}'
                    args["config"] = GenerateConfig.model_validate(args["config"])
                model = get_model(name, memoize=False, **args)
            except Exception as exc:
                raise ModelStopped(name, self.stop(name, plain_text(exc))) from None
            no_client_retries(model)
            if hook_requests(model):
                self._hooked.add(name)
            self._models[name] = model
        return self._models[name]

    def stop(self, model: str, why: str) -> str:
        """Stop ``model`` for the rest of the run; the line saying why (the first one wins)."""
        line = scrub(f"model {model} cannot be used: {one_line(why)}")
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
        jobs: list[Job] = []
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
            self.model(model)  # raises ModelStopped if it cannot be created
            with round_heap():
                made = self._loop.run_until_complete(self._gather(model, jobs, gen))
            for job, draw in zip(jobs, made, strict=True):
                have[job[1]][draw.index] = draw
            if model in self.stopped:
                raise ModelStopped(model, self.stopped[model])
        return [[have[k][i] for i in range(count)] for k in keys]

    async def _gather(self, model: str, jobs: list[Job], gen: GenerationSettings) -> list[Draw]:
        # gather inside a coroutine so its future belongs to this sampler's loop
        ROUND.set(Round(total=len(jobs)))  # the draws' tasks see it: their peers for hedging
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
        seed = draw_seed(key, index)
        usage = self.usage[model]  # made by draws_many (a new Usage per call costs CPU)
        reason = self.budget(model) if self.budget is not None else None
        if reason is not None:
            return budget_stopped(index, seed, reason)
        usage.cache_misses += 1
        chat = chat_messages(messages)
        gen = gen or self.settings
        config = self._config(model, seed, gen)
        error = "no attempt"
        refused = 0  # attempts that could not connect at all
        for attempt in range(self.settings.max_retries + 1):
            if attempt:  # the previous attempt failed
                usage.transport_errors += 1
                if model in self.stopped:
                    break
                await asyncio.sleep(retry_delay(attempt))
            reason = self.budget(model) if self.budget is not None and attempt else None
            if reason is not None:  # a retry is a call too: it may not pass the budget
                return budget_stopped(index, seed, reason)
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


__all__ = ["FAILED_IN_A_ROW", "ModelStopped", "Sampler", "draw_seed", "request_key"]
