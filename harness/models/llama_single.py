"""One draw at a time through llama-cpp-python's ``create_chat_completion``.

The local provider's path for calls the batch decoder does not serve: calls
that ask for logprobs (made on an instance that keeps every position's logits)
and models whose chat format is not their GGUF Jinja template. Each draw starts
from a saved snapshot of its prompt's fresh evaluation, so it is a pure function
of prompt, settings and seed, like a batched draw. Runs on the llama thread only.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

from inspect_ai.model import GenerateConfig, Logprob, Logprobs, TopLogprob

from harness.models.llama_batch import Completion, Sampling

_SNAPSHOTS: OrderedDict[tuple[str, str], Any] = OrderedDict()
_SNAPSHOTS_KEPT = 4  # a few prompts' states (each ~20 MB); rebuilt identically if evicted


def complete_one(
    llm: Any,
    path: Path,
    messages: list[dict[str, str]],
    sampling: Sampling,
    config: GenerateConfig,
) -> tuple[Completion, int, Logprobs | None]:
    """One draw: the completion, its prompt's token count and (if asked) its logprobs."""
    want_logprobs = bool(config.logprobs or config.top_logprobs)
    _start_from_prompt(llm, path, messages)
    result = llm.create_chat_completion(
        messages=messages,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        top_k=sampling.top_k,
        min_p=0.0,
        seed=config.seed if config.seed is not None else -1,
        max_tokens=sampling.max_tokens,
        stop=list(sampling.stop),
        logprobs=want_logprobs,
        top_logprobs=config.top_logprobs if want_logprobs else None,
    )
    choice = result["choices"][0]
    usage = result["usage"]
    done = Completion(
        text=choice["message"]["content"] or "",
        output_tokens=usage["completion_tokens"],
        finish="length" if choice.get("finish_reason") == "length" else "stop",
    )
    logprobs = _logprobs(choice.get("logprobs")) if want_logprobs else None
    return done, int(usage["prompt_tokens"]), logprobs


def _start_from_prompt(llm: Any, path: Path, messages: list[dict[str, str]]) -> None:
    """Put ``llm`` in the exact state of a fresh evaluation of ``messages``' prompt.

    llama-cpp-python reuses the previous call's KV cache for a shared prefix,
    which changes the logits slightly, so a draw would depend on the call
    before it. Instead, each prompt is evaluated once from an empty context and
    its state saved; every draw of that prompt starts from that snapshot.
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
