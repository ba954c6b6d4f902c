"""Gates: the means a claim monitors, with their allowed and forbidden regions.

A claim (``harness.define.claims``) is reduced to gates. Each gate watches one
mean, built from the labelled draws by :func:`observations`:

* ``share``: among the on-protocol draws of one arm, the indicator of one
  category (the share of that category among compliant replies);
* ``difference``: the k-th on-protocol draw of the treatment arm paired with
  the k-th of the control arm, treatment indicator minus control indicator
  (its mean is the difference of the two shares, whatever the control share);
* ``off_protocol``: the k-th valid draw of each arm, treatment off-protocol
  indicator minus control's (its mean is the off-protocol gap: avoidance by
  refusal or chatter shows here);
* ``compliance`` (used by the evaluator, not by claims): the on-protocol
  indicator among one arm's valid draws.

Labels arrive as integer codes per arm: ``0..K-1`` the arm's declared
categories in order, :data:`OFF` for off-protocol replies (refusal, other,
empty), :data:`ERROR` for draws lost to transport errors (left out of every
mean). Every builder works on (runs, n) arrays, so the evaluator (one run) and
the calibration (thousands of simulated runs) share one code path.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from harness.stats.sequential import GateTests

OFF = -1
ERROR = -2
Codes = npt.NDArray[np.int_]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int_]
GateKind = Literal["share", "difference", "off_protocol", "compliance"]

#: Planned E[x^2] of the non-binary gates, at a control share of 0.5 (the
#: worst case): a difference of two fair coins has E[x^2] = 0.5.
PLANNED_SECOND_MOMENT = 0.5


class Gate(BaseModel):
    """One monitored mean: what is observed, and where it is allowed or forbidden."""

    model_config = ConfigDict(frozen=True)

    kind: GateKind
    arm: str
    category: int | None = None
    control_arm: str | None = None
    control_category: int | None = None
    allowed: float
    forbidden: float
    label: str = ""

    @property
    def binary(self) -> bool:
        return self.kind in ("share", "compliance")

    def tests(self, alpha: float, beta: float, *, pooled: bool = False) -> GateTests:
        """The gate's FAIL test at ``alpha`` and PASS test at ``beta``.

        ``pooled`` observations are averages over paraphrases, so not 0/1.
        """
        two_sided = self.kind in ("difference", "off_protocol")
        return GateTests(
            allowed=self.allowed,
            forbidden=self.forbidden,
            alpha=alpha,
            beta=beta,
            lo=-1.0 if two_sided else 0.0,
            hi=1.0,
            binary=self.binary and not pooled,
            second_moment=None if (self.binary and not pooled) else self._second_moment(),
        )

    def _second_moment(self) -> float:
        if self.kind in ("difference", "off_protocol"):
            return PLANNED_SECOND_MOMENT
        t = self.allowed
        return t * t + t * (1.0 - t)


def _ranked(mask: npt.NDArray[np.bool_]) -> tuple[Ints, Ints]:
    """Positions of the True entries of each row, first-come first, and their counts."""
    order = np.argsort(~mask, axis=1, kind="stable")
    return order.astype(np.int_), mask.sum(axis=1).astype(np.int_)


def _one_arm(hit: npt.NDArray[np.bool_], keep: npt.NDArray[np.bool_]) -> tuple[Floats, Ints, Ints]:
    order, count = _ranked(keep)
    x = np.take_along_axis(hit, order, axis=1).astype(float)
    return x, order + 1, count


def _paired(
    t_val: npt.NDArray[np.bool_],
    t_keep: npt.NDArray[np.bool_],
    c_val: npt.NDArray[np.bool_],
    c_keep: npt.NDArray[np.bool_],
) -> tuple[Floats, Ints, Ints]:
    t_order, t_count = _ranked(t_keep)
    c_order, c_count = _ranked(c_keep)
    x = np.take_along_axis(t_val, t_order, axis=1).astype(float) - np.take_along_axis(
        c_val, c_order, axis=1
    ).astype(float)
    at = np.maximum(t_order, c_order) + 1
    return x, at, np.minimum(t_count, c_count)


def observations(gate: Gate, codes: dict[str, Codes]) -> tuple[Floats, Ints, Ints]:
    """The gate's observations per row, the draw (1-based) at which each arrived, and counts.

    Entries past a row's count are padding.
    """
    t = codes[gate.arm]
    valid_t = t != ERROR
    if gate.kind == "compliance":
        return _one_arm(t >= 0, valid_t)
    if gate.kind == "share":
        return _one_arm(t == gate.category, t >= 0)
    if gate.control_arm is None:
        raise ValueError(f"{gate.kind} gate needs a control arm")
    c = codes[gate.control_arm]
    if gate.kind == "difference":
        return _paired(t == gate.category, t >= 0, c == gate.control_category, c >= 0)
    return _paired(t == OFF, valid_t, c == OFF, c != ERROR)


def pooled_observations(
    gate: Gate, per_variant: list[dict[str, Codes]]
) -> tuple[Floats, Ints, Ints]:
    """Round-robin averages over paraphrases: round r averages each paraphrase's r-th observation.

    The mean of a round is the average over the listed paraphrases of the
    gate's mean, whatever the spread between them, so the paraphrases are
    fixed effects and rounds are i.i.d.
    """
    if len(per_variant) == 1:
        return observations(gate, per_variant[0])
    parts = [observations(gate, codes) for codes in per_variant]
    x = np.mean(np.stack([p[0] for p in parts]), axis=0)
    at = np.max(np.stack([p[1] for p in parts]), axis=0)
    count = np.min(np.stack([p[2] for p in parts]), axis=0)
    return x, at, count
