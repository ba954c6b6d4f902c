"""Collection: hypothesis modules, one test per (variant, model), and the claim family's size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from harness.define.behavior import MARKER
from harness.define.comparison import ModelComparison
from harness.define.pair import HypothesisError, describe_errors
from harness.plugin.state import STATE
from harness.run.compare import comparison_label


class HypothesisModule(pytest.Module):
    """A test module whose bad hypothesis definitions are reported in one line."""

    def _getobj(self) -> Any:
        try:
            return super()._getobj()  # type: ignore[no-untyped-call]
        except HypothesisError as exc:
            raise self.CollectError(f"{self.path.name}: {exc}") from None
        except ValidationError as exc:
            line = _user_line(exc, self.path)
            raise self.CollectError(
                f"{self.path.name}{line}: invalid {exc.title}: {describe_errors(exc)}"
            ) from None


def _user_line(exc: BaseException, path: Path) -> str:
    tb = exc.__traceback__
    found = ""
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == path:
            found = f":{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> Any:
    if module_path.name == "__init__.py":
        return None
    return HypothesisModule.from_parent(parent, path=module_path)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        return
    state = metafunc.config.stash[STATE]
    pooled = marker.kwargs.get("pooled", False)
    metafunc.parametrize("harness_variant", ["pooled"] if pooled else marker.kwargs["variants"])
    claim = marker.kwargs["claim"]
    if isinstance(claim, ModelComparison):  # one test per comparison, not per model
        label = comparison_label(claim)
        metafunc.parametrize("harness_model", [pytest.param(label, id=label)])
        return
    metafunc.parametrize(
        "harness_model",
        [pytest.param(m, id=m) for m in state.settings.models],
    )


def item_models(item: pytest.Item) -> tuple[str, ...]:
    """The models a collected @behavior test draws from (two for a comparison)."""
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return ()
    claim = marker.kwargs["claim"]
    if isinstance(claim, ModelComparison):
        return claim.models
    callspec = getattr(item, "callspec", None)
    return (str(callspec.params["harness_model"]),) if callspec is not None else ()


FAMILY_CACHE = "harness/family"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Fix the family: one model's claims in the collected hypothesis files.

    Counted before ``-k``, ``-m`` or ``--lf`` deselect anything, per model, so
    a claim's share of alpha (and so its verdict on the same draws) does not
    depend on the selection, on ``-n`` or on the other models of the run.
    ``--lf`` does not even collect the files without failures; their counts
    come from the last run that collected them (pytest's cache), as the
    failures ``--lf`` reruns do.
    """
    state = config.stash[STATE]
    per_file: dict[str, dict[str, int]] = {}
    for item in items:
        for model in item_models(item):
            counts = per_file.setdefault(str(item.path), {})
            counts[model] = counts.get(model, 0) + 1
    known: dict[str, dict[str, int]] = {}
    cache = getattr(config, "cache", None)
    if cache is not None:
        stored = cache.get(FAMILY_CACHE, {})
        known = {k: v for k, v in stored.items() if isinstance(v, dict)}
        cache.set(FAMILY_CACHE, {**known, **per_file})
    if config.getoption("lf", False):
        roots = [Path(config.rootpath, a.split("::")[0]).resolve() for a in config.args]
        for name, counts in known.items():
            path = Path(name)
            under = any(path == r or r in path.parents for r in roots)
            if name not in per_file and under and path.is_file():
                per_file[name] = counts
    families: dict[str, int] = {}
    for counts in per_file.values():
        for model, count in counts.items():
            if model in state.settings.models:
                families[model] = families.get(model, 0) + count
    state.families = families
