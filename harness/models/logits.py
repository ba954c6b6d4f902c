"""A local model's next-token distributions, computed as its batch decoder draws.

:func:`next_token_probs` applies the draws' sampler chain
(:class:`harness.models.llama_batch.Sampling`: top-k, then top-p on the
untempered distribution, then temperature, then a draw from the softmax of
what is left) to logits. :class:`LogitScorer` evaluates a prompt, then
extends token paths one token at a time in a llama.cpp context of its own on
the loaded model's weights (flash attention, one cell pool, the batch
decoder's parameters), so it never disturbs the decoder's state; it is not
thread-safe (each scorer has a lock). :class:`Vocabulary` holds the token
pieces and which tokens end a reply or print nothing.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from harness.models.llama_batch import Sampling, fill_batch

Floats = npt.NDArray[np.float64]
Path = tuple[int, ...]

#: Token paths are followed to at most this many tokens (a fixed-string reply is short).
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
        """A token's text; bytes that are not UTF-8 by themselves as ``<0xF0 0x9F>``."""
        piece = self.pieces[token]
        try:
            return piece.decode("utf-8")
        except UnicodeDecodeError:
            return "<" + " ".join(f"0x{b:02X}" for b in piece) + ">"


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
                    fill_batch(
                        self._batch,
                        [(t, start + i, 0, last and i == end) for i, t in enumerate(chunk)],
                    )
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
            fill_batch(
                s._batch, [(p[-1], self.n_prompt + len(p) - 1, seq, True) for p, seq in chunk]
            )
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
