"""The call and cost budget of a run, checked before every model call.

Once ``--max-calls`` or ``--max-cost`` is reached, draws come back with a
:class:`~harness.results.records.BudgetStop` and the evaluation ends the claim
INCONCLUSIVE with its reason. Under pytest-xdist each worker only sees its own
calls, so each enforces its share of the limits (worker i of w gets
``limit // w``, plus one call for the first ``limit % w`` workers): the run's
total never exceeds the limit. A cost limit can be overshot by the calls
already in flight when it is reached (at most one batch per arm), because a
call's tokens are known only when it returns.
"""

from __future__ import annotations

from harness.results.costs import PriceTable, cost_label
from harness.results.records import Usage


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
                return f"{whose} reached ({cost_label(spent)} spent)"
        return None
