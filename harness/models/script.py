"""Scripted models (``script/<name>``): answers drawn from replies you give.

For trying a new hypothesis and checking its categories at no cost. The
replies come from a JSON-lines file named by the model string
(``script/evals/replies/rhyme.jsonl``, relative to the working directory, or
``script//abs/path.jsonl``) or from the ``replies`` model argument (a list of
the same objects, or a JSON string of one), which wins over the file::

    {"arm": "control", "reply": "1", "weight": 3}
    {"arm": "treatment", "reply": "xqzvt"}
    {"arm": "*", "match": "poem", "reply": "Roses are red\\nviolets are blue"}

``arm`` is ``"control"``, ``"treatment"`` or ``"*"`` (any; the default);
``match``, if given, is a substring the prompt must contain; ``weight``
(default 1) weighs the reply against the other lines that apply. Every line
that applies to a request is a candidate, and one is drawn with the request's
seed, so draws are reproducible and independent.

The arm of a request is read from its prompt: the last user message is looked
up among the prompt pairs defined in this process
(:func:`harness.define.pair.arm_of`), so arm lines work under pytest; elsewhere
(``inspect eval``) only ``"*"`` lines apply. A request no line applies to is
an error naming the arm and the model. Outputs carry ``scripted: true`` in
their metadata and are reported as simulated.

    pytest evals/test_rhyme.py --model script/evals/replies/rhyme.jsonl
    pytest evals/ --model script/try \\
        --model-arg 'script/try:replies=[{"arm": "treatment", "reply": "zqxv"}]'
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any, Literal

from inspect_ai.model import (
    ChatMessage,
    ChatMessageUser,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.tool import ToolChoice, ToolInfo
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from harness.define.pair import arm_of, describe_errors


class ScriptedReply(BaseModel):
    """One line of a script: a reply, where it applies, and its weight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reply: str
    arm: Literal["control", "treatment", "*"] = "*"
    match: str | None = None
    weight: float = Field(default=1.0, gt=0.0)

    def applies(self, arm: str | None, prompt: str) -> bool:
        """Whether this line may answer a request of ``arm`` with ``prompt``."""
        arm_ok = self.arm == "*" or self.arm == arm
        return arm_ok and (self.match is None or self.match in prompt)


_REPLIES = TypeAdapter(list[ScriptedReply])


def load_script(path: Path) -> list[ScriptedReply]:
    """The replies of a JSON-lines script; an error names the file and line."""
    if not path.is_file():
        raise ValueError(f"scripted model: no such file {path}")
    out: list[ScriptedReply] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(ScriptedReply.model_validate_json(line))
        except ValidationError as exc:
            raise ValueError(f"{path}:{number}: {describe_errors(exc)}") from None
    if not out:
        raise ValueError(f"scripted model: {path} holds no replies")
    return out


def parse_replies(value: Any) -> list[ScriptedReply]:
    """Replies given as a model argument: a list of objects or a JSON string of one."""
    data = json.loads(value) if isinstance(value, str) else value
    try:
        replies = _REPLIES.validate_python(data)
    except ValidationError as exc:
        raise ValueError(f"scripted model: replies: {describe_errors(exc)}") from None
    if not replies:
        raise ValueError("scripted model: replies is empty")
    return replies


def choose(replies: list[ScriptedReply], arm: str | None, prompt: str, seed: int) -> str | None:
    """The reply drawn for a request, or None when no line applies."""
    candidates = [r for r in replies if r.applies(arm, prompt)]
    if not candidates:
        return None
    rng = random.Random(seed)
    return rng.choices(candidates, weights=[r.weight for r in candidates])[0].reply


def _seed(seed: int | None, prompt: str) -> int:
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class ScriptAPI(ModelAPI):
    """inspect-ai provider for ``script/<file.jsonl or name>``."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),  # noqa: B008 (inspect-ai's signature)
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        unknown = sorted(set(model_args) - {"replies"})
        if unknown:
            raise ValueError(f"script/{model_name}: unknown model argument {unknown[0]!r}")
        if "replies" in model_args:
            self.replies = parse_replies(model_args["replies"])
        elif model_name.endswith((".jsonl", ".json")):
            self.replies = load_script(Path(model_name).expanduser())
        else:
            raise ValueError(
                f"script/{model_name}: give a JSON-lines file (script/path/to/replies.jsonl) "
                "or the replies model argument"
            )

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        prompt = "\n".join(m.text for m in input)
        users = [m.text for m in input if isinstance(m, ChatMessageUser)]
        arm = arm_of(users[-1]) if users else None
        text = choose(self.replies, arm, prompt, _seed(config.seed, prompt))
        if text is None:
            raise ValueError(
                f"script/{self.model_name}: no scripted reply for the {arm or 'unknown'} arm "
                'of this prompt (add a line with that arm, or arm "*")'
            )
        output = ModelOutput.from_content(
            model=f"script/{self.model_name} (scripted)", content=text
        )
        n_in, n_out = len(prompt.split()), max(1, len(text.split()))
        output.usage = ModelUsage(input_tokens=n_in, output_tokens=n_out, total_tokens=n_in + n_out)
        output.metadata = {"scripted": True, "simulated": True}
        return output

    def max_connections(self) -> int:
        return 256
