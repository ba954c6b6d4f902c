"""Gate decisions: the one decision type, the one rule that combines them, the alpha split.

A gate (one sequential test of a claim) is PASS, FAIL or still UNDECIDED. A
claim FAILS as soon as any of its gates fails and PASSES once every gate has
passed; :func:`combine` is that rule, for one claim or for arrays of simulated
runs alike. The values are integers so that vectorized code can hold them in
numpy arrays.

>>> combine([Decision.PASS, Decision.UNDECIDED])
<Decision.UNDECIDED: 0>
>>> combine([Decision.PASS, Decision.FAIL])
<Decision.FAIL: 1>
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import overload

import numpy as np
import numpy.typing as npt

Codes = npt.NDArray[np.int_]


class Decision(IntEnum):
    """The state of a gate or a claim: FAIL, PASS or UNDECIDED (keep sampling)."""

    FAIL = 1
    PASS = -1
    UNDECIDED = 0

    @property
    def word(self) -> str:
        """``pass``, ``fail`` or ``undecided``."""
        return self.name.lower()


@overload
def combine(decisions: Sequence[Decision]) -> Decision: ...


@overload
def combine(decisions: Sequence[Codes]) -> Codes: ...


def combine(decisions: Sequence[Decision] | Sequence[Codes]) -> Decision | Codes:
    """Any FAIL fails; all PASS passes; otherwise UNDECIDED.

    Given gate decisions, returns the claim's decision; given one array of
    decision codes per gate (one entry per simulated run), returns the claim's
    code per run.
    """
    stacked = np.asarray(decisions, dtype=np.int_)
    combined = np.where(
        (stacked == Decision.FAIL).any(axis=0),
        Decision.FAIL,
        np.where((stacked == Decision.PASS).all(axis=0), Decision.PASS, Decision.UNDECIDED),
    ).astype(np.int_)
    if combined.ndim == 0:
        return Decision(int(combined))
    return combined


def gate_alpha(alpha: float, family_size: int) -> float:
    """Bonferroni share of the run's alpha for one claim (known at collection)."""
    return alpha / max(1, family_size)
