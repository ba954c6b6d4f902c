"""Inspect logs: a run's draws as inspect-ai logs, so that ``inspect view`` shows every transcript.

The harness calls ``Model.generate`` directly (not ``eval()``), so inspect-ai
writes no logs of its own. This module rebuilds one :class:`EvalLog` per
decided test (one hypothesis, variant and model) from the run's
:class:`~harness.results.records.Outcome` records, with the public ``inspect_ai.log``
API: each draw becomes a sample whose messages are the prompt and the reply,
whose score is the category the classifier gave it, and whose transcript holds
the model call. Open them with ``inspect view --log-dir reports/<run>/logs``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

from inspect_ai.event import ModelEvent
from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalLog,
    EvalMetric,
    EvalResults,
    EvalSample,
    EvalScore,
    EvalSpec,
    EvalStats,
    write_eval_log,
)
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.scorer import Score

from harness.define.pair import Message
from harness.report.labels import node_name
from harness.report.log_writer import LOG_DIR
from harness.results.records import ArmResult, Draw, Outcome
from harness.results.run import RunResults


def _chat(messages: list[Message]) -> list[ChatMessage]:
    out: list[ChatMessage] = []
    for m in messages:
        if m.role == "system":
            out.append(ChatMessageSystem(content=m.content))
        elif m.role == "assistant":
            out.append(ChatMessageAssistant(content=m.content))
        else:
            out.append(ChatMessageUser(content=m.content))
    return out


def _test_name(outcome: Outcome) -> str:
    return node_name(outcome.test, params=False) if outcome.test else outcome.hypothesis


def _file_name(outcome: Outcome, index: int, started: dt.datetime) -> str:
    """inspect's own naming, ``<ISO time>_<task>_<id>.json``, which its log listing requires."""
    stamp = started.astimezone(dt.UTC).strftime("%Y-%m-%dT%H-%M-%S+00-00")
    raw = f"{_test_name(outcome)}-{outcome.variant}-{outcome.model}"
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", raw).strip("-")[:120]
    return f"{stamp}_{slug}_{_log_id(outcome)}-{index:03d}.json"


def _log_id(outcome: Outcome) -> str:
    """A stable id for one (test, variant, model): the same across reruns, for diffing."""
    key = f"{outcome.test}|{outcome.hypothesis}|{outcome.variant}|{outcome.model}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _sample_id(outcome: Outcome, arm: ArmResult, draw: Draw) -> str:
    """``arm-index``; pooled outcomes list each paraphrase's draws in turn, so add its number."""
    if outcome.variant != "pooled" or outcome.draws_per_arm == 0:
        return f"{arm.arm}-{draw.index:04d}"
    position = next(i for i, d in enumerate(arm.draws) if d is draw)
    return f"{arm.arm}-p{position // outcome.draws_per_arm}-{draw.index:04d}"


def _sample(outcome: Outcome, arm: ArmResult, draw: Draw, results: RunResults) -> EvalSample:
    prompt = _chat(arm.messages) or [ChatMessageUser(content="(prompt not recorded)")]
    settings = results.settings.generation
    config = GenerateConfig(
        temperature=settings.temperature, max_tokens=settings.max_tokens, seed=draw.seed
    )
    output = ModelOutput.from_content(model=outcome.model, content=draw.text)
    output.usage = ModelUsage(
        input_tokens=draw.input_tokens,
        output_tokens=draw.output_tokens,
        total_tokens=draw.input_tokens + draw.output_tokens,
    )
    if draw.error is not None:
        output.error = draw.error
    reply: list[ChatMessage] = [ChatMessageAssistant(content=draw.text or "(no reply)")]
    category = draw.category or ("error" if draw.error else "")
    return EvalSample(
        id=_sample_id(outcome, arm, draw),
        epoch=1,
        input=prompt,
        target=list(arm.categories),
        messages=[*prompt, *reply],
        output=output,
        scores={
            "category": Score(
                value=category,
                answer=draw.text,
                explanation=draw.error or f"labelled '{category}' in the {arm.arm} arm",
            )
        },
        metadata={
            "arm": arm.arm,
            "draw": draw.index,
            "seed": draw.seed,
            "category": category,
            "cached": draw.cached,
            "simulated": outcome.simulated,
        },
        events=[
            ModelEvent(
                model=outcome.model,
                input=prompt,
                tools=[],
                tool_choice="none",
                config=config,
                output=output,
            )
        ],
        model_usage={outcome.model: output.usage},
        error=None,
    )


def eval_log(outcome: Outcome, results: RunResults) -> EvalLog:
    """The inspect-ai log of one decided test: every draw of every arm as a sample."""
    samples = [_sample(outcome, arm, draw, results) for arm in outcome.arms for draw in arm.draws]
    metrics: dict[str, EvalMetric] = {}
    for arm in outcome.arms:
        for name in arm.categories:
            key = f"{arm.arm}.{name}"
            metrics[key] = EvalMetric(name=key, value=arm.shares[name])
    settings = results.settings
    created = results.started.astimezone(dt.UTC).isoformat(timespec="seconds")
    spec = EvalSpec(
        created=created,
        task=_test_name(outcome),
        task_id=_log_id(outcome),
        run_id=results.run_id,
        eval_id=f"{results.run_id}-{_log_id(outcome)}",
        task_args={"variant": outcome.variant},
        dataset=EvalDataset(name=outcome.hypothesis, samples=len(samples)),
        model=outcome.model,
        config=EvalConfig(),
        model_generate_config=GenerateConfig(
            temperature=settings.generation.temperature,
            max_tokens=settings.generation.max_tokens,
            seed=settings.seed,
        ),
        metadata={
            "hypothesis": outcome.hypothesis,
            "variant": outcome.variant,
            "test": outcome.test,
            "verdict": outcome.verdict.value,
            "reason": outcome.reason,
            "rule": outcome.rule,
            "simulated": outcome.simulated,
            "run_id": results.run_id,
        },
    )
    return EvalLog(
        eval=spec,
        status="success",
        samples=samples,
        results=EvalResults(
            total_samples=len(samples),
            completed_samples=len(samples),
            scores=[EvalScore(name="category", scorer="harness.classify", metrics=metrics)],
        ),
        stats=EvalStats(
            started_at=results.started.isoformat(),
            completed_at=results.finished.isoformat(),
        ),
    )


def write_logs(results: RunResults, run_dir: Path) -> list[Path]:
    """Write one JSON log per outcome under ``run_dir/logs``; return their paths."""
    folder = run_dir / LOG_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, outcome in enumerate(results.outcomes):
        path = folder / _file_name(outcome, index, results.started)
        write_eval_log(eval_log(outcome, results), path, format="json")
        paths.append(path)
    return paths
