"""Token prices, run costs and the call/cost budget.

Tokens come from the providers' own usage reports (every draw's
``ModelOutput.usage``). A price table turns them into money: USD per million
input and output tokens, per model. The defaults below cover a few well-known
API models; simulated and local models cost nothing; anything else is
*unpriced* until ``[tool.harness.prices]`` in ``pyproject.toml`` names it::

    [tool.harness.prices]
    "openai/gpt-4o-mini" = { input = 0.15, output = 0.60 }
    "openai-api/vendor/*" = { input = 1.0, output = 2.0 }   # fnmatch patterns work

The budget (``--max-calls``, ``--max-cost``) is checked before every call; once
reached, draws come back with a ``budget: <reason>`` error and the runner ends
the claim INCONCLUSIVE with that reason. Under pytest-xdist each worker only
sees its own calls, so each enforces its share of the limits (worker i of w gets
``limit // w``, plus one call for the first ``limit % w`` workers): the run's
total never exceeds the limit. A cost limit can be overshot by the calls
already in flight when it is reached (at most one batch per arm), because a
call's tokens are known only when it returns.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.sampling import Usage

FREE_PREFIXES = ("sim/", "local/", "llama-cpp-python/", "ollama/", "vllm/", "mockllm/", "hf/")

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


def money(value: float | None) -> str:
    """A cost for people: ``$0.0123``; ``no price`` when unknown."""
    if value is None:
        return "no price"
    if value == 0:
        return "$0"
    return f"${value:.4f}" if value < 100 else f"${value:,.2f}"


def share(limit: int, worker: int, workers: int) -> int:
    """Worker ``worker``'s share of an integer limit over ``workers`` workers."""
    return limit // workers + (1 if worker < limit % workers else 0)


class Budget:
    """The call and cost limits of one process, checked before every call.

    Under pytest-xdist no process sees another's calls, so a run's limits are
    split up front and every share is enforced locally; the shares add up to
    the limit, so the run as a whole never exceeds it. With ``models`` given
    (each model's tests run on one worker), each model gets an equal share and
    is checked against its own usage; otherwise each worker gets an equal share.
    """

    def __init__(
        self,
        usage: dict[str, Usage],
        prices: PriceTable,
        max_calls: int | None = None,
        max_cost: float | None = None,
        worker: int = 0,
        workers: int = 1,
        models: tuple[str, ...] | None = None,
    ) -> None:
        self.usage = usage
        self.prices = prices
        self.models = models or None
        parts = len(self.models) if self.models else workers
        self.max_calls = None if max_calls is None else share(max_calls, worker, workers)
        self.max_cost = None if max_cost is None else max_cost / parts
        self.workers = workers
        self._limits = (max_calls, max_cost)

    def _whose(self, option: str, value: object, model: str) -> str:
        if self.models and len(self.models) > 1:
            return f"{model}'s share of {option} {value} (split over {len(self.models)} models)"
        if self.models:
            return f"{option} {value}"
        if self.workers == 1:
            return f"{option} {value}"
        return f"this worker's share of {option} {value} (split over {self.workers} workers)"

    def _calls_limit(self, model: str) -> int | None:
        max_calls = self._limits[0]
        if max_calls is None or not self.models:
            return self.max_calls
        return share(max_calls, self.models.index(model), len(self.models))

    def _counted(self, model: str) -> dict[str, Usage]:
        """The usage this model's limit is checked against."""
        if self.models:
            return {model: self.usage[model]} if model in self.usage else {}
        return self.usage

    def __call__(self, model: str) -> str | None:
        """None while ``model`` may be called; otherwise why not."""
        max_calls, max_cost = self._limits
        limit = self._calls_limit(model)
        counted = self._counted(model)
        if limit is not None:
            calls = sum(u.calls for u in counted.values())
            if calls >= limit:
                return f"{self._whose('--max-calls', max_calls, model)} reached after {calls} calls"
        if self.max_cost is not None:
            if self.prices.price(model) is None:
                return (
                    f"--max-cost is set but {model} has no price "
                    "(add it to [tool.harness.prices] in pyproject.toml)"
                )
            spent = sum(self.prices.cost(m, u) or 0.0 for m, u in counted.items())
            if spent >= self.max_cost:
                whose = self._whose("--max-cost", max_cost, model)
                return f"{whose} reached ({money(spent)} spent)"
        return None
