"""Where log-probabilities come from, and what is scored: sources, fixed strings, tables.

A **local** GGUF model gives the whole vocabulary's distribution after its chat
template (:class:`LocalSource`, through :mod:`harness.models.logprobs`); an
**API** model that returns OpenAI-style ``top_logprobs`` gives the first
token's top alternatives (:class:`ApiSource`, one call per prompt, the mass it
did not return reported as ``uncovered``). Both produce a
:class:`~harness.results.logprobs.FirstToken` table per arm, kept in the draw
cache's folder beside the draws.

A table tags each first token with the category whose fixed string it begins
(:mod:`harness.define.fixed_strings`): its text, leading spaces dropped, is one
of the category's literal's case forms, or a prefix of one of two characters or
more.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.define.classifiers import classify
from harness.define.fixed_strings import begins, first_tokens_of
from harness.define.pair import Arm, ArmName, Message, ResolvedVariant
from harness.models import is_simulated
from harness.results.logprobs import FirstToken, ReplyShare, TokenShare
from harness.results.records import Usage
from harness.run.settings import GenerationSettings

if TYPE_CHECKING:
    from harness.run.sampling import Sampler

#: The layout of a cached local table (a change in what a table holds gets new keys).
TABLE_VERSION = 2
#: Top alternatives listed in a first-token table; alternatives asked of an API (its maximum).
TOP_TOKENS, API_TOP_LOGPROBS = 12, 20


def request_messages(
    variant: ResolvedVariant, arm: ArmName, gen: GenerationSettings
) -> tuple[Message, ...]:
    """The messages a draw of ``arm`` sends (the hypothesis's system prompt first)."""
    messages = variant.arm(arm).messages
    if gen.system_prompt is not None:
        return (Message(role="system", content=gen.system_prompt), *messages)
    return messages


# --------------------------------------------------------------------------
# log-probability sources
# --------------------------------------------------------------------------


class LocalSource:
    """A local GGUF model: the whole vocabulary's distribution from llama.cpp logits."""

    kind = "local"

    def __init__(
        self, api: Any = None, sampler: Sampler | None = None, model: str | None = None
    ) -> None:
        """``api``: a ``LocalLlamaAPI``; or ``model`` (``local/...``) and ``sampler``, whose
        model is then created only when a table is not in the cache (a cached run loads
        neither inspect-ai nor llama.cpp)."""
        if api is None and (model is None or sampler is None):
            raise ValueError("a LocalSource needs an api, or a model and a sampler")
        self._api = api
        self.model = model
        self.sampler = sampler  # for its cache folder: tables are kept beside the draws

    @property
    def api(self) -> Any:
        if self._api is None:
            assert self.sampler is not None and self.model is not None
            self._api = self.sampler.model(self.model).api
        return self._api

    def sampling(self, gen: GenerationSettings) -> Any:
        from harness.models.llama_batch import sampling_of

        return sampling_of(gen.temperature, None, None, gen.max_tokens, gen.stop_seqs)

    def _identity(self) -> list[Any]:
        """The model file and the provider's settings, as the table's key names them."""
        if self.model is not None and self.sampler is not None:
            from harness.models.gguf import DEFAULT_CTX, DEFAULT_THREADS, resolve_gguf

            args = self.sampler.model_args.get(self.model, {})
            path = resolve_gguf(self.model.removeprefix("local/"))
            n_ctx = int(args.get("n_ctx", DEFAULT_CTX))
            n_threads = int(args.get("n_threads", DEFAULT_THREADS))
        else:
            path, n_ctx, n_threads = Path(self.api.path), self.api.n_ctx, self.api.n_threads
        stat = path.stat()
        return [str(path), stat.st_size, stat.st_mtime_ns, n_ctx, n_threads]

    def supports(self, messages: tuple[Message, ...]) -> str | None:
        """Why these messages cannot be scored (None: they can)."""
        from harness.models.logprobs import local_prompt

        if local_prompt(self.api, _plain(messages)) is None:
            return "its chat format is not a GGUF template the harness applies itself"
        return None

    def scores(
        self, messages: tuple[Message, ...], gen: GenerationSettings, texts: Sequence[str] = ()
    ) -> Any:
        from harness.models.logprobs import local_scores

        return local_scores(self.api, _plain(messages), self.sampling(gen), texts)

    def first_token(
        self,
        messages: tuple[Message, ...],
        gen: GenerationSettings,
        arm: Arm,
        texts: Sequence[str] = (),
    ) -> FirstToken:
        """The arm's first-token table (and, with ``texts``, their exact probabilities); kept
        in the draw cache's folder, keyed by the model file, the request and the arm."""
        key = self._key(messages, gen, arm, texts)
        cached = self._read(key)
        if cached is not None:
            return cached
        table = self._compute(messages, gen, arm, texts)
        if self.sampler is not None:
            _write_cache(self.sampler, key, table.model_dump(mode="json"))
        return table

    def kept(
        self,
        messages: tuple[Message, ...],
        gen: GenerationSettings,
        arm: Arm,
        texts: Sequence[str] = (),
    ) -> FirstToken | None:
        """The arm's table from the draw cache's folder, if an earlier run kept it."""
        return self._read(self._key(messages, gen, arm, texts))

    def _read(self, key: str) -> FirstToken | None:
        cached = _read_cache(self.sampler, key) if self.sampler is not None else None
        return None if cached is None else FirstToken.model_validate(cached)

    def _key(
        self, messages: tuple[Message, ...], gen: GenerationSettings, arm: Arm, texts: Sequence[str]
    ) -> str:
        blob = json.dumps(
            {
                "model": self._identity(),
                "messages": [m.model_dump() for m in messages],
                "sampling": repr(self.sampling(gen)),
                "texts": list(texts),
                "arm": arm.model_dump(mode="json"),
                "table": TABLE_VERSION,
            },
            sort_keys=True,
        )
        return "local-" + hashlib.sha256(blob.encode()).hexdigest()[:32]

    def _compute(
        self, messages: tuple[Message, ...], gen: GenerationSettings, arm: Arm, texts: Sequence[str]
    ) -> FirstToken:
        from harness.models.logits import vocabulary
        from harness.models.logprobs import local_model

        scores = self.scores(messages, gen, texts)
        vocab = vocabulary(local_model(self.api))
        probs = scores.first
        forms = first_tokens_of(arm)
        tagged = _tagger(vocab, forms)
        order = np.argsort(-probs)[:TOP_TOKENS]
        top = [
            TokenShare(
                token=vocab.piece_text(int(t)), p=float(probs[t]), category=tagged.get(int(t))
            )
            for t in order
        ]
        categories = {name: 0.0 for name in forms}
        for token, name in tagged.items():
            categories[name] += float(probs[token])
        replies = [
            ReplyShare(
                text=m.text,
                category=classify(m.text, arm.predicates()),
                p=m.p,
                paths=m.paths,
                alternative=max(0.0, m.p - m.canonical),
            )
            for m in sorted(scores.replies.values(), key=lambda m: -m.p)
        ]
        fixed = float(sum(r.p for r in replies)) if texts else None
        return FirstToken(
            source="logits",
            temperature=gen.temperature,
            top=top,
            categories=categories,
            end=scores.end,
            covered=1.0,
            uncovered=0.0,
            replies=replies,
            fixed=fixed,
            stray=scores.stray if texts else None,
            forward_passes=scores.decodes,
            note="whole vocabulary, after the chat template, at the draws' temperature",
        )


_TAGGERS: dict[tuple[int, str], dict[int, str]] = {}


def _tagger(vocab: Any, forms: dict[str, list[str]]) -> dict[int, str]:
    """token id -> the category whose fixed string it begins (computed once per vocabulary)."""
    key = (id(vocab), json.dumps(forms, sort_keys=True))
    if key not in _TAGGERS:
        found: dict[int, str] = {}
        for token in range(vocab.size):
            text = vocab.piece_text(token)
            for name, words in forms.items():
                if begins(text, words):
                    found.setdefault(token, name)
        _TAGGERS[key] = found
    return _TAGGERS[key]


class ApiSource:
    """A remote model asked for ``top_logprobs``: one call per prompt, max_tokens 1.

    The call goes through a model instance of its own (same name and model
    arguments as the draws'), on an event loop of its own; it counts as a
    call in the model's usage and respects the run's budget.
    """

    kind = "api"

    def __init__(self, sampler: Sampler, model: str) -> None:
        self.sampler = sampler
        self.model = model

    def first_token(
        self, messages: tuple[Message, ...], gen: GenerationSettings, arm: Arm
    ) -> FirstToken | str:
        """The table from the returned alternatives, or why there is none."""
        key = self._key(messages, gen)
        cached = _read_cache(self.sampler, key)
        if cached is not None:
            return FirstToken.model_validate(cached)
        usage = self.sampler.usage.setdefault(self.model, Usage())
        budget = self.sampler.budget
        error = "no attempt"
        for _ in range(self.sampler.settings.max_retries + 1):
            reason = budget(self.model) if budget is not None else None
            if reason is not None:
                return f"budget: {reason}"
            usage.calls += 1
            try:
                model, loop = _api_model(self.model, self.sampler.model_args.get(self.model, {}))
                output = loop.run_until_complete(self._ask(model, messages, gen))
            except Exception as exc:  # a provider that rejects logprobs, or a transport error
                error = f"{type(exc).__name__}: {exc}"
                continue
            if output.usage is not None:
                usage.input_tokens += output.usage.input_tokens
                usage.output_tokens += output.usage.output_tokens
            choice = output.choices[0] if output.choices else None
            content = choice.logprobs.content if choice and choice.logprobs else None
            if not content or not content[0].top_logprobs:
                return "the provider returned no top_logprobs"
            table = self._table(content[0], gen, arm)
            _write_cache(self.sampler, key, table.model_dump(mode="json"))
            return table
        return f"the logprobs call failed: {error}"

    async def _ask(self, model: Any, messages: tuple[Message, ...], gen: GenerationSettings) -> Any:
        from inspect_ai.model import GenerateConfig

        from harness.run.transport import chat_messages

        chat = chat_messages(messages)
        config = GenerateConfig(
            temperature=gen.temperature,
            max_tokens=1,
            logprobs=True,
            top_logprobs=API_TOP_LOGPROBS,
            seed=0,
            max_retries=0,
            timeout=gen.timeout,
            attempt_timeout=gen.timeout,
        )
        return await model.generate(chat, config=config, cache=False)

    def _table(self, first: Any, gen: GenerationSettings, arm: Arm) -> FirstToken:
        forms = first_tokens_of(arm)
        merged: dict[str, float] = {}
        for alt in first.top_logprobs:
            merged[alt.token] = merged.get(alt.token, 0.0) + math.exp(alt.logprob)
        ranked = sorted(merged.items(), key=lambda kv: -kv[1])
        covered = min(1.0, sum(merged.values()))
        categories = {name: 0.0 for name in forms}
        top = []
        for token, p in ranked:
            tag = next((name for name, words in forms.items() if begins(token, words)), None)
            if tag is not None:
                categories[tag] += p
            top.append(TokenShare(token=token, p=p, category=tag))
        return FirstToken(
            source="top_logprobs",
            temperature=gen.temperature,
            top=top[:API_TOP_LOGPROBS],
            categories=categories,
            end=None,
            covered=covered,
            uncovered=max(0.0, 1.0 - covered),
            forward_passes=1,
            note=(
                f"the API's top {len(ranked)} alternatives as it returned them; "
                f"{max(0.0, 1.0 - covered):.1%} of the probability is on tokens not returned"
            ),
        )

    def _key(self, messages: tuple[Message, ...], gen: GenerationSettings) -> str:
        blob = json.dumps(
            {
                "model": self.model,
                "args": sorted(
                    (k, str(v)) for k, v in self.sampler.model_args.get(self.model, {}).items()
                ),
                "messages": [m.model_dump() for m in messages],
                "temperature": gen.temperature,
                "top_logprobs": API_TOP_LOGPROBS,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


_API_MODELS: dict[str, tuple[Any, asyncio.AbstractEventLoop]] = {}


def _api_model(name: str, args: dict[str, Any]) -> tuple[Any, asyncio.AbstractEventLoop]:
    """An inspect-ai model for ``name`` (its SDK's retries off) and the loop it runs on."""
    key = json.dumps([name, sorted((k, str(v)) for k, v in args.items())])
    if key not in _API_MODELS:
        from inspect_ai.model import get_model

        model = get_model(name, memoize=False, **args)
        client: Any = getattr(model.api, "client", None)
        if isinstance(getattr(client, "max_retries", None), int):
            client.max_retries = 0  # every HTTP request is one counted call
        _API_MODELS[key] = (model, asyncio.new_event_loop())
    return _API_MODELS[key]


def _plain(messages: tuple[Message, ...]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _cache_path(sampler: Sampler, key: str) -> Path | None:
    directory = sampler.store.directory
    return None if directory is None else Path(directory) / "first_token" / f"{key}.json"


def _read_cache(sampler: Sampler, key: str) -> dict[str, Any] | None:
    path = _cache_path(sampler, key)
    if path is None or sampler.store.refresh or not path.is_file():
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _write_cache(sampler: Sampler, key: str, data: dict[str, Any]) -> None:
    path = _cache_path(sampler, key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        return


def source_for(sampler: Sampler, model: str) -> tuple[LocalSource | ApiSource | None, str]:
    """Where ``model``'s log-probabilities come from, or why there are none."""
    if is_simulated(model):
        return None, "a simulated model has no log-probabilities"
    if model.startswith("local/"):
        return LocalSource(sampler=sampler, model=model), ""
    return ApiSource(sampler, model), ""
