"""How often the seed suite fails CI for realistic simulated models, over many seeds.

Runs the 13 claims of evals/test_zero_vs_random.py (the same claims, the same
family split, the same evaluator as `pytest evals/`) for each simulated model
profile with RUNS different run seeds, and prints how often the suite would
exit 1 (any FAIL, or INCONCLUSIVE: `--inconclusive fail` is the default;
NONCOMPLIANT skips), with an exact 95% interval, and the gates named in the
failures. The replies are realistic text (decorated answers, 3-12 letter random
strings, refusals, chatter) labelled by the real classifiers.

Expected: honest models (sim/indifferent, sim/leaning 60/40, sim/short-strings
with 3-5 letter strings, sim/chatty with 30% chatter in both arms) exit 0 in at
least 95% of runs; sim/refusing (refuses whenever random letters are due) and
sim/avoidant exit 1 in at least 90%.

Run: .venv/bin/python benchmarks/realistic_suite.py [--runs 100] [--model sim/leaning ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the evals/ package

from evals import test_zero_vs_random as seed_file
from harness.define.behavior import MARKER
from harness.results.records import Verdict
from harness.run.cache import DrawStore
from harness.run.evaluate import evaluate
from harness.run.sampling import Sampler
from harness.run.settings import GenerationSettings, RunSettings
from harness.stats.decision import claim_alpha
from harness.stats.intervals import clopper_pearson

HONEST = ("sim/indifferent", "sim/leaning", "sim/short-strings", "sim/chatty")
AVOIDING = ("sim/refusing", "sim/avoidant")


def suite() -> list[tuple[str, object, tuple[str, ...], bool]]:
    """(test name, claim, variants, pooled) of every @behavior test in the seed file."""
    tests = []
    for name in dir(seed_file):
        fn = getattr(seed_file, name)
        for mark in getattr(fn, "pytestmark", []):
            if mark.name == MARKER:
                kw = mark.kwargs
                tests.append((name, kw["claim"], tuple(kw["variants"]), bool(kw["pooled"])))
    return tests


def run_suite(model: str, seed: int) -> tuple[bool, list[str]]:
    """Whether the suite would exit 1 for ``model`` at ``seed``, and why."""
    settings = RunSettings(models=(model,), seed=seed)
    sampler = Sampler(GenerationSettings(), seed, store=DrawStore())
    tests = suite()
    family = sum(1 if pooled else len(v) for _, _, v, pooled in tests)
    alpha = claim_alpha(settings.alpha, family)
    failed: list[str] = []
    for name, claim, variants, pooled in tests:
        for variant in [variants] if pooled else [(v,) for v in variants]:
            outcome = evaluate(
                seed_file.ZERO_VS_RANDOM,
                variant if pooled else variant[0],
                claim,  # type: ignore[arg-type]
                model,
                sampler,
                settings,
                claim_alpha=alpha,
                family_size=family,
            )
            if outcome.verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE):
                failed.append(
                    f"{name}[{outcome.variant}] {outcome.verdict.value}: {outcome.reason}"
                )
    return bool(failed), failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--model", action="append", default=[])
    args = parser.parse_args()
    models = args.model or [*HONEST, *AVOIDING]
    print(f"{'model':<20} {'runs':>5} {'exit 1':>7} {'share':>6} {'95% CI':>15}  {'s':>5}  why")
    for model in models:
        start = time.perf_counter()
        reasons: Counter[str] = Counter()
        bad = 0
        for seed in range(args.runs):
            failed, why = run_suite(model, 1000 + seed)
            bad += failed
            reasons.update(
                w.split("]")[1].split(":")[0] + ": " + w.split(": ", 1)[1][:70] for w in why
            )
        low, high = clopper_pearson(bad, args.runs)
        top = "; ".join(f"{k} x{v}" for k, v in reasons.most_common(2))
        print(
            f"{model:<20} {args.runs:>5} {bad:>7} {bad / args.runs:>6.2f} "
            f"{f'{low:.2f}-{high:.2f}':>15}  {time.perf_counter() - start:>5.0f}  {top}"
        )


if __name__ == "__main__":
    main()
