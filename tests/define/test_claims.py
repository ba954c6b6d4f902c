"""Claims own what the runner, planner and baseline need: a partial claim cannot exist."""

from __future__ import annotations

from typing import Literal

import pytest

from harness import claims
from harness.define.claims import ClaimBase, Gate, Share

EVERY_CLAIM = [
    claims.equivalent("treatment", "random", value=0.5, margin=0.2),
    claims.at_least("treatment", "random", value=0.5, margin=0.2),
    claims.at_most("control", "word", value=0.5, margin=0.2),
    claims.not_lower("random", "word", margin=0.2),
    claims.higher("random", "word", margin=0.2),
]


def test_a_claim_without_watched_shares_cannot_be_created() -> None:
    class Unwatched(ClaimBase):
        kind: Literal["unwatched"] = "unwatched"

        def shares(self) -> list[Share]:
            return []

        def gates(self, alpha: float, beta: float) -> list[Gate]:
            return []

        def rule(self) -> str:
            return "nothing"

    with pytest.raises(TypeError, match="watched"):
        Unwatched()  # type: ignore[abstract]


@pytest.mark.parametrize("claim", EVERY_CLAIM, ids=lambda c: c.kind)
def test_every_claim_watches_each_share_it_names(claim: ClaimBase) -> None:
    named = {(s.arm, s.category) for s in claim.shares()}
    watched = {(arm, category) for arm, category, _ in claim.watched()}
    assert watched == named
    assert {d for *_, d in claim.watched()} <= {"down", "up"}
