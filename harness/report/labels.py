"""Labels: the one way to name a test row and its headline share, on the terminal and the page.

Costs are written with :func:`harness.results.costs.cost_label` ("unpriced"
for a model with no price), which the budget's messages use too.
"""

from __future__ import annotations

from harness.results.records import Outcome


def node_name(nodeid: str, params: bool = True) -> str:
    """A test's name from its pytest node id, with or without its parameters.

    >>> node_name("evals/test_z.py::test_no_avoidance[original-sim/avoidant]")
    'test_no_avoidance[original-sim/avoidant]'
    >>> node_name("evals/test_z.py::test_no_avoidance[original-sim/avoidant]", params=False)
    'test_no_avoidance'
    """
    name = nodeid.split("::")[-1]
    return name if params else name.split("[")[0]


def row_label(outcome: Outcome) -> str:
    """``test_name[variant]``: the row of a decided test in the terminal table and the page."""
    test = node_name(outcome.test, params=False) if outcome.test else outcome.hypothesis
    return f"{test}[{outcome.variant}]"


def headline_share(outcome: Outcome) -> str:
    """``category=0.42``: the claim's first share in its arm ('' before any compliant draw)."""
    shares = outcome.claim.shares()
    if not shares:
        return ""
    target = shares[0]
    for arm in outcome.arms:
        if arm.arm == target.arm and arm.compliant:
            return f"{target.category}={arm.shares[target.category]:.2f}"
    return ""
