"""Charts: each test's category shares for the HTML page, drawn by matplotlib as inline SVG.

One chart per decided test: the share of each category among the compliant
responses of each arm, as bars with their 95% Jeffreys intervals. Text
is drawn as paths (no fonts needed to view it) and each chart gets its own
``svg.hashsalt`` so that element ids of several inline SVGs never collide.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from harness.results.records import Outcome

ARM_COLORS = {"control": "#4c72b0", "treatment": "#dd8452"}


def share_chart(outcome: Outcome, chart_id: str) -> str:
    """SVG markup of the category shares per arm of ``outcome``, with intervals."""
    categories: list[str] = []
    for arm in outcome.arms:
        categories.extend(c for c in arm.categories if c not in categories)
    targets = {(s.arm, s.category) for s in outcome.claim.shares()}
    with plt.rc_context(
        {"svg.fonttype": "path", "svg.hashsalt": chart_id, "font.size": 9, "axes.titlesize": 9}
    ):
        fig, ax = plt.subplots(figsize=(1.1 + 0.9 * len(categories) * len(outcome.arms), 2.6))
        try:
            width = 0.8 / max(1, len(outcome.arms))
            for i, arm in enumerate(outcome.arms):
                xs, ys, lows, highs, edges = [], [], [], [], []
                for j, name in enumerate(categories):
                    if name not in arm.categories:
                        continue
                    share = arm.shares[name]
                    low, high = arm.intervals[name]
                    xs.append(j - 0.4 + width * (i + 0.5))
                    ys.append(share)
                    lows.append(max(0.0, share - low))
                    highs.append(max(0.0, high - share))
                    edges.append("black" if (arm.arm, name) in targets else "none")
                ax.bar(
                    xs,
                    ys,
                    width * 0.9,
                    yerr=[lows, highs],
                    capsize=3,
                    color=ARM_COLORS.get(arm.arm, "#888888"),
                    edgecolor=edges,
                    linewidth=1.2,
                    label=f"{arm.arm} (n={arm.compliant})",
                    error_kw={"elinewidth": 1, "ecolor": "#333333"},
                )
            ax.set_xticks(range(len(categories)), categories)
            ax.set_ylim(0, 1)
            ax.set_ylabel("share of compliant")
            ax.grid(axis="y", alpha=0.3)
            ax.spines[["top", "right"]].set_visible(False)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
            fig.tight_layout()
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        finally:
            plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]
