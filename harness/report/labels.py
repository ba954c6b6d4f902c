"""Labels: the one way to name a test row and its headline share, on the terminal and the page.

Costs are written with :func:`harness.results.costs.cost_label` ("unpriced"
for a model with no price), which the budget's messages use too.
"""

from __future__ import annotations

from harness.results.records import Outcome

#: The fewest on-protocol replies a headline share is given from (else "n/a").
MIN_REPLIES = 10
POOLED_PREFIX = "averaged over paraphrases "


def node_name(nodeid: str, params: bool = True) -> str:
    """A test's name from its pytest node id, with or without its parameters.

    >>> node_name("evals/test_z.py::test_no_avoidance[original-sim/avoidant]")
    'test_no_avoidance[original-sim/avoidant]'
    >>> node_name("evals/test_z.py::test_no_avoidance[original-sim/avoidant]", params=False)
    'test_no_avoidance'
    """
    name = nodeid.split("::")[-1]
    return name if params else name.split("[")[0]


def model_of(nodeid: str, models: tuple[str, ...] | list[str]) -> str | None:
    """The model a test runs on, from its node id (``test[variant-model]``), else None.

    >>> model_of("evals/t.py::test_x[original-sim/avoidant]", ("sim/avoidant", "sim/x"))
    'sim/avoidant'
    """
    for model in models:
        if nodeid.endswith((f"-{model}]", f"[{model}]")):
            return model
    return None


def variant_of(nodeid: str, model: str) -> str:
    """The variant parameter of a test's node id, given its model ('' if it has none).

    >>> variant_of("evals/t.py::test_x[original-sim/avoidant]", "sim/avoidant")
    'original'
    """
    params = nodeid.split("::")[-1].partition("[")[2]
    return params.removesuffix("]").removesuffix(model).removesuffix("-")


def row_label(outcome: Outcome) -> str:
    """``test_name[variant]``: the row of a decided test in the terminal table and the page."""
    test = node_name(outcome.test, params=False) if outcome.test else outcome.hypothesis
    return f"{test}[{outcome.variant}]"


def headline_share(outcome: Outcome) -> str:
    """``category=0.42``: the claim's first share in its arm, or ``category=n/a``.

    No share is given from fewer than :data:`MIN_REPLIES` on-protocol replies
    (one usable reply of eight would read ``1.00``); '' for a claim without shares.
    """
    shares = outcome.claim.shares()
    if not shares:
        return ""
    target = shares[0]
    for arm in outcome.arms:
        if arm.arm == target.arm and arm.compliant >= MIN_REPLIES:
            return f"{target.category}={arm.shares[target.category]:.2f}"
    return f"{target.category}=n/a"


def share_text(k: int, n: int) -> str:
    """``41.7%``, or ``n/a`` for a share of nothing.

    >>> share_text(5, 12), share_text(0, 0)
    ('41.7%', 'n/a')
    """
    return f"{100 * k / n:.1f}%" if n else "n/a"


def variant_names(outcome: Outcome) -> list[str]:
    """The paraphrases a pooled outcome was drawn from, in draw order ([variant] otherwise)."""
    if outcome.variant == "pooled" and outcome.rule.startswith(POOLED_PREFIX):
        return outcome.rule.removeprefix(POOLED_PREFIX).split(": ", 1)[0].split(", ")
    return [outcome.variant]


def draw_variant(outcome: Outcome, position: int, names: list[str]) -> str:
    """The variant of the draw at ``position`` in an arm's list (pooled: in turn per paraphrase)."""
    if len(names) < 2 or outcome.draws_per_arm <= 0:
        return names[0]
    index = position // outcome.draws_per_arm
    return names[index] if index < len(names) else f"paraphrase {index + 1}"
