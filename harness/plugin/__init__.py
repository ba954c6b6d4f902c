"""The pytest plugin: registers the harness's hooks and fixtures, each defined by role.

Enabled by the root ``conftest.py`` (``pytest_plugins = ["harness.plugin"]``).
Options and configuration are :mod:`~harness.plugin.options`; collection is
:mod:`~harness.plugin.collection`; xdist scheduling and the ``-n`` check are
:mod:`~harness.plugin.xdist`; evaluating a test is
:mod:`~harness.plugin.evaluation` (every process that runs tests); gathering,
publishing and the baseline check are the controller's
:mod:`~harness.plugin.collector`, registered at configure time.

Importing the plugin loads no model or report library (inspect-ai, statsmodels,
matplotlib, jinja2): each loads where it is first used, so ``pytest --co`` loads
none of them (scipy.stats it does load, for the intervals), and xdist workers never
load the report stack. A
run that will write a report starts a helper process at configure time that
imports inspect-ai for the logs meanwhile (:mod:`harness.report.log_writer`).
"""

from harness.plugin.collection import (
    pytest_collection_modifyitems,
    pytest_generate_tests,
    pytest_pycollect_makemodule,
)
from harness.plugin.evaluation import (
    harness_model,
    harness_variant,
    outcome,
    pytest_pyfunc_call,
    pytest_report_from_serializable,
    pytest_report_to_serializable,
    pytest_runtest_makereport,
)
from harness.plugin.options import pytest_addoption, pytest_configure, pytest_unconfigure
from harness.plugin.xdist import (
    pytest_configure_node,
    pytest_sessionstart,
    pytest_xdist_make_scheduler,
)

__all__ = [
    "harness_model",
    "harness_variant",
    "outcome",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_configure_node",
    "pytest_generate_tests",
    "pytest_pycollect_makemodule",
    "pytest_pyfunc_call",
    "pytest_report_from_serializable",
    "pytest_report_to_serializable",
    "pytest_runtest_makereport",
    "pytest_sessionstart",
    "pytest_unconfigure",
    "pytest_xdist_make_scheduler",
]
