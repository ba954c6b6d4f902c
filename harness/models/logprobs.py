"""Exact next-token and whole-reply probabilities of a local GGUF model.

Used by exact mode (:mod:`harness.run.exact`). Everything here is computed
from llama.cpp logits after the model's chat template, with the sampler
settings of the draws applied exactly as the batch decoder applies them
(:class:`harness.models.llama_batch.Sampling`: top-k, then top-p on the
untempered distribution, then temperature, then a draw from the softmax of
what is left; :func:`next_token_probs`). So the probabilities are those of
the draws the harness makes, not of some other decoding.

* **First token**: one forward pass over the prompt gives the full vocabulary
  distribution of the reply's first token.
* **Fixed-string replies** (:func:`score_replies`): the probability that the
  whole reply is exactly ``"1"`` (or ``"zero"``, ``""``, ...), end-of-turn
  included: the sum, over every tokenization of the string into vocabulary
  pieces, of the product of each token's probability and the probability of
  ending (an end-of-generation token, a stop sequence, or ``max_tokens``
  reached) right after it. Every tokenization is enumerated, not just the
  tokenizer's own, and the share of the non-canonical ones is reported
  (:attr:`ReplyMass.canonical`). The logits of every prefix of every
  tokenization are computed in one batched decode (each tokenization a
  sequence sharing the prompt's cells).
* What is not summed is bounded (:attr:`ReplyScores.stray`): paths that
  reach the same text through tokens that print nothing (control tokens, or
  bytes that are not valid UTF-8 on their own). It is reported so that its
  size can be seen; on SmolLM2 it is below 1e-6.

The scorer runs its own llama.cpp context on the loaded model's weights
(flash attention, one cell pool, the batch decoder's parameters), so it never
disturbs the decoder's state. It is not thread-safe: each scorer has a lock.
"""

from __future__ import annotations

import atexit
import ctypes
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.models.llama_batch import Sampling

Floats = npt.NDArray[np.float64]
Path = tuple[int, ...]

#: Tokenizations longer than this many tokens are not enumerated (a fixed-string reply is short).
MAX_PATH_TOKENS = 12
#: Sequences of the scorer's context (llama.cpp's maximum): each token path alive is one.
MAX_SEQS = 256
#: Rows (new tokens) per decode call. The batch decoder decodes at most 63 draws per call
#: (64 sequences, one holding the prompt), and llama.cpp computes a row's logits the same
#: way in any call of fewer than 64 rows; from 64 rows on it switches to another matrix
#: kernel whose logits differ visibly in the tail (P(end | "1") 0.0041 against 0.0031 on
#: SmolLM2). Scoring in calls of at most 63 rows gives the draws' own numbers.
MAX_ROWS = 63


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """A model's token pieces (bytes) and which tokens end a reply or print nothing."""

    pieces: tuple[bytes, ...]
    eog: npt.NDArray[np.int_]
    silent: npt.NDArray[np.int_]  # not end-of-generation, and print nothing on their own
    by_piece: dict[bytes, tuple[int, ...]]
    longest: int

    @property
    def size(self) -> int:
        return len(self.pieces)

    def text(self, path: Sequence[int]) -> str:
        """The reply text of ``path``, decoded as the batch decoder decodes it."""
        return b"".join(self.pieces[t] for t in path).decode("utf-8", errors="ignore")

    def piece_text(self, token: int) -> str:
        return self.pieces[token].decode("utf-8", errors="replace")


_VOCABULARIES: dict[int, Vocabulary] = {}


def vocabulary(llm: Any) -> Vocabulary:
    """The vocabulary of a loaded ``llama_cpp.Llama`` (computed once per model)."""
    key = id(llm)
    if key not in _VOCABULARIES:
        _VOCABULARIES[key] = _read_vocabulary(llm._model.model)
    return _VOCABULARIES[key]


def _read_vocabulary(model: Any) -> Vocabulary:
    import llama_cpp as lc

    vocab = lc.llama_model_get_vocab(model)
    n = int(lc.llama_vocab_n_tokens(vocab))
    buffer = (ctypes.c_char * 256)()
    pieces: list[bytes] = []
    for token in range(n):
        size = lc.llama_token_to_piece(vocab, token, buffer, 256, 0, False)
        pieces.append(ctypes.string_at(buffer, max(0, size)))
    eog = np.array([t for t in range(n) if lc.llama_vocab_is_eog(vocab, t)], dtype=np.int_)
    eog_set = set(eog.tolist())
    silent = []
    by_piece: dict[bytes, list[int]] = {}
    for token, piece in enumerate(pieces):
        if token in eog_set:
            continue
        if not piece or not _decodes(piece):
            silent.append(token)
        if piece:
            by_piece.setdefault(piece, []).append(token)
    return Vocabulary(
        pieces=tuple(pieces),
        eog=eog,
        silent=np.array(silent, dtype=np.int_),
        by_piece={k: tuple(v) for k, v in by_piece.items()},
        longest=max(len(p) for p in pieces),
    )


def _decodes(piece: bytes) -> bool:
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def next_token_probs(logits: npt.NDArray[Any], sampling: Sampling) -> Floats:
    """The next token's distribution under ``sampling``, over the whole vocabulary.

    The batch decoder's chain: top-k (``top_k > 0``) keeps the k largest
    logits; top-p (``top_p < 1``) then keeps the smallest set of the most
    likely tokens whose probability, at temperature 1, reaches ``top_p``;
    temperature divides the remaining logits; the draw is from their softmax.
    Temperature 0 is greedy (all mass on the largest logit). Which tokens
    top-p keeps is decided in llama.cpp's own float32 arithmetic (its softmax
    sums in token order and loses the far tail, which can move the cut by a
    token); the probabilities themselves are computed in float64.

    >>> import numpy as np
    >>> p = next_token_probs(np.log(np.array([0.5, 0.3, 0.2])), Sampling(temperature=1.0))
    >>> [round(float(x), 3) for x in p]
    [0.5, 0.3, 0.2]
    >>> p = next_token_probs(np.log(np.array([0.5, 0.3, 0.2])), Sampling(top_p=0.7))
    >>> [round(float(x), 3) for x in p]
    [0.625, 0.375, 0.0]
    """
    x = np.asarray(logits, dtype=np.float64)
    if sampling.temperature <= 0.0:
        out = np.zeros(x.shape)
        out[int(np.argmax(x))] = 1.0
        return out
    kept = np.arange(x.size)  # llama.cpp's candidate order: token ids, sorted after top-k
    if 0 < sampling.top_k < x.size:
        kept = np.argsort(-x, kind="stable")[: sampling.top_k]
    if sampling.top_p < 1.0:
        kept = _top_p(np.asarray(logits, dtype=np.float32)[kept], kept, sampling.top_p)
    z = np.full(x.shape, -np.inf)
    z[kept] = x[kept] / sampling.temperature
    out = np.exp(z - z.max())
    return np.asarray(out / out.sum(), dtype=np.float64)


def _top_p(logits: npt.NDArray[np.float32], ids: npt.NDArray[Any], p: float) -> npt.NDArray[Any]:
    """The ids top-p keeps, with llama.cpp's float32 softmax and running sum."""
    e = np.exp(logits - logits.max(), dtype=np.float32)
    total = np.cumsum(e, dtype=np.float32)[-1]  # sequential, as in llama.cpp
    probs = (e / total).astype(np.float32)
    order = np.argsort(-probs, kind="stable")
    running = np.cumsum(probs[order], dtype=np.float32)
    reached = np.flatnonzero(running >= np.float32(p))
    last = int(reached[0]) + 1 if reached.size else order.size
    return ids[order[:last]]


def tokenizations(text: str, vocab: Vocabulary, limit: int = MAX_PATH_TOKENS) -> list[Path]:
    """Every sequence of vocabulary pieces that spells ``text`` exactly (at most ``limit`` long).

    The empty text has one tokenization, the empty path.

    Used on short fixed strings; byte-level vocabularies have every single
    byte as a piece, so every prefix of a tokenization is reachable.
    """
    data = text.encode("utf-8")
    memo: dict[int, list[Path]] = {len(data): [()]}

    def rest(start: int) -> list[Path]:
        if start in memo:
            return memo[start]
        found: list[Path] = []
        for end in range(start + 1, min(len(data), start + vocab.longest) + 1):
            ids = vocab.by_piece.get(data[start:end])
            if not ids:
                continue
            tails = [t for t in rest(end) if len(t) < limit]
            found += [(token, *tail) for token in ids for tail in tails]
        memo[start] = found
        return found

    return [p for p in rest(0) if len(p) <= limit]


class LogitScorer:
    """Logits after a prompt and after continuations of it, in a context of its own.

    ``with scorer.session(prompt) as s``: the prompt is evaluated from an empty
    context (as the batch decoder does, so ``s.first`` are the logits its
    draws' first tokens are sampled from); ``s.step(paths)`` then extends
    paths by one token each, every path a sequence that shares its parent's
    cells (one cell pool): one new token per sequence per decode call, at
    most :data:`MAX_ROWS` per call, which is exactly how the batch decoder
    computes a draw's logits (decoding several tokens of one sequence in one
    call, as a prompt is, or 64 rows or more, gives other numbers).
    """

    def __init__(self, llm: Any, n_ctx: int, n_threads: int, max_seqs: int = MAX_SEQS) -> None:
        import llama_cpp as lc

        self._lc = lc
        params = lc.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = params.n_ubatch = min(512, n_ctx)
        params.n_seq_max = max_seqs
        params.n_threads = params.n_threads_batch = n_threads
        params.kv_unified = True
        params.flash_attn_type = lc.LLAMA_FLASH_ATTN_TYPE_ENABLED
        params.no_perf = True
        ctx = lc.llama_init_from_model(llm._model.model, params)
        if not ctx:
            raise RuntimeError("llama.cpp could not create a scoring context")
        self._ctx = ctx
        self._mem = lc.llama_get_memory(ctx)
        self._n_vocab = int(lc.llama_vocab_n_tokens(lc.llama_model_get_vocab(llm._model.model)))
        self._n_batch = int(params.n_batch)
        self._batch = lc.llama_batch_init(self._n_batch, 0, 1)
        self.n_ctx = n_ctx
        self.max_seqs = max_seqs
        self.lock = threading.Lock()
        self.decodes = 0  # llama_decode calls made (forward passes)

    def close(self) -> None:
        """Free the context (idempotent)."""
        if self._ctx is not None:
            self._lc.llama_batch_free(self._batch)
            self._lc.llama_free(self._ctx)
            self._ctx = None

    @contextmanager
    def session(self, prompt: list[int]) -> Iterator[Session]:
        """Evaluate ``prompt``; continuations of it can then be scored until the block ends."""
        lc = self._lc
        if not prompt or len(prompt) + MAX_PATH_TOKENS >= self.n_ctx:
            raise ValueError(f"prompt of {len(prompt)} tokens does not fit {self.n_ctx} cells")
        with self.lock:
            lc.llama_memory_clear(self._mem, True)
            try:
                for start in range(0, len(prompt), self._n_batch):
                    chunk = prompt[start : start + self._n_batch]
                    last = start + len(chunk) == len(prompt)
                    end = len(chunk) - 1
                    self._fill([(t, start + i, 0, last and i == end) for i, t in enumerate(chunk)])
                    self._decode()
                yield Session(self, len(prompt), self._row(-1))
            finally:
                lc.llama_memory_clear(self._mem, True)

    def _decode(self) -> None:
        self.decodes += 1
        if self._lc.llama_decode(self._ctx, self._batch) != 0:
            raise RuntimeError("llama_decode failed while scoring (context full?)")

    def _row(self, i: int) -> npt.NDArray[np.float32]:
        pointer = self._lc.llama_get_logits_ith(self._ctx, i)
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).copy()

    def _fill(self, entries: list[tuple[int, int, int, bool]]) -> None:
        b = self._batch
        b.n_tokens = len(entries)
        for i, (token, pos, seq, out) in enumerate(entries):
            b.token[i] = token
            b.pos[i] = pos
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seq
            b.logits[i] = out


class Session:
    """One evaluated prompt of a :class:`LogitScorer` (see :meth:`LogitScorer.session`).

    Paths are token tuples after the prompt; the empty path is the prompt.
    A path can be extended once its parent (``path[:-1]``) has been stepped
    and not yet released.
    """

    def __init__(self, scorer: LogitScorer, n_prompt: int, first: npt.NDArray[np.float32]) -> None:
        self.scorer = scorer
        self.n_prompt = n_prompt
        self.first = first
        self._seq: dict[Path, int] = {(): 0}
        self._free = list(range(scorer.max_seqs - 1, 0, -1))

    def step(self, paths: Sequence[Path]) -> dict[Path, npt.NDArray[np.float32]]:
        """The logits after each path, decoding its last token on top of its parent's cells;
        parents are released once all their children here are decoded."""
        s = self.scorer
        lc = s._lc
        out: dict[Path, npt.NDArray[np.float32]] = {}
        todo = sorted(dict.fromkeys(paths), key=lambda p: p[:-1])
        pending = {p[:-1] for p in todo}
        while todo:
            chunk: list[tuple[Path, int]] = []
            while todo and self._free and len(chunk) < min(MAX_ROWS, s._n_batch):
                path = todo.pop(0)
                seq = self._free.pop()
                lc.llama_memory_seq_cp(s._mem, self._seq[path[:-1]], seq, -1, -1)
                self._seq[path] = seq
                chunk.append((path, seq))
            if not chunk:
                raise RuntimeError("the scorer ran out of sequences")
            s._fill([(p[-1], self.n_prompt + len(p) - 1, seq, True) for p, seq in chunk])
            s._decode()
            for row, (path, _) in enumerate(chunk):
                out[path] = s._row(row)
            waiting = {p[:-1] for p in todo}
            done = [p for p in pending if p not in waiting and p]
            self.release(done)
            pending -= set(done)
        return out

    def release(self, paths: Sequence[Path]) -> None:
        """Free the sequences of ``paths`` (their cells stay while a child uses them)."""
        for path in paths:
            seq = self._seq.pop(path, None)
            if seq:
                self.scorer._lc.llama_memory_seq_rm(self.scorer._mem, seq, -1, -1)
                self._free.append(seq)


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
