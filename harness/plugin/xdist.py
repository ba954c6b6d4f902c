"""xdist scheduling: all tests of one model on one worker, workers told so, and -n checked."""

from __future__ import annotations

import os
from typing import Any

import pytest

from harness.plugin.state import STATE, is_worker


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


def workers(config: pytest.Config) -> int:
    """How many xdist workers the run starts (0 without ``-n``/``--tx``)."""
    if config.getoption("dist", "no") == "no":
        return 0
    count = 0
    for spec in config.getoption("tx", None) or []:
        times, star, _ = str(spec).partition("*")
        count += int(times) if star and times.isdigit() else 1
    return count


def parallel_warning(config: pytest.Config, cores: int | None = None) -> str | None:
    """One line when ``-n`` cannot help: more workers than models, or local models than cores.

    All tests of a model run on one worker (:func:`pytest_xdist_make_scheduler`),
    so workers beyond the number of models sit idle after starting up; and
    embedded models are CPU-bound, so more workers than cores only share them.
    """
    n = workers(config)
    if n == 0 or config.getoption("dist", "no") != "load":
        return None
    models = config.stash[STATE].settings.models
    if n > len(models):
        return (
            f"harness: -n {n} starts {n} workers for {len(models)} model"
            f"{'s' if len(models) != 1 else ''}, but each model's tests run on one worker: "
            f"{n - len(models)} will only add start-up time; -n helps with several models "
            f"and a core for each (use -n {len(models)} or fewer, or no -n)"
        )
    cores = cores or os.cpu_count() or 1
    local = sum(m.startswith("local/") for m in models)
    if min(n, local) > cores:
        return (
            f"harness: -n {n} runs {local} embedded models at once on {cores} cores: they are "
            f"CPU-bound and only share the cores; use -n {cores} or fewer"
        )
    return None


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Say, in one line, when ``-n`` cannot make this run faster."""
    config = session.config
    if is_worker(config):
        return
    line = parallel_warning(config)
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if line is not None and terminal is not None:
        terminal.write_line(line, yellow=True)
