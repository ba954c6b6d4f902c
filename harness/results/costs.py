"""Costs: token prices per model and the cost report of a run.

Tokens come from the providers' own usage reports (every draw's
``ModelOutput.usage``). A price table turns them into money: USD per million
input and output tokens, per model. The defaults below cover a few well-known
API models; simulated and local models cost nothing; anything else is
*unpriced* until ``[tool.harness.prices]`` in ``pyproject.toml`` names it::

    [tool.harness.prices]
    "openai/gpt-4o-mini" = { input = 0.15, output = 0.60 }
    "openai-api/vendor/*" = { input = 1.0, output = 2.0 }   # fnmatch patterns work

The call and cost budget that uses these prices is :mod:`harness.run.budget`.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.results.records import Usage

FREE_PREFIXES = (
    "sim/", "script/", "local/", "llama-cpp-python/", "ollama/", "vllm/", "mockllm/", "hf/"
)  # fmt: skip

# USD per 1M tokens (input, output), list prices at the time of writing; override in config.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "openai/gpt-4o": (2.50, 10.00),
    "openai/gpt-4o-mini": (0.15, 0.60),
    "openai/gpt-4.1": (2.00, 8.00),
    "openai/gpt-4.1-mini": (0.40, 1.60),
    "openai/gpt-4.1-nano": (0.10, 0.40),
    "openai/gpt-4-turbo": (10.00, 30.00),
    "openai/gpt-4": (30.00, 60.00),
    "anthropic/claude-3-5-sonnet-latest": (3.00, 15.00),
    "anthropic/claude-3-5-haiku-latest": (0.80, 4.00),
    "anthropic/claude-3-opus-latest": (15.00, 75.00),
    "anthropic/claude-3-haiku-20240307": (0.25, 1.25),
    "google/gemini-1.5-pro": (1.25, 5.00),
    "google/gemini-1.5-flash": (0.075, 0.30),
    "google/gemini-2.0-flash": (0.10, 0.40),
}


class Price(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: float = Field(ge=0.0)
    output: float = Field(ge=0.0)

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


class PriceTable(BaseModel):
    """Prices by model name or fnmatch pattern; configured entries win over defaults."""

    model_config = ConfigDict(frozen=True)

    prices: dict[str, Price] = Field(default_factory=dict)

    @classmethod
    def from_config(cls, overrides: dict[str, Any] | None = None) -> PriceTable:
        """The default table updated with ``[tool.harness.prices]`` entries."""
        table = {name: Price(input=i, output=o) for name, (i, o) in DEFAULT_PRICES.items()}
        for name, value in (overrides or {}).items():
            table[name] = Price.model_validate(value)
        return cls(prices=table)

    def price(self, model: str) -> Price | None:
        """The price of ``model``: exact entry, then a pattern, then free for sim/local."""
        if model in self.prices:
            return self.prices[model]
        for pattern, price in self.prices.items():
            if any(c in pattern for c in "*?[") and fnmatchcase(model, pattern):
                return price
        if model.startswith(FREE_PREFIXES):
            return Price(input=0.0, output=0.0)
        return None

    def cost(self, model: str, usage: Usage) -> float | None:
        """The cost of ``usage`` on ``model`` (None when the model has no price)."""
        price = self.price(model)
        return None if price is None else price.cost(usage.input_tokens, usage.output_tokens)


class ModelCost(BaseModel):
    """Tokens and cost of one model over a run (or one test)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = Field(default=None, description="USD; None when unpriced")


class CostReport(BaseModel):
    """Costs of a run per model and per test (test node id -> model -> cost)."""

    models: dict[str, ModelCost] = Field(default_factory=dict)
    tests: dict[str, dict[str, ModelCost]] = Field(default_factory=dict)
    total: float = 0.0
    unpriced: list[str] = Field(default_factory=list)

    @classmethod
    def build(
        cls,
        prices: PriceTable,
        usage: dict[str, Usage],
        test_usage: dict[str, dict[str, Usage]],
    ) -> CostReport:
        def one(model: str, u: Usage) -> ModelCost:
            return ModelCost(
                input_tokens=u.input_tokens,
                output_tokens=u.output_tokens,
                cost=prices.cost(model, u),
            )

        models = {m: one(m, u) for m, u in sorted(usage.items())}
        tests = {
            t: {m: one(m, u) for m, u in sorted(per.items())}
            for t, per in sorted(test_usage.items())
        }
        return cls(
            models=models,
            tests=tests,
            total=sum(c.cost or 0.0 for c in models.values()),
            unpriced=[m for m, c in models.items() if c.cost is None],
        )

    def test_cost(self, test: str, model: str) -> float | None:
        found = self.tests.get(test, {}).get(model)
        return None if found is None else found.cost


def cost_label(value: float | None) -> str:
    """A cost for people, the same on the terminal and the page: ``$0.0123``, ``unpriced``.

    >>> cost_label(None), cost_label(0.0), cost_label(0.01234), cost_label(1234.5)
    ('unpriced', '$0', '$0.0123', '$1,234.50')
    """
    if value is None:
        return "unpriced"
    if value == 0:
        return "$0"
    return f"${value:.4f}" if value < 100 else f"${value:,.2f}"
