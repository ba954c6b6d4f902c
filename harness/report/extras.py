"""pytest-html extras: the chart, counts and examples of a test in its pytest-html row.

Does nothing unless pytest-html is installed and its report was asked for
(``--html PATH``): pytest-html registers itself whenever it is installed, and
a chart nobody will see is not worth drawing. The plugin calls
:func:`add_html_extras` from its ``pytest_runtest_makereport`` hook.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.results.records import Outcome


def add_html_extras(config: pytest.Config, report: pytest.TestReport, outcome: Outcome) -> None:
    """Append an HTML extra with the test's chart and examples, if a pytest-html report is due."""
    if not config.pluginmanager.hasplugin("html") or not _html_requested(config):
        return
    try:
        from pytest_html import extras
    except ImportError:  # a different plugin registered under the name "html"
        return
    from harness.report.html import fragment  # jinja2 and matplotlib only when needed

    found: list[Any] = list(getattr(report, "extras", []))
    found.append(extras.html(fragment(outcome)))
    report.extras = found  # type: ignore[attr-defined]


def _html_requested(config: pytest.Config) -> bool:
    """Whether this run writes a pytest-html report (``--html PATH``)."""
    try:
        return bool(config.getoption("htmlpath"))
    except ValueError:  # no such option: not pytest-html's
        return False
