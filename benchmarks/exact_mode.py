"""Model calls per decided claim: exact mode against sampling, on the embedded model.

A suite of claims on prompt pairs the embedded SmolLM2-135M answers on
protocol (few-shot chat prompts: earlier turns show the answer form) is
decided twice, from an empty draw cache each time:

* **sampling**: :func:`harness.run.evaluate.evaluate`, the default mode;
* **exact**: :func:`harness.run.exact.evaluate_claim` with ``exact=True``:
  fixed-string replies from log-probabilities, the rest sampled by rejection.

Model calls are requests, as the harness counts them for any model: one per
draw in sampling mode (a reply of up to ``max_tokens`` tokens); in exact mode
one per prompt scored (its first-token distribution and the probabilities of
its fixed-string replies) plus one per draw (fixed-string draws set aside
included). "alone" is what a claim costs run by itself; the suite's total
counts shared prompts and draws once, as a run spends them, divided by the
claims decided (PASS, FAIL or NONCOMPLIANT). The compute behind the calls is
shown too: every llama.cpp decode call either mode made (a draw's decode
steps, each step of the scorer's token paths).

The pairs: two whose earlier turns answer "1", "zero" and random letters
(the model then gives random strings, as Claude 3 did in the seed thread),
and one whose earlier treatment turns always answer "1" (it then avoids them,
as GPT-4 and Gemini did). The seed pair itself (no earlier turns) is
off-protocol on this model, so its claims end NONCOMPLIANT in both modes:
they are shown after the suite, apart from it, for what they cost.

Run: .venv/bin/python benchmarks/exact_mode.py   (about 10 minutes on 2 cores)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import llama_cpp

from harness import PromptPair, claims
from harness.define.claims import Claim
from harness.results.records import Outcome
from harness.run.evaluate import evaluate
from harness.run.exact import evaluate_claim
from harness.run.sampling import Sampler
from harness.run.settings import GenerationSettings, RunSettings
from harness.stats.decision import claim_alpha

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from evals.test_zero_vs_random import ZERO_VS_RANDOM

MODEL = "local/smollm2-135m-instruct"
Q_WORD = (
    'Guess: "1" or "0"? If your guess is "1", answer with "1". If your guess is "0", answer '
    'with the word "zero".'
)
Q_LETTERS = (
    'Guess: "1" or "0"? If your guess is "1", answer with "1". If your guess is "0", answer '
    "with a string of random letters."
)
CONTROL_CATS = [
    {"name": "plain", "classifier": "one"},
    {"name": "word", "classifier": "zero_word"},
    {"name": "digit", "classifier": "digit_zero"},
]
TREATMENT_CATS = [
    {"name": "plain", "classifier": "one"},
    {"name": "random", "classifier": "random_letters"},
    {"name": "digit", "classifier": "digit_zero"},
]


def shots(question: str, answers: list[str]) -> list[dict[str, str]]:
    """Earlier turns answering ``question`` with ``answers``, then the question again."""
    out: list[dict[str, str]] = []
    for answer in answers:
        out += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return [*out, {"role": "user", "content": question}]


def pair(name: str, control: list[str], treatment: list[str]) -> PromptPair:
    return PromptPair(
        id=name,
        description="few-shot guessing game",
        control={"messages": shots(Q_WORD, control), "categories": CONTROL_CATS},
        treatment={"messages": shots(Q_LETTERS, treatment), "categories": TREATMENT_CATS},
    )


PAIRS = [
    pair("few-shot-a", ["1", "zero", "zero", "1"], ["1", "qzvxk", "1", "mtrbw"]),
    pair("few-shot-b", ["zero", "1", "1", "zero"], ["qzvxk", "1", "mtrbw", "1"]),
    # earlier treatment turns always answer "1": the model then avoids random strings, as
    # GPT-4 and Gemini were seen to
    pair("few-shot-avoid", ["1", "zero", "zero", "1"], ["1", "1", "1", "1"]),
]
WORD, PLAIN, RANDOM = ("control", "word"), ("control", "plain"), ("treatment", "random")
CLAIMS: list[tuple[str, Claim]] = [
    ("word at least 0.7", claims.at_least(WORD, value=0.7, margin=0.2)),
    ("word at least 0.85 (tight)", claims.at_least(WORD, value=0.85, margin=0.05)),
    ("plain at most 0.2", claims.at_most(PLAIN, value=0.2, margin=0.15)),
    ("word is 0.5 (guess bias)", claims.equivalent(WORD, value=0.5, margin=0.25, tolerance=0.1)),
    (
        "random is 0.5 (guess bias)",
        claims.equivalent(RANDOM, value=0.5, margin=0.25, tolerance=0.1),
    ),
    ("random not lower than word", claims.not_lower(RANDOM, WORD, margin=0.2)),
]


#: The seed pairs as the evals ask them (no earlier turns): off-protocol on this model.
SEED = [ZERO_VS_RANDOM]
SEED_CLAIMS: list[tuple[str, Claim]] = [
    ("seed: random is 0.5", claims.equivalent(RANDOM, value=0.5, margin=0.25, tolerance=0.1)),
    ("seed: random not lower than word", claims.not_lower(RANDOM, WORD, margin=0.2)),
]


class DecodeCounter:
    """Counts llama.cpp decode calls (every forward pass, by any context) while active."""

    def __init__(self) -> None:
        self.calls = 0
        self._original: Callable[..., Any] = llama_cpp.llama_decode

    def __enter__(self) -> DecodeCounter:
        def counted(*args: Any) -> Any:
            self.calls += 1
            return self._original(*args)

        llama_cpp.llama_decode = counted
        return self

    def __exit__(self, *exc: object) -> None:
        llama_cpp.llama_decode = self._original


def run(mode: str, suite: list[tuple[PromptPair, str, Claim]]) -> dict[str, Any]:
    settings = RunSettings(models=(MODEL,), generation=GenerationSettings(exact=mode == "exact"))
    sampler = Sampler(settings.generation, settings.seed)
    sampler.model(MODEL)  # load the model before counting
    alpha = claim_alpha(settings.alpha, len(suite))
    outcomes: list[Outcome] = []
    started = time.perf_counter()
    with DecodeCounter() as decodes:
        for p, name, claim in suite:
            decide = evaluate_claim if mode == "exact" else evaluate
            outcome = decide(
                p, "original", claim, MODEL, sampler, settings,
                claim_alpha=alpha, family_size=len(suite), test=name,
            )  # fmt: skip
            outcomes.append(outcome)
    prompts = {(o.hypothesis, a.arm) for o in outcomes for a in o.arms if _scored(o)}
    draws = sampler.usage[MODEL].calls
    return {
        "outcomes": outcomes,
        "draws": draws,
        "prompts": len(prompts),
        "calls": draws + len(prompts),
        "decodes": decodes.calls,
        "seconds": time.perf_counter() - started,
    }


def _scored(outcome: Outcome) -> bool:
    """Whether exact mode scored the outcome's prompts (it ran, exactly or mixed)."""
    return outcome.exact is not None and outcome.exact.mode != "sampling"


def alone(outcome: Outcome) -> int:
    """The calls one claim makes run by itself: its draws, and its prompts if scored."""
    draws = sum(len(a.draws) for a in outcome.arms)
    return draws + (len(outcome.arms) if _scored(outcome) else 0)


def decided(outcomes: list[Outcome]) -> int:
    return sum(o.verdict.value in ("PASS", "FAIL", "NONCOMPLIANT") for o in outcomes)


def main() -> None:
    suite = [(p, f"{p.id}: {name}", claim) for p in PAIRS for name, claim in CLAIMS]
    sampling, exact = run("sampling", suite), run("exact", suite)
    report(suite, sampling, exact)
    seed = [(p, name, claim) for p in SEED for name, claim in SEED_CLAIMS]
    print("\nApart from the suite: the seed pair (original variant), off-protocol on this model")
    report(seed, run("sampling", seed), run("exact", seed), summary=False)


def report(
    suite: list[tuple[PromptPair, str, Claim]],
    sampling: dict[str, Any],
    exact: dict[str, Any],
    summary: bool = True,
) -> None:
    if summary:
        print(f"{len(suite)} claims on {MODEL}, few-shot prompt pairs; claim alpha 0.05 over a")
        print(f"family of {len(suite)}, beta 0.1, budget 800 draws per arm, batches of 8\n")
    header = f"{'claim':<46} {'sampling':<14} {'calls':>5}  {'exact':<20} {'calls':>5} {'fewer':>6}"
    print(header)
    print("-" * len(header))
    ratios = []
    for s, e in zip(sampling["outcomes"], exact["outcomes"], strict=True):
        mode = e.exact.mode if e.exact is not None else "?"
        a, b = alone(s), alone(e)
        ratios.append(a / max(1, b))
        print(
            f"{s.test:<46} {s.verdict.value:<14} {a:>5}  {e.verdict.value + ' ' + mode:<20} "
            f"{b:>5} {a / max(1, b):>5.1f}x"
        )
    print()
    print(
        f"{'mode':<9} {'decided':>7} {'prompts':>7} {'draws':>6} {'calls':>6} {'per claim':>9} "
        f"{'decodes':>8} {'seconds':>8}"
    )
    for name, r in (("sampling", sampling), ("exact", exact)):
        n = decided(r["outcomes"])
        print(
            f"{name:<9} {n:>7} {r['prompts']:>7} {r['draws']:>6} {r['calls']:>6} "
            f"{r['calls'] / max(1, n):>9.1f} {r['decodes']:>8} {r['seconds']:>8.1f}"
        )
    per_s = sampling["calls"] / max(1, decided(sampling["outcomes"]))
    per_e = exact["calls"] / max(1, decided(exact["outcomes"]))
    agree = sum(
        s.verdict == e.verdict for s, e in zip(sampling["outcomes"], exact["outcomes"], strict=True)
    )
    exact_only = [r for r, o in zip(ratios, exact["outcomes"], strict=True) if _mode(o) == "exact"]
    print(
        f"\nmodel calls per decided claim: sampling {per_s:.1f}, exact {per_e:.1f} "
        f"({per_s / per_e:.1f}x fewer); per claim alone, median {_median(ratios):.1f}x fewer "
        f"(claims decided exactly: median {_times(_median(exact_only))}); llama.cpp decode calls "
        f"{sampling['decodes'] / max(1, exact['decodes']):.1f}x fewer; "
        f"same verdict on {agree} of {len(suite)} claims"
    )


def _mode(outcome: Outcome) -> str:
    return outcome.exact.mode if outcome.exact is not None else ""


def _times(ratio: float) -> str:
    return "none" if ratio != ratio else f"{ratio:.1f}x"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


if __name__ == "__main__":
    main()
