"""Decisions: the one type for the state of a test, a gate or a claim, and the alpha split.

A gate's tests leave it PASS, FAIL or still UNDECIDED; a claim can also end
NONCOMPLIANT (every arm it reads was shown off-protocol). How gates combine
into a claim (any FAIL fails, all PASS passes, in draw order) is
:func:`harness.stats.walk.walk_claim`. The values are integers so that
vectorized walks hold them in numpy arrays.

>>> Decision(1).word
'fail'
"""

from __future__ import annotations

from enum import IntEnum


class Decision(IntEnum):
    """FAIL, PASS, UNDECIDED (keep sampling) or, for a claim, NONCOMPLIANT."""

    FAIL = 1
    PASS = -1
    UNDECIDED = 0
    NONCOMPLIANT = 2

    @property
    def word(self) -> str:
        """``pass``, ``fail``, ``undecided`` or ``noncompliant``."""
        return self.name.lower()


def claim_alpha(alpha: float, family_size: int) -> float:
    """Bonferroni share of the run's alpha for one claim of a family of ``family_size``."""
    return alpha / max(1, family_size)
