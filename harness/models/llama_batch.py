"""Many draws decoded together as parallel sequences of one llama.cpp context.

Each prompt is evaluated once from an empty context; its KV cells and last
logits are saved. A decode call clears the context, restores each prompt into a
sequence of its own, shares the prompt's cells with every draw's sequence
(``llama_memory_seq_cp``), samples each draw's first token from the saved logits,
and then decodes one token per live draw per step in a single ``llama_decode``
batch, each draw sampled by its own seeded sampler chain. A batch of 16 draws
costs about as much as two or three single-sequence steps, which is where the
speed comes from.

Reproducibility: flash attention is on, and llama.cpp's CPU flash-attention
kernel walks each query's own KV cells in position order, skipping masked ones,
so a sequence's logits do not depend on which other sequences share the batch or
where their cells lie (measured bit-for-bit: a draw alone, in a batch of 8 or 16,
first or last). Without it, the attention sums depend on the cache layout and a
draw would change with its batch-mates. So a draw is a pure function of (prompt,
settings, seed) whether it is decoded fresh, resumed alone or repeated.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

PROMPTS_KEPT = 8  # saved prompt states (about 23 KB per token for SmolLM2-135M)


@dataclass(frozen=True)
class Sampling:
    """Sampler settings shared by every draw of one request."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    max_tokens: int = 256
    stop: tuple[str, ...] = ()


def sampling_of(
    temperature: float | None,
    top_p: float | None,
    top_k: int | None,
    max_tokens: int | None,
    stop: list[str] | tuple[str, ...] | None,
) -> Sampling:
    """The sampler settings of a request (llama-cpp-python's defaults where unset)."""
    return Sampling(
        temperature=1.0 if temperature is None else temperature,
        top_p=1.0 if top_p is None else top_p,
        top_k=0 if top_k is None else top_k,
        max_tokens=max_tokens or 256,
        stop=tuple(stop or ()),
    )


def fill_batch(batch: Any, entries: list[tuple[int, int, int, bool]]) -> None:
    """Load (token, position, sequence, wants logits) entries into a ``llama_batch``."""
    batch.n_tokens = len(entries)
    for i, (token, pos, seq, out) in enumerate(entries):
        batch.token[i] = token
        batch.pos[i] = pos
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = seq
        batch.logits[i] = out


@dataclass
class Completion:
    """One decoded draw."""

    text: str
    output_tokens: int
    finish: Literal["stop", "length"]


@dataclass
class Job:
    """Draws of one prompt: one sampler chain per seed."""

    tokens: list[int]
    sampling: Sampling
    seeds: list[int]
    results: list[Completion] = field(default_factory=list)


@dataclass
class _Saved:
    state: Any  # ctypes uint8 array
    size: int
    logits: np.ndarray[Any, np.dtype[np.float32]]


@dataclass
class _Draw:
    seq: int
    pos: int
    chain: Any
    tokens: list[int] = field(default_factory=list)
    done: Completion | None = None


class BatchDecoder:
    """A llama.cpp context that decodes many sequences at once.

    ``n_cells`` bounds the KV cells of one decode call (every prompt plus every
    draw's tokens); ``max_seqs`` the sequences. Not thread-safe: call from one
    thread.
    """

    def __init__(
        self,
        model: Any,
        detokenize: Callable[[list[int]], bytes],
        n_cells: int,
        n_threads: int,
        max_seqs: int = 64,
    ) -> None:
        import llama_cpp as lc

        self._lc = lc
        params = lc.llama_context_default_params()
        params.n_ctx = n_cells
        params.n_batch = params.n_ubatch = min(512, n_cells)
        params.n_seq_max = max_seqs
        params.n_threads = params.n_threads_batch = n_threads
        params.kv_unified = True  # one cell pool: a shared prompt is stored once
        params.flash_attn_type = lc.LLAMA_FLASH_ATTN_TYPE_ENABLED  # see module docstring
        params.no_perf = True
        ctx = lc.llama_init_from_model(model, params)
        if not ctx:
            raise RuntimeError("llama.cpp could not create a batch context")
        self._ctx = ctx
        self._mem = lc.llama_get_memory(ctx)
        self._vocab = lc.llama_model_get_vocab(model)
        self._n_vocab = int(lc.llama_vocab_n_tokens(self._vocab))
        self._batch = lc.llama_batch_init(params.n_batch, 0, 1)
        self._n_batch = int(params.n_batch)
        self._detokenize = detokenize
        self.n_cells = n_cells
        self.max_seqs = max_seqs
        self._saved: OrderedDict[tuple[int, ...], _Saved] = OrderedDict()
        self._candidates = np.zeros(
            self._n_vocab, dtype=[("id", np.int32), ("logit", np.float32), ("p", np.float32)]
        )

    def close(self) -> None:
        """Free the context and batch (idempotent)."""
        if self._ctx is not None:
            self._lc.llama_batch_free(self._batch)
            self._lc.llama_free(self._ctx)
            self._ctx = None

    def cells_needed(self, job: Job, draws: int) -> int:
        """KV cells ``draws`` draws of ``job`` occupy (prompt plus new tokens)."""
        return len(job.tokens) + draws * job.sampling.max_tokens

    def decode(self, jobs: list[Job]) -> None:
        """Decode every draw of ``jobs`` together; fills each job's ``results``.

        The caller keeps the total within ``n_cells`` and ``max_seqs`` (see
        ``cells_needed``).
        """
        lc = self._lc
        saved = [self._prompt(job.tokens) for job in jobs]
        lc.llama_memory_clear(self._mem, True)
        draws: list[tuple[Job, _Draw]] = []
        try:
            seq = 0
            for job, state in zip(jobs, saved, strict=True):
                prompt_seq = seq
                restored = lc.llama_state_seq_set_data(self._ctx, state.state, state.size, seq)
                if restored == 0:
                    raise RuntimeError("llama.cpp could not restore a prompt state")
                for seed in job.seeds:
                    seq += 1
                    lc.llama_memory_seq_cp(self._mem, prompt_seq, seq, -1, -1)
                    draw = _Draw(seq, len(job.tokens), self._chain(job.sampling, seed))
                    draws.append((job, draw))
                    self._accept(job, draw, self._sample_logits(draw.chain, state.logits))
                seq += 1
            while live := [(job, d) for job, d in draws if d.done is None]:
                fill_batch(self._batch, [(d.tokens[-1], d.pos - 1, d.seq, True) for _, d in live])
                if lc.llama_decode(self._ctx, self._batch) != 0:
                    raise RuntimeError("llama_decode failed (KV cache full?)")
                for i, (job, d) in enumerate(live):
                    self._accept(job, d, int(lc.llama_sampler_sample(d.chain, self._ctx, i)))
        finally:
            for _, d in draws:
                lc.llama_sampler_free(d.chain)
            lc.llama_memory_clear(self._mem, True)
        for job in jobs:
            job.results = [d.done for j, d in draws if j is job and d.done is not None]

    def _accept(self, job: Job, draw: _Draw, token: int) -> None:
        """Append ``token`` to ``draw`` (next decode position) or finish the draw."""
        if self._lc.llama_vocab_is_eog(self._vocab, token):
            draw.done = self._finish(job, draw, "stop")
            return
        draw.tokens.append(token)
        draw.pos += 1
        text = self._detokenize(draw.tokens).decode("utf-8", errors="ignore")
        if any(s and s in text for s in job.sampling.stop):
            draw.done = self._finish(job, draw, "stop")
        elif len(draw.tokens) >= job.sampling.max_tokens or draw.pos >= self.n_cells:
            draw.done = self._finish(job, draw, "length")

    def _finish(self, job: Job, draw: _Draw, finish: Literal["stop", "length"]) -> Completion:
        text = self._detokenize(draw.tokens).decode("utf-8", errors="ignore")
        cuts = [text.find(s) for s in job.sampling.stop if s and s in text]
        if cuts:
            text = text[: min(cuts)]
        return Completion(text=text, output_tokens=len(draw.tokens), finish=finish)

    def _prompt(self, tokens: list[int]) -> _Saved:
        """The saved state of ``tokens`` evaluated from an empty context."""
        key = tuple(tokens)
        found = self._saved.get(key)
        if found is None:
            found = self._evaluate(tokens)
            self._saved[key] = found
            while len(self._saved) > PROMPTS_KEPT:
                self._saved.popitem(last=False)
        self._saved.move_to_end(key)
        return found

    def _evaluate(self, tokens: list[int]) -> _Saved:
        lc = self._lc
        if not tokens or len(tokens) >= self.n_cells:
            raise ValueError(f"prompt of {len(tokens)} tokens does not fit {self.n_cells} cells")
        lc.llama_memory_clear(self._mem, True)
        for start in range(0, len(tokens), self._n_batch):
            chunk = tokens[start : start + self._n_batch]
            last = start + len(chunk) == len(tokens)
            fill_batch(
                self._batch,
                [(t, start + i, 0, last and i == len(chunk) - 1) for i, t in enumerate(chunk)],
            )
            if lc.llama_decode(self._ctx, self._batch) != 0:
                raise RuntimeError("llama_decode failed on the prompt")
        pointer = lc.llama_get_logits_ith(self._ctx, -1)
        logits = np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).copy()
        size = int(lc.llama_state_seq_get_size(self._ctx, 0))
        state = (ctypes.c_uint8 * size)()
        lc.llama_state_seq_get_data(self._ctx, state, size, 0)
        lc.llama_memory_clear(self._mem, True)
        return _Saved(state=state, size=size, logits=logits)

    def _chain(self, sampling: Sampling, seed: int) -> Any:
        """A sampler chain like llama-cpp-python's (top-k, top-p, temperature, seeded draw)."""
        lc = self._lc
        chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        if sampling.temperature <= 0.0:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_greedy())
            return chain
        if sampling.top_k > 0:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_k(sampling.top_k))
        if sampling.top_p < 1.0:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_p(sampling.top_p, 1))
        lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_temp(sampling.temperature))
        lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_dist(seed & 0xFFFFFFFF))
        return chain

    def _sample_logits(self, chain: Any, logits: np.ndarray[Any, np.dtype[np.float32]]) -> int:
        """Sample (and accept) one token from saved logits with ``chain``."""
        lc = self._lc
        cand = self._candidates
        cand["id"] = np.arange(self._n_vocab, dtype=np.int32)
        cand["logit"] = logits
        cand["p"] = 0.0
        array = lc.llama_token_data_array(
            data=cand.ctypes.data_as(lc.llama_token_data_p),
            size=self._n_vocab,
            selected=-1,
            sorted=False,
        )
        lc.llama_sampler_apply(chain, ctypes.byref(array))
        token = int(array.data[array.selected].id)
        lc.llama_sampler_accept(chain, token)
        return token
