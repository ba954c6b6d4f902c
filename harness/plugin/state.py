"""Plugin state: what every pytest process of a run knows (settings, prices, family size)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from harness.results.costs import PriceTable
from harness.run.settings import RunSettings


@dataclass
class RunState:
    """The run as every process (controller or xdist worker) sees it."""

    settings: RunSettings
    prices: PriceTable = field(default_factory=PriceTable.from_config)
    #: per model, its @behavior tests in the collected files: the Bonferroni family
    families: dict[str, int] = field(default_factory=dict)

    @property
    def family_size(self) -> int:
        """The largest model family (what the run's summary states)."""
        return max(self.families.values(), default=0)

    def family_of(self, *models: str) -> int:
        """The family a claim on ``models`` is split over (the largest of theirs), at least 1."""
        return max([1, *(self.families.get(m, 0) for m in models)])


STATE = pytest.StashKey[RunState]()


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is a pytest-xdist worker (no terminal, no report writing)."""
    return hasattr(config, "workerinput")
