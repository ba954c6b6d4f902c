"""Exact probabilities from a local model's logits (``harness.models.logits``, ``.logprobs``).

The pure parts run in the fast suite; the ones that load the embedded model
are marked ``subprocess``, and the agreement with 2,000 real draws ``slow``.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.define.pair import Message
from harness.models.llama_batch import Sampling
from harness.models.logits import next_token_probs
from harness.run.settings import GenerationSettings
from harness.stats.intervals import jeffreys

LOCAL = "local/smollm2-135m-instruct"
QUESTION = (
    'Guess: "1" or "0"? If your guess is "1", answer with "1". If your guess is "0", answer '
    'with the word "zero".'
)
#: A few-shot prompt on which SmolLM2 answers with fixed strings most of the time.
FEW_SHOT = (
    Message(role="user", content=QUESTION),
    Message(role="assistant", content="1"),
    Message(role="user", content=QUESTION),
    Message(role="assistant", content="zero"),
    Message(role="user", content=QUESTION),
    Message(role="assistant", content="zero"),
    Message(role="user", content=QUESTION),
    Message(role="assistant", content="1"),
    Message(role="user", content=QUESTION),
)
FIXED = ["1", "zero", "0", "one", "Zero", "One", "zero.", "1.", ""]


def test_temperature_scales_the_logits() -> None:
    logits = np.log(np.array([0.6, 0.3, 0.1]))
    p = next_token_probs(logits, Sampling(temperature=0.5))
    expected = np.array([0.36, 0.09, 0.01]) / 0.46
    assert np.allclose(p, expected)
    greedy = next_token_probs(logits, Sampling(temperature=0.0))
    assert greedy.tolist() == [1.0, 0.0, 0.0]


def test_top_k_then_top_p_on_the_untempered_distribution() -> None:
    logits = np.log(np.array([0.4, 0.3, 0.2, 0.1]))
    # top-k 3 keeps 0.4, 0.3, 0.2; top-p 0.75 then needs 0.4/0.9 + 0.3/0.9 = 0.78 >= 0.75
    p = next_token_probs(logits, Sampling(top_k=3, top_p=0.75, temperature=2.0))
    kept = np.sqrt(np.array([0.4, 0.3]))  # temperature 2 after the cut
    assert np.allclose(p[:2], kept / kept.sum())
    assert p[2:].tolist() == [0.0, 0.0]


@pytest.fixture(scope="module")
def local() -> object:
    from inspect_ai.model import get_model

    from harness.run.exact import LocalSource

    return LocalSource(get_model(LOCAL).api)


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "sampling", [Sampling(), Sampling(temperature=0.7, top_k=40), Sampling(top_p=0.9)]
)
def test_distribution_is_llama_cpps_sampler_chain(local: object, sampling: Sampling) -> None:
    """The probabilities equal what llama.cpp's own chain leaves (top-k, top-p, temperature)."""
    import ctypes

    import llama_cpp as lc

    from harness.models.logits import LogitScorer
    from harness.models.logprobs import local_model, local_prompt

    api = local.api  # type: ignore[attr-defined]
    llm = local_model(api)
    scorer = LogitScorer(llm, api.n_ctx, api.n_threads)
    prompt = local_prompt(api, [{"role": "user", "content": QUESTION}])
    assert prompt is not None
    with scorer.session(prompt) as session:
        logits = session.first
    scorer.close()
    ours = next_token_probs(logits, sampling)
    chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
    if sampling.top_k > 0:
        lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_k(sampling.top_k))
    if sampling.top_p < 1.0:
        lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_p(sampling.top_p, 1))
    lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_temp(sampling.temperature))
    n = logits.size
    cand = np.zeros(n, dtype=[("id", np.int32), ("logit", np.float32), ("p", np.float32)])
    cand["id"] = np.arange(n, dtype=np.int32)
    cand["logit"] = logits
    array = lc.llama_token_data_array(
        data=cand.ctypes.data_as(lc.llama_token_data_p), size=n, selected=-1, sorted=False
    )
    lc.llama_sampler_apply(chain, ctypes.byref(array))
    lc.llama_sampler_free(chain)
    left = np.ctypeslib.as_array(array.data, shape=(array.size,))
    ids = left["id"].astype(int)
    z = left["logit"].astype(float)
    theirs = np.zeros(n)
    theirs[ids] = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert np.abs(ours - theirs).max() < 1e-6
    assert set(np.flatnonzero(ours > 0)) == set(ids.tolist())


@pytest.mark.subprocess
def test_replies_sum_every_tokenization_and_bound_the_rest(local: object) -> None:
    """The reply "zero" has several tokenizations: all are summed, the other ones carry almost
    nothing, and the mass of paths not followed is bounded and small."""
    gen = GenerationSettings()
    scores = local.scores(FEW_SHOT, gen, FIXED)  # type: ignore[attr-defined]
    zero = scores.replies["zero"]
    assert zero.paths >= 2
    assert zero.p > 0.5  # the few-shot prompt makes "zero" the usual reply
    assert 0.0 <= zero.p - zero.canonical < 1e-3 * zero.p
    assert scores.fixed <= 1.0
    assert 0.0 <= scores.stray < 1e-3
    assert scores.end == pytest.approx(scores.replies[""].p, rel=1e-3, abs=1e-9)
    # the first token's distribution is the whole vocabulary's
    assert scores.first.sum() == pytest.approx(1.0)


@pytest.mark.subprocess
def test_scoring_rows_match_any_batch_under_64(local: object) -> None:
    from harness.models.logits import LogitScorer
    from harness.models.logprobs import local_model, local_prompt

    api = local.api  # type: ignore[attr-defined]
    scorer = LogitScorer(local_model(api), api.n_ctx, api.n_threads)
    prompt = local_prompt(api, [{"role": "user", "content": QUESTION}])
    assert prompt is not None
    rows = []
    for others in (0, 20, 62):
        with scorer.session(prompt) as session:
            got = session.step([(33,), *((1000 + i,) for i in range(others))])
            rows.append(got[(33,)])
    scorer.close()
    assert all(np.array_equal(rows[0], r) for r in rows[1:])


@pytest.mark.slow
def test_exact_probabilities_agree_with_2000_draws(local: object) -> None:
    """On the embedded model at temperature 1.0, each fixed-string reply's exact probability
    lies within the 99% interval of its share in 2,000 real draws (the harness's own sampler,
    batched decoder and seeds)."""
    from harness.run.sampling import Sampler

    gen = GenerationSettings(temperature=1.0, max_tokens=16)
    scores = local.scores(FEW_SHOT, gen, FIXED)  # type: ignore[attr-defined]
    draws = Sampler(gen, run_seed=7).draws(LOCAL, FEW_SHOT, 2000)
    texts = [d.text for d in draws if d.error is None]
    assert len(texts) == 2000
    lines = []
    for text in FIXED:
        exact = scores.replies[text].p
        k = texts.count(text)
        low, high = jeffreys(k, len(texts), confidence=0.99)
        lines.append(f"{text!r}: exact {exact:.4f}, sampled {k}/2000 = {k / 2000:.4f}")
        assert low <= exact <= high, lines[-1]
    other = sum(t not in FIXED for t in texts)
    lines.append(f"other replies: exact {1 - scores.fixed:.4f}, sampled {other / 2000:.4f}")
    print("\n".join(lines))
