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
    family_size: int = (
        0  # one model's @behavior tests in the collected files: the Bonferroni family
    )


STATE = pytest.StashKey[RunState]()


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is a pytest-xdist worker (no terminal, no report writing)."""
    return hasattr(config, "workerinput")
