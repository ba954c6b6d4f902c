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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = config.stash[STATE]
    state.family_size = sum(1 for item in items if item.get_closest_marker(MARKER) is not None)


def pytest_deselected(items: list[pytest.Item]) -> None:
    if not items:
        return
    state = items[0].config.stash[STATE]
    gone = sum(1 for item in items if item.get_closest_marker(MARKER) is not None)
    state.family_size = max(0, state.family_size - gone)
