"""Collection: hypothesis modules, one test per (variant, model), and the claim family's size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from harness.define.behavior import MARKER
from harness.define.pair import HypothesisError, describe_errors
from harness.plugin.state import STATE


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
    metafunc.parametrize(
        "harness_model",
        [pytest.param(m, id=m) for m in state.settings.models],
    )


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
    per_file: dict[str, int] = {}
    models = max(1, len(state.settings.models))
    for item in items:
        if item.get_closest_marker(MARKER) is not None:
            key = str(item.path)
            per_file[key] = per_file.get(key, 0) + 1
    per_file = {k: v // models for k, v in per_file.items()}
    known: dict[str, int] = {}
    cache = getattr(config, "cache", None)
    if cache is not None:
        known = dict(cache.get(FAMILY_CACHE, {}))
        cache.set(FAMILY_CACHE, {**known, **per_file})
    if config.getoption("lf", False):
        roots = [Path(config.rootpath, a.split("::")[0]).resolve() for a in config.args]
        for name, count in known.items():
            path = Path(name)
            under = any(path == r or r in path.parents for r in roots)
            if name not in per_file and under and path.is_file():
                per_file[name] = count
    state.family_size = sum(per_file.values())
