"""xdist scheduling: all tests of one model on one worker, and workers told so."""

from __future__ import annotations

from typing import Any

import pytest

from harness.plugin.state import STATE


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``-n N``, send all tests of one model to one worker.

    A local model is then loaded once per run, not once per worker, and API
    models keep one connection pool. Other tests are balanced one by one.
    (xdist's own ``loadgroup`` cannot be used: with pytest 9 its worker-side
    renaming of node ids has no effect, so the groups are never formed.)
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    models = config.stash[STATE].settings.models

    class ByModel(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            for model in models:
                if nodeid.endswith((f"-{model}]", f"[{model}]")):
                    return model
            return nodeid

    return ByModel(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell workers whether each model's tests run on one worker (budgets split per model)."""
    node.workerinput["harness_by_model"] = node.config.getvalue("dist") == "load"
