"""Exact whole-reply probabilities of a local GGUF model, and its first-token distribution.

Used by exact mode (:mod:`harness.run.exact`) and for the first-token table of
every local outcome. Everything is computed from llama.cpp logits after the
model's chat template, with the draws' own sampler settings and numerics
(:mod:`harness.models.logits`), so the probabilities are those of the draws
the harness makes, not of some other decoding.

* **First token**: one forward pass over the prompt gives the distribution of
  the reply's first token over the whole vocabulary.
* **Fixed-string replies** (:func:`score_replies`): the probability that the
  whole reply is exactly ``"1"`` (or ``"zero"``, ``""``, ...), end-of-turn
  included: the sum, over every token path whose decoded text is the string,
  of the product of each token's probability and the probability of ending
  (an end-of-generation token, a stop sequence, or ``max_tokens`` reached)
  right after it. Every tokenization is followed, not just the tokenizer's
  own (the others' share is reported: :attr:`ReplyMass.canonical`), and so
  are detours through tokens that print nothing (control tokens, the bytes
  of an unfinished character). Paths are extended one level at a time, all
  of a level in one or a few decode calls.
* What is not followed is bounded (:attr:`ReplyScores.stray`): the paths
  pruned as too unlikely. On SmolLM2 the other tokenizations carry about
  1e-7 of a string's mass, the detours followed about 1e-11, and the bound
  is at most 2e-4.
"""

from __future__ import annotations

import atexit
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.models.llama_batch import Sampling
from harness.models.logits import (
    MAX_PATH_TOKENS,
    Floats,
    LogitScorer,
    Path,
    Vocabulary,
    next_token_probs,
    vocabulary,
)


@dataclass
class ReplyMass:
    """The probability of one whole reply and how it splits over its token paths."""

    text: str
    p: float = 0.0
    canonical: float = 0.0  # through the tokenizer's own tokenization
    paths: int = 0  # distinct token paths summed


@dataclass
class ReplyScores:
    """Exact probabilities for one prompt under one sampler setting."""

    first: Floats  # the first token's distribution over the vocabulary
    end: float  # probability that the reply is empty (ends at once)
    replies: dict[str, ReplyMass] = field(default_factory=dict)
    stray: float = 0.0  # bound on the mass of token paths to these texts left unexplored
    nodes: int = 0  # token paths whose next-token distribution was computed
    decodes: int = 0  # forward passes (llama_decode calls) used

    @property
    def fixed(self) -> float:
        """Total probability of the scored replies."""
        return float(sum(r.p for r in self.replies.values()))


#: Token paths less likely than this are not followed further; their mass is ``stray``.
PRUNE_BELOW = 1e-10
#: The same for paths through a token that prints nothing (there are hundreds of those at
#: every step, each with a little mass, and they almost never end in a fixed string).
PRUNE_SILENT_BELOW = 1e-6


def score_replies(
    scorer: LogitScorer,
    vocab: Vocabulary,
    prompt: list[int],
    texts: Sequence[str],
    sampling: Sampling,
    canonical: dict[str, Path] | None = None,
    prune_below: float = PRUNE_BELOW,
    prune_silent_below: float = PRUNE_SILENT_BELOW,
) -> ReplyScores:
    """Exact probabilities that the whole reply to ``prompt`` is each of ``texts``.

    A reply is the decoded text as the batch decoder returns it: it ends at an
    end-of-generation token, after ``sampling.max_tokens`` tokens, or at the
    first stop sequence (cut there). Every token path whose decoded text stays
    a prefix of one of ``texts`` is followed: all tokenizations of each text,
    and detours through tokens that print nothing (control tokens, bytes of an
    unfinished character). A path less likely than ``prune_below`` is not
    followed (``prune_silent_below`` for a step that prints nothing); the sum
    of those is :attr:`ReplyScores.stray`, a bound on what the probabilities
    miss. ``canonical`` gives each text's own tokenization
    (the tokenizer's), to report the share of the others.
    """
    wanted = list(dict.fromkeys(texts))
    targets = {text: text.encode("utf-8") for text in wanted}
    prefixes = {t[:i] for t in wanted for i in range(len(t) + 1)}
    stops = [s for s in sampling.stop if s]
    masses = {text: ReplyMass(text=text) for text in wanted}
    own = {v: k for k, v in (canonical or {}).items()}
    limit = min(MAX_PATH_TOKENS, sampling.max_tokens)
    before = scorer.decodes
    nodes = 0
    stray = 0.0
    with scorer.session(prompt) as session:
        first = next_token_probs(session.first, sampling)
        frontier: dict[Path, tuple[float, bytes]] = {(): (1.0, b"")}
        logits: dict[Path, npt.NDArray[np.float32]] = {(): session.first}
        while frontier:
            following: dict[Path, tuple[float, bytes]] = {}
            for path, (reach, data) in frontier.items():
                nodes += 1
                probs = first if not path else next_token_probs(logits.pop(path), sampling)
                text = data.decode("utf-8", errors="ignore")
                if len(path) == sampling.max_tokens:  # cut here: the text is the reply
                    _add(masses, text, reach, path, own)
                    continue
                _add(masses, text, reach * float(probs[vocab.eog].sum()), path, own)
                for token, cut in _stop_cuts(vocab, data, stops):
                    _add(masses, cut, reach * float(probs[token]), None, own)
                for token in _candidates(vocab, text, targets):
                    grown = data + vocab.pieces[token]
                    shown = grown.decode("utf-8", errors="ignore")
                    if shown not in prefixes or any(s in shown for s in stops):
                        continue
                    r = reach * float(probs[token])
                    floor = prune_silent_below if shown == text else prune_below
                    if r < floor or len(path) + 1 > limit:
                        stray += r
                    else:
                        following[(*path, token)] = (r, grown)
            leaves = [p for p in frontier if p and not any(c[:-1] == p for c in following)]
            session.release(leaves)
            logits.update(session.step(list(following)))
            frontier = following
    return ReplyScores(
        first=first,
        end=float(first[vocab.eog].sum()),
        replies=masses,
        stray=stray,
        nodes=nodes,
        decodes=scorer.decodes - before,
    )


def _add(
    masses: dict[str, ReplyMass], text: str, p: float, path: Path | None, own: dict[Path, str]
) -> None:
    found = masses.get(text)
    if found is None or p <= 0.0:
        return
    found.p += p
    found.paths += 1
    if path is not None and own.get(path) == text:
        found.canonical += p


def _candidates(vocab: Vocabulary, text: str, targets: dict[str, bytes]) -> set[int]:
    """Tokens that may keep the decoded text a prefix of a target: the pieces that spell a
    continuation of a target from the text shown so far, and the tokens that print nothing."""
    out = set(vocab.silent.tolist())
    shown = text.encode("utf-8")
    for target in targets.values():
        if not target.startswith(shown):
            continue
        rest = target[len(shown) :]
        for end in range(1, min(len(rest), vocab.longest) + 1):
            out.update(vocab.by_piece.get(rest[:end], ()))
    return out


def _stop_cuts(vocab: Vocabulary, data: bytes, stops: list[str]) -> list[tuple[int, str]]:
    """(token, reply text) for every next token that makes a stop sequence appear."""
    if not stops:
        return []
    out = []
    for token in _stop_candidates(vocab, tuple(stops)):
        text = (data + vocab.pieces[token]).decode("utf-8", errors="ignore")
        cuts = [text.find(s) for s in stops if s in text]
        if cuts:
            out.append((token, text[: min(cuts)]))
    return out


@lru_cache(maxsize=16)
def _stop_candidates(vocab: Vocabulary, stops: tuple[str, ...]) -> tuple[int, ...]:
    """Tokens that can complete a stop sequence: their piece holds a stop's last byte."""
    ends = {s.encode("utf-8")[-1:] for s in stops}
    return tuple(t for t, piece in enumerate(vocab.pieces) if any(e in piece for e in ends))


# --------------------------------------------------------------------------
# the local provider's log-probabilities
# --------------------------------------------------------------------------

_SCORERS: dict[tuple[str, int, int], LogitScorer] = {}
_SCORES: dict[tuple[Any, ...], ReplyScores] = {}
_SCORES_KEPT = 256


def local_model(api: Any) -> Any:
    """The loaded ``llama_cpp.Llama`` of a ``LocalLlamaAPI`` (loaded on first use)."""
    from harness.models.local import load

    return load(api.path, api.n_ctx, api.n_threads)


def local_prompt(api: Any, messages: list[dict[str, str]]) -> list[int] | None:
    """The prompt tokens the local provider decodes for ``messages`` (None: no GGUF template,
    so draws go through llama-cpp-python's own chat formatting instead)."""
    from harness.models.local import prompt_tokens

    return prompt_tokens(local_model(api), messages)


def local_scores(
    api: Any, messages: list[dict[str, str]], sampling: Sampling, texts: Sequence[str] = ()
) -> ReplyScores:
    """The first-token distribution and the exact probability of each of ``texts`` as the
    whole reply, for a ``LocalLlamaAPI``; computed once per process per request.

    With no ``texts`` only the prompt is evaluated (one forward pass).
    """
    llm = local_model(api)
    prompt = local_prompt(api, messages)
    if prompt is None:
        raise ValueError("the model has no GGUF chat template: its prompt cannot be scored")
    key = (str(api.path), api.n_ctx, api.n_threads, tuple(prompt), sampling, tuple(texts))
    found = _SCORES.get(key)
    if found is None:
        scorer = _scorer(llm, key[:3])
        vocab = vocabulary(llm)
        if texts:
            canonical = {
                t: tuple(llm.tokenize(t.encode(), add_bos=False, special=False)) for t in texts
            }
            found = score_replies(scorer, vocab, prompt, texts, sampling, canonical)
        else:
            before = scorer.decodes
            with scorer.session(prompt) as session:
                first = next_token_probs(session.first, sampling)
            found = ReplyScores(
                first=first, end=float(first[vocab.eog].sum()), decodes=scorer.decodes - before
            )
        if len(_SCORES) >= _SCORES_KEPT:
            _SCORES.clear()
        _SCORES[key] = found
    return found


def _scorer(llm: Any, key: tuple[str, int, int]) -> LogitScorer:
    if key not in _SCORERS:
        _SCORERS[key] = LogitScorer(llm, key[1], key[2])
    return _SCORERS[key]


@atexit.register
def _close_scorers() -> None:
    """Free the scoring contexts before the models they use (registered after local's hook,
    so it runs first)."""
    for scorer in _SCORERS.values():
        scorer.close()
    _SCORERS.clear()
