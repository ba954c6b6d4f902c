"""Exact mode and first-token tables: shares from log-probabilities where a model exposes them.

:func:`evaluate_claim` is what the plugin calls for every claim. It decides
the claim as :func:`harness.run.evaluate.evaluate` does (sampling), unless
exact mode is on for the hypothesis (``--exact``, ``exact = true`` in
``[tool.harness]``, or ``generation={"exact": True}`` on the pair or a
variant) and the model supports it; then:

1. **Fixed strings.** Each arm's fixed-string replies are the protocol's
   literal answers of both arms' categories (``one`` -> "1", ``zero_word`` ->
   "zero", ``digit_zero`` -> "0", ``one_word`` -> "one", a ``pattern`` that is
   a plain word), in a few surface forms ("Zero", "ZERO", "zero.", "zero!",
   '"zero"', "**zero**"), and the empty reply. Each is labelled by the arm's
   own classifiers, so a category's fixed strings are exactly the ones it
   accepts.
2. **Exact part.** Their probabilities as whole replies come from the local
   model's logits (:func:`harness.models.logprobs.local_scores`), with the
   draws' temperature, top-p/top-k, stop sequences and ``max_tokens``.
3. **Sampled part.** Everything else (mass R) is sampled by rejection: draws
   are made as in sampling mode (same seeds, same cache) and those whose text
   is a fixed string are set aside. The claim's gates become tests on these
   draws (:mod:`harness.stats.exact`), at sampling mode's levels. A claim
   whose tests the exact part already decides takes no draw at all ("exact,
   no sampling error").

Where exact mode cannot be used (an API model, a simulated one, a pooled
claim, a chat format the local provider does not template itself) the claim
is sampled and :class:`~harness.results.logprobs.ExactNote` says why.

The **first-token table** (:class:`~harness.results.logprobs.FirstToken`) is
attached to every per-variant outcome of a local model (one forward pass per
prompt, computed once per process), and, in exact mode, of an API model that
returns ``top_logprobs`` (one call per prompt, with the mass it did not
return reported as ``uncovered``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from harness.define.claims import Claim
from harness.define.classifiers import classify
from harness.define.pair import Arm, ArmName, Category, Message, PromptPair, ResolvedVariant
from harness.models import is_simulated
from harness.results.logprobs import ExactNote, FirstToken, ReplyShare, TokenShare
from harness.results.records import ArmResult, Draw, GateResult, Outcome, Usage, Verdict
from harness.run.draws import Progress, budget_stop, labelled, summarize
from harness.run.evaluate import claim_design, evaluate
from harness.run.settings import GenerationSettings, RunSettings
from harness.stats.decision import Decision
from harness.stats.design import Design
from harness.stats.exact import (
    ArmSplit,
    ExactDesign,
    ExactWalk,
    GateOutcome,
    Sample,
    exact_design,
    gate_range,
    walk,
)
from harness.stats.gates import OFF, Gate
from harness.stats.walk import NONCOMPLIANT

if TYPE_CHECKING:
    from harness.run.sampling import Sampler

#: Built-in classifiers whose accepted answer is one literal string.
LITERALS = {"one": "1", "digit_zero": "0", "zero_word": "zero", "one_word": "one"}
_PLAIN_WORD = re.compile(r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)*")
#: Top alternatives listed in a first-token table; alternatives asked of an API (its maximum).
TOP_TOKENS, API_TOP_LOGPROBS = 12, 20
#: An arm of a two-arm gate whose non-fixed mass is at most this share of the gate's margin
#: is not sampled when the other arm is: its unknown part enters at its worst case, which
#: moves the gate's edges by about that mass (sampling it would cost 1/R draws per reply).
WORST_CASE_SHARE = 0.5


def literal(category: Category) -> str | None:
    """The one string a category accepts as its bare answer, if it is a fixed string."""
    if category.pattern is not None:
        return category.pattern if _PLAIN_WORD.fullmatch(category.pattern) else None
    if category.classifier is None:
        return LITERALS.get(category.name)
    return LITERALS.get(category.classifier) if isinstance(category.classifier, str) else None


def surface_forms(word: str) -> list[str]:
    """The forms of a literal answer scored exactly: its cases, bare or with a period, an
    exclamation mark, quotes or bold."""
    out: list[str] = []
    for case in dict.fromkeys([word, word.lower(), word.capitalize(), word.upper()]):
        out += [case, f"{case}.", f"{case}!", f'"{case}"', f"**{case}**"]
    return list(dict.fromkeys(out))


def fixed_texts(variant: ResolvedVariant) -> list[str]:
    """The fixed-string replies scored exactly in every arm of ``variant``: the empty reply and
    the surface forms of both arms' literal answers."""
    words = [literal(c) for name in ("control", "treatment") for c in variant.arm(name).categories]
    out = [""]
    for word in dict.fromkeys(w for w in words if w):
        out += surface_forms(word)
    return list(dict.fromkeys(out))


def first_tokens_of(arm: Arm) -> dict[str, list[str]]:
    """Per fixed-string category, the case forms of its literal (a token begins the category
    when its text, leading spaces dropped, is one of these or a prefix of 2+ characters)."""
    out: dict[str, list[str]] = {}
    for c in arm.categories:
        word = literal(c)
        if word:
            out[c.name] = list(dict.fromkeys([word, word.lower(), word.capitalize(), word.upper()]))
    return out


def begins(token: str, forms: list[str]) -> bool:
    bare = token.lstrip()
    return bool(bare) and any(f == bare or (len(bare) >= 2 and f.startswith(bare)) for f in forms)


def request_messages(
    variant: ResolvedVariant, arm: ArmName, gen: GenerationSettings
) -> tuple[Message, ...]:
    """The messages a draw of ``arm`` sends (the hypothesis's system prompt first)."""
    messages = variant.arm(arm).messages
    if gen.system_prompt is not None:
        return (Message(role="system", content=gen.system_prompt), *messages)
    return messages


def label_code(text: str, arm: Arm) -> int:
    """The label code of a reply in ``arm``: its category's index, or OFF."""
    name = classify(text, arm.predicates())
    names = arm.category_names
    return names.index(name) if name in names else OFF


# --------------------------------------------------------------------------
# log-probability sources
# --------------------------------------------------------------------------


class LocalSource:
    """A local GGUF model: the whole vocabulary's distribution from llama.cpp logits."""

    kind = "local"

    def __init__(self, api: Any, sampler: Sampler | None = None) -> None:
        self.api = api
        self.sampler = sampler  # for its cache folder: tables are kept beside the draws

    def sampling(self, gen: GenerationSettings) -> Any:
        from inspect_ai.model import GenerateConfig

        config = GenerateConfig(
            temperature=gen.temperature,
            max_tokens=gen.max_tokens,
            stop_seqs=list(gen.stop_seqs) or None,
        )
        return self.api.sampling(config)

    def supports(self, messages: tuple[Message, ...]) -> str | None:
        """Why these messages cannot be scored (None: they can)."""
        from harness.models.logprobs import local_prompt

        if local_prompt(self.api, _plain(messages)) is None:
            return "its chat format is not a GGUF template the harness applies itself"
        return None

    def scores(
        self, messages: tuple[Message, ...], gen: GenerationSettings, texts: Sequence[str] = ()
    ) -> Any:
        from harness.models.logprobs import local_scores

        return local_scores(self.api, _plain(messages), self.sampling(gen), texts)

    def first_token(
        self,
        messages: tuple[Message, ...],
        gen: GenerationSettings,
        arm: Arm,
        texts: Sequence[str] = (),
    ) -> FirstToken:
        """The arm's first-token table (and, with ``texts``, their exact probabilities); kept
        in the draw cache's folder, keyed by the model file, the request and the arm."""
        key = self._key(messages, gen, arm, texts)
        cached = _read_cache(self.sampler, key) if self.sampler is not None else None
        if cached is not None:
            return FirstToken.model_validate(cached)
        table = self._compute(messages, gen, arm, texts)
        if self.sampler is not None:
            _write_cache(self.sampler, key, table.model_dump(mode="json"))
        return table

    def _key(
        self, messages: tuple[Message, ...], gen: GenerationSettings, arm: Arm, texts: Sequence[str]
    ) -> str:
        path = Path(self.api.path)
        stat = path.stat()
        blob = json.dumps(
            {
                "model": [
                    str(path),
                    stat.st_size,
                    stat.st_mtime_ns,
                    self.api.n_ctx,
                    self.api.n_threads,
                ],
                "messages": [m.model_dump() for m in messages],
                "sampling": repr(self.sampling(gen)),
                "texts": list(texts),
                "arm": arm.model_dump(mode="json"),
            },
            sort_keys=True,
        )
        return "local-" + hashlib.sha256(blob.encode()).hexdigest()[:32]

    def _compute(
        self, messages: tuple[Message, ...], gen: GenerationSettings, arm: Arm, texts: Sequence[str]
    ) -> FirstToken:
        from harness.models.logprobs import local_model, vocabulary

        scores = self.scores(messages, gen, texts)
        vocab = vocabulary(local_model(self.api))
        probs = scores.first
        forms = first_tokens_of(arm)
        tagged = _tagger(vocab, forms)
        order = np.argsort(-probs)[:TOP_TOKENS]
        top = [
            TokenShare(
                token=vocab.piece_text(int(t)), p=float(probs[t]), category=tagged.get(int(t))
            )
            for t in order
        ]
        categories = {name: 0.0 for name in forms}
        for token, name in tagged.items():
            categories[name] += float(probs[token])
        replies = [
            ReplyShare(
                text=m.text,
                category=classify(m.text, arm.predicates()),
                p=m.p,
                paths=m.paths,
                alternative=max(0.0, m.p - m.canonical),
            )
            for m in sorted(scores.replies.values(), key=lambda m: -m.p)
        ]
        fixed = float(sum(r.p for r in replies)) if texts else None
        return FirstToken(
            source="logits",
            temperature=gen.temperature,
            top=top,
            categories=categories,
            end=scores.end,
            covered=1.0,
            uncovered=0.0,
            replies=replies,
            fixed=fixed,
            stray=scores.stray if texts else None,
            forward_passes=scores.decodes,
            note="whole vocabulary, after the chat template, at the draws' temperature",
        )


_TAGGERS: dict[tuple[int, str], dict[int, str]] = {}


def _tagger(vocab: Any, forms: dict[str, list[str]]) -> dict[int, str]:
    """token id -> the category whose fixed string it begins (computed once per vocabulary)."""
    key = (id(vocab), json.dumps(forms, sort_keys=True))
    if key not in _TAGGERS:
        found: dict[int, str] = {}
        for token in range(vocab.size):
            text = vocab.piece_text(token)
            for name, words in forms.items():
                if begins(text, words):
                    found.setdefault(token, name)
        _TAGGERS[key] = found
    return _TAGGERS[key]


class ApiSource:
    """A remote model asked for ``top_logprobs``: one call per prompt, max_tokens 1.

    The call goes through a model instance of its own (same name and model
    arguments as the draws'), on an event loop of its own; it counts as a
    call in the model's usage and respects the run's budget.
    """

    kind = "api"

    def __init__(self, sampler: Sampler, model: str) -> None:
        self.sampler = sampler
        self.model = model

    def first_token(
        self, messages: tuple[Message, ...], gen: GenerationSettings, arm: Arm
    ) -> FirstToken | str:
        """The table from the returned alternatives, or why there is none."""
        key = self._key(messages, gen)
        cached = _read_cache(self.sampler, key)
        if cached is not None:
            return FirstToken.model_validate(cached)
        usage = self.sampler.usage.setdefault(self.model, Usage())
        budget = self.sampler.budget
        error = "no attempt"
        for _ in range(self.sampler.settings.max_retries + 1):
            reason = budget(self.model) if budget is not None else None
            if reason is not None:
                return f"budget: {reason}"
            usage.calls += 1
            try:
                model, loop = _api_model(self.model, self.sampler.model_args.get(self.model, {}))
                output = loop.run_until_complete(self._ask(model, messages, gen))
            except Exception as exc:  # a provider that rejects logprobs, or a transport error
                error = f"{type(exc).__name__}: {exc}"
                continue
            if output.usage is not None:
                usage.input_tokens += output.usage.input_tokens
                usage.output_tokens += output.usage.output_tokens
            choice = output.choices[0] if output.choices else None
            content = choice.logprobs.content if choice and choice.logprobs else None
            if not content or not content[0].top_logprobs:
                return "the provider returned no top_logprobs"
            table = self._table(content[0], gen, arm)
            _write_cache(self.sampler, key, table.model_dump(mode="json"))
            return table
        return f"the logprobs call failed: {error}"

    async def _ask(self, model: Any, messages: tuple[Message, ...], gen: GenerationSettings) -> Any:
        from inspect_ai.model import (
            ChatMessageAssistant,
            ChatMessageSystem,
            ChatMessageUser,
            GenerateConfig,
        )

        chat = [
            ChatMessageSystem(content=m.content)
            if m.role == "system"
            else ChatMessageAssistant(content=m.content)
            if m.role == "assistant"
            else ChatMessageUser(content=m.content)
            for m in messages
        ]
        config = GenerateConfig(
            temperature=gen.temperature,
            max_tokens=1,
            logprobs=True,
            top_logprobs=API_TOP_LOGPROBS,
            seed=0,
            max_retries=0,
            timeout=gen.timeout,
            attempt_timeout=gen.timeout,
        )
        return await model.generate(chat, config=config, cache=False)

    def _table(self, first: Any, gen: GenerationSettings, arm: Arm) -> FirstToken:
        forms = first_tokens_of(arm)
        merged: dict[str, float] = {}
        for alt in first.top_logprobs:
            merged[alt.token] = merged.get(alt.token, 0.0) + math.exp(alt.logprob)
        ranked = sorted(merged.items(), key=lambda kv: -kv[1])
        covered = min(1.0, sum(merged.values()))
        categories = {name: 0.0 for name in forms}
        top = []
        for token, p in ranked:
            tag = next((name for name, words in forms.items() if begins(token, words)), None)
            if tag is not None:
                categories[tag] += p
            top.append(TokenShare(token=token, p=p, category=tag))
        return FirstToken(
            source="top_logprobs",
            temperature=gen.temperature,
            top=top[:API_TOP_LOGPROBS],
            categories=categories,
            end=None,
            covered=covered,
            uncovered=max(0.0, 1.0 - covered),
            forward_passes=1,
            note=(
                f"the API's top {len(ranked)} alternatives as it returned them; "
                f"{max(0.0, 1.0 - covered):.1%} of the probability is on tokens not returned"
            ),
        )

    def _key(self, messages: tuple[Message, ...], gen: GenerationSettings) -> str:
        blob = json.dumps(
            {
                "model": self.model,
                "args": sorted(
                    (k, str(v)) for k, v in self.sampler.model_args.get(self.model, {}).items()
                ),
                "messages": [m.model_dump() for m in messages],
                "temperature": gen.temperature,
                "top_logprobs": API_TOP_LOGPROBS,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


_API_MODELS: dict[str, tuple[Any, asyncio.AbstractEventLoop]] = {}


def _api_model(name: str, args: dict[str, Any]) -> tuple[Any, asyncio.AbstractEventLoop]:
    """An inspect-ai model for ``name`` (its SDK's retries off) and the loop it runs on."""
    key = json.dumps([name, sorted((k, str(v)) for k, v in args.items())])
    if key not in _API_MODELS:
        from inspect_ai.model import get_model

        model = get_model(name, memoize=False, **args)
        client: Any = getattr(model.api, "client", None)
        if isinstance(getattr(client, "max_retries", None), int):
            client.max_retries = 0  # every HTTP request is one counted call
        _API_MODELS[key] = (model, asyncio.new_event_loop())
    return _API_MODELS[key]


def _plain(messages: tuple[Message, ...]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _cache_path(sampler: Sampler, key: str) -> Path | None:
    directory = sampler.store.directory
    return None if directory is None else Path(directory) / "first_token" / f"{key}.json"


def _read_cache(sampler: Sampler, key: str) -> dict[str, Any] | None:
    path = _cache_path(sampler, key)
    if path is None or sampler.store.refresh or not path.is_file():
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _write_cache(sampler: Sampler, key: str, data: dict[str, Any]) -> None:
    path = _cache_path(sampler, key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        return


def source_for(sampler: Sampler, model: str) -> tuple[LocalSource | ApiSource | None, str]:
    """Where ``model``'s log-probabilities come from, or why there are none."""
    if is_simulated(model):
        return None, "a simulated model has no log-probabilities"
    if model.startswith("local/"):
        return LocalSource(sampler.model(model).api, sampler), ""
    return ApiSource(sampler, model), ""


# --------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------


def evaluate_claim(
    pair: PromptPair,
    variant_ids: Sequence[str] | str,
    claim: Claim,
    model: str,
    sampler: Sampler,
    settings: RunSettings,
    *,
    claim_alpha: float,
    family_size: int = 1,
    test: str = "",
    progress: Progress | None = None,
) -> Outcome:
    """Decide ``claim`` on ``model``: in exact mode where it is on and supported, else by
    sampling; per-variant outcomes carry each arm's first-token table where one is available."""
    pooled = not isinstance(variant_ids, str)
    first_id = next(iter([variant_ids] if isinstance(variant_ids, str) else variant_ids))
    variant = pair.variant(first_id)
    gen = sampler.settings.for_hypothesis(variant.generation.overrides())
    source, why = source_for(sampler, model)
    if gen.exact and isinstance(source, LocalSource) and not pooled:
        messages = [request_messages(variant, arm, gen) for arm in claim.arms]
        why = next((w for m in messages if (w := source.supports(m))), "")
        if not why:
            return _exact(
                pair,
                variant,
                claim,
                model,
                sampler,
                settings,
                gen,
                source,
                claim_alpha=claim_alpha,
                family_size=family_size,
                test=test,
                progress=progress,
            )
    elif gen.exact and pooled:
        why = "a pooled claim is about the average over paraphrases; it is sampled"
    elif gen.exact and isinstance(source, ApiSource):
        why = "an API returns the first token's alternatives only, not whole replies"
    outcome = evaluate(
        pair,
        variant_ids,
        claim,
        model,
        sampler,
        settings,
        claim_alpha=claim_alpha,
        family_size=family_size,
        test=test,
        progress=progress,
    )
    arms = outcome.arms
    missing: list[str] = []
    if not pooled and source is not None and (isinstance(source, LocalSource) or gen.exact):
        tabled = [_with_table(a, variant, gen, source) for a in arms]
        arms = [a for a, _ in tabled]
        missing = list(dict.fromkeys(w for _, w in tabled if w))
    note = None
    if gen.exact:
        text = f"exact mode fell back to sampling: {why}"
        if missing:
            text += f"; no first-token table: {'; '.join(missing)}"
        note = ExactNote(mode="sampling", note=text)
    return outcome.model_copy(update={"arms": arms, "exact": note})


def _with_table(
    arm: ArmResult,
    variant: ResolvedVariant,
    gen: GenerationSettings,
    source: LocalSource | ApiSource,
) -> tuple[ArmResult, str]:
    """The arm with its first-token table, or unchanged and why there is none."""
    messages = request_messages(variant, arm.arm, gen)
    try:
        if isinstance(source, LocalSource):
            why = source.supports(messages)
            table: FirstToken | str = (
                why if why is not None else source.first_token(messages, gen, variant.arm(arm.arm))
            )
        else:
            table = source.first_token(messages, gen, variant.arm(arm.arm))
    except Exception as exc:  # a table is extra information: never fail a test for it
        table = f"{type(exc).__name__}: {exc}"
    if isinstance(table, str):
        return arm, table
    return arm.model_copy(update={"first_token": table}), ""


def _exact(
    pair: PromptPair,
    variant: ResolvedVariant,
    claim: Claim,
    model: str,
    sampler: Sampler,
    settings: RunSettings,
    gen: GenerationSettings,
    source: LocalSource,
    *,
    claim_alpha: float,
    family_size: int,
    test: str,
    progress: Progress | None,
) -> Outcome:
    """Exact mode on one variant of a local model (see the module docstring)."""
    texts = fixed_texts(variant)
    tables: dict[ArmName, FirstToken] = {}
    splits: dict[str, ArmSplit] = {}
    for arm in claim.arms:
        messages = request_messages(variant, arm, gen)
        table = source.first_token(messages, gen, variant.arm(arm), texts)
        tables[arm] = table
        splits[arm] = _split(table, variant.arm(arm))
    passes = sum(t.forward_passes for t in tables.values())
    d = claim_design(claim, variant, settings, claim_alpha)
    fixed_only = {a: _with(s, sampled=False) for a, s in splits.items()}
    design = exact_design(d.gates, d.tests, d.compliance, fixed_only)
    walked = walk(design, {}, NONCOMPLIANT)
    draws: dict[ArmName, list[Draw]] = {arm: [] for arm in claim.arms}
    samples: dict[str, Sample] = {}
    if walked.code == Decision.UNDECIDED:
        design = exact_design(d.gates, d.tests, d.compliance, _choose(d, splits, walked))
        walked, draws, samples = _sample_rest(
            design, variant, claim, model, sampler, settings, gen, set(texts), progress
        )
    return _outcome(
        pair,
        variant,
        claim,
        model,
        settings,
        design,
        walked,
        draws,
        samples,
        tables,
        passes=passes,
        claim_alpha=claim_alpha,
        family_size=family_size,
        test=test,
    )


def _with(split: ArmSplit, *, sampled: bool) -> ArmSplit:
    return ArmSplit(split.fixed, split.remainder, split.slack, sampled)


def _split(table: FirstToken, arm: Arm) -> ArmSplit:
    """The arm's exact masses per label (categories, then off-protocol) from its table."""
    names = arm.category_names
    fixed = [0.0] * (len(names) + 1)
    for reply in table.replies:
        index = names.index(reply.category) if reply.category in names else len(names)
        fixed[index] += reply.p
    total = sum(fixed)
    return ArmSplit(tuple(fixed), max(0.0, 1.0 - total), float(table.stray or 0.0))


def _choose(d: Design, splits: dict[str, ArmSplit], walked: ExactWalk) -> dict[str, ArmSplit]:
    """Which arms' non-fixed replies to sample, given the gates the exact part left open.

    An arm of an undecided gate is sampled unless its non-fixed mass is at most
    :data:`WORST_CASE_SHARE` of the gate's margin and the gate's other arm is
    sampled instead (its unknown part then enters at its worst case). While NONCOMPLIANT is still
    possible (no arm certainly compliant), arms not yet shown off-protocol are
    sampled too.
    """
    wanted: set[str] = set()
    for o in walked.gates:
        if o.code != Decision.UNDECIDED:
            continue
        g = o.gate
        arms = [g.arm] if g.control_arm in (None, g.arm) else [g.arm, g.control_arm]
        live = [a for a in arms if splits[a].remainder > 0.0]
        small = WORST_CASE_SHARE * abs(g.allowed - g.forbidden)
        wanted.update([a for a in live if splits[a].remainder > small] or live)
    checks = exact_design(d.gates, d.tests, d.compliance, splits).compliance
    if checks and not any(t.exact == "never" for t in checks.values()):
        wanted.update(a for a, t in checks.items() if t.exact is None)
    return {a: _with(s, sampled=a in wanted) for a, s in splits.items()}


def _sample_rest(
    design: ExactDesign,
    variant: ResolvedVariant,
    claim: Claim,
    model: str,
    sampler: Sampler,
    settings: RunSettings,
    gen: GenerationSettings,
    fixed: set[str],
    progress: Progress | None,
) -> tuple[ExactWalk, dict[ArmName, list[Draw]], dict[str, Sample]]:
    """Draw until the claim is decided: each round, enough draws of every sampled arm for
    ``--batch-size`` more non-fixed replies (expected), at most ``--max-draws`` per arm."""
    arms = [a for a in claim.arms if design.arms[a].sampled and design.arms[a].remainder > 0.0]
    draws: dict[ArmName, list[Draw]] = {arm: [] for arm in claim.arms}
    samples: dict[str, Sample] = {}
    wanted = 0
    while True:
        wanted += settings.batch_size
        for arm in arms:
            rate = max(design.arms[arm].remainder, 1e-9)
            count = min(settings.max_draws, max(len(draws[arm]), math.ceil(wanted / rate)))
            messages = variant.arm(arm).messages
            got = sampler.draws_many(model, [messages], count, generation=gen)[0]
            draws[arm] = labelled(got, variant, arm)
            kept = [
                (i + 1, d)
                for i, d in enumerate(draws[arm])
                if d.error is None and d.text not in fixed
            ]
            samples[arm] = Sample(
                codes=np.asarray([_code(d, variant.arm(arm)) for _, d in kept], dtype=np.int_),
                at=np.asarray([i for i, _ in kept], dtype=np.int_),
            )
        if progress is not None:
            progress(f"{max((len(v) for v in draws.values()), default=0)} draws per arm")
        walked = walk(design, samples, NONCOMPLIANT)
        done = walked.code != Decision.UNDECIDED
        full = all(len(draws[a]) >= settings.max_draws for a in arms)
        if done or full or not arms or budget_stop(draws) is not None:
            return walked, draws, samples


def _code(draw: Draw, arm: Arm) -> int:
    names = arm.category_names
    return names.index(draw.category) if draw.category in names else OFF


def _outcome(
    pair: PromptPair,
    variant: ResolvedVariant,
    claim: Claim,
    model: str,
    settings: RunSettings,
    design: ExactDesign,
    walked: ExactWalk,
    draws: dict[ArmName, list[Draw]],
    samples: dict[str, Sample],
    tables: dict[ArmName, FirstToken],
    *,
    passes: int,
    claim_alpha: float,
    family_size: int,
    test: str,
) -> Outcome:
    n = max((len(v) for v in draws.values()), default=0)
    estimates = _estimates(design, samples, variant, claim)
    exact = walked.code != Decision.UNDECIDED and walked.at_draw == 0
    verdict, reason = _verdict(walked, design, samples, draws, n, settings, exact)
    kept = sum(len(s.codes) for s in samples.values())
    mode: Literal["exact", "mixed"]
    if exact:
        mode, note = "exact", "exact, no sampling error: decided from log-probabilities alone"
    else:
        mode = "mixed"
        note = (
            f"fixed-string replies exact; {kept} non-fixed replies sampled (of "
            f"{sum(len(v) for v in draws.values())} draws, the rest being fixed strings)"
        )
    arms = []
    for arm in claim.arms:
        result = summarize(arm, variant, draws[arm])
        arms.append(result.model_copy(update={"first_token": tables[arm]}))
    return Outcome(
        hypothesis=pair.id,
        variant=variant.id,
        model=model,
        simulated=is_simulated(model),
        test=test,
        claim=claim,
        rule=claim.title(),
        verdict=verdict,
        reason=reason,
        arms=arms,
        gates=[_gate_result(o, design, samples) for o in walked.gates],
        draws_per_arm=n,
        decided_at=walked.at_draw if walked.at_draw is not None else n,
        max_draws=settings.max_draws,
        alpha=settings.alpha,
        gate_alpha=claim_alpha,
        beta=settings.beta,
        family_size=family_size,
        seed=settings.seed,
        exact=ExactNote(
            mode=mode,
            note=note,
            forward_passes=passes,
            draws=sum(len(v) for v in draws.values()),
            kept=kept,
            estimates=estimates,
        ),
    )


def _verdict(
    walked: ExactWalk,
    design: ExactDesign,
    samples: dict[str, Sample],
    draws: dict[ArmName, list[Draw]],
    n: int,
    settings: RunSettings,
    exact: bool,
) -> tuple[Verdict, str]:
    lead = "exact, no sampling error: " if exact else ""
    if walked.code == Decision.FAIL:
        failed = [o for o in walked.gates if o.code == Decision.FAIL]
        values = "; ".join(f"{o.gate.label} {_value(o.gate, design, samples)}" for o in failed)
        return Verdict.FAIL, f"{lead}shown in the forbidden region: {values}"
    if walked.code == Decision.PASS:
        values = "; ".join(
            f"{o.gate.label} {_value(o.gate, design, samples)}" for o in walked.gates
        )
        return Verdict.PASS, f"{lead}the forbidden region was ruled out for every gate ({values})"
    if walked.code == NONCOMPLIANT:
        return Verdict.NONCOMPLIANT, (
            f"{lead}on-protocol share shown below the required {settings.min_compliance:.0%} in "
            f"{' and '.join(walked.noncompliant)}: the model does not follow the protocol"
        )
    stalled = budget_stop(draws)
    if stalled is not None:
        return Verdict.INCONCLUSIVE, f"stopped early: {stalled}"
    if not any(design.arms[a].sampled for a in design.arms):
        return Verdict.INCONCLUSIVE, "the exact part leaves the claim open and nothing is sampled"
    return Verdict.INCONCLUSIVE, (
        f"budget of {settings.max_draws} draws per arm reached before a decision"
    )


def _distributions(
    design: ExactDesign, samples: dict[str, Sample]
) -> dict[str, np.ndarray[Any, Any] | None]:
    """Each arm's non-fixed label shares as sampled (None: not sampled)."""
    out: dict[str, np.ndarray[Any, Any] | None] = {}
    for arm, split in design.arms.items():
        got = samples.get(arm)
        if split.remainder <= 0.0:
            out[arm] = np.full(split.labels, 1.0 / split.labels)
        elif got is None or len(got.codes) == 0:
            out[arm] = None
        else:
            cols = split.column(got.codes[got.codes >= OFF])
            out[arm] = np.bincount(cols, minlength=split.labels) / max(1, len(cols))
    return out


def _value(gate: Gate, design: ExactDesign, samples: dict[str, Sample]) -> str:
    low, high = gate_range(gate, design.arms, _distributions(design, samples))
    if high - low < 5e-4:
        return f"= {(low + high) / 2:+.4f}"
    return f"between {low:+.4f} and {high:+.4f}"


def _estimates(
    design: ExactDesign, samples: dict[str, Sample], variant: ResolvedVariant, claim: Claim
) -> dict[str, float]:
    """'arm.category' -> share among on-protocol replies, where the draws so far fix it."""
    out: dict[str, float] = {}
    q = _distributions(design, samples)
    for arm in claim.arms:
        split = design.arms[arm]
        dist = q.get(arm)
        if dist is None and split.remainder > 1e-6:
            continue
        share = np.asarray(split.fixed) + split.remainder * (dist if dist is not None else 0.0)
        on = float(share[:-1].sum())
        for i, name in enumerate(variant.arm(arm).category_names):
            if on > 0:
                out[f"{arm}.{name}"] = float(share[i]) / on
    return out


def _gate_result(o: GateOutcome, design: ExactDesign, samples: dict[str, Sample]) -> GateResult:
    low, high = gate_range(o.gate, design.arms, _distributions(design, samples))
    label = o.gate.label + (" (exact)" if o.exact else "")
    f, p = o.fail_run, o.pass_run
    return GateResult(
        description=label,
        kind=o.gate.kind,
        decision=o.code,
        allowed=o.gate.allowed,
        forbidden=o.gate.forbidden,
        estimate=(low + high) / 2 if high - low < 0.05 else None,
        observations=max(f.used, p.used),
        at_draw=o.at_draw,
        fail_evidence=f.log_wealth,
        fail_threshold=o.fail.threshold,
        pass_evidence=p.log_wealth,
        pass_threshold=o.pass_.threshold,
        alpha=o.fail.level,
        beta=o.pass_.level,
    )
