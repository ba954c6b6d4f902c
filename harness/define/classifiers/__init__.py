"""Reply classifiers: a registry of named ``str -> bool`` predicates.

Built-ins: ``one``, ``one_word``, ``zero_word``, ``digit_zero`` (the 1/0
protocol), ``random_letters``, ``random_digits``, ``refusal``, ``real_word``,
``non_word``, ``rhymes`` and ``non_rhyming``. Word lists and the pronouncing dictionary are
loaded lazily, on a classifier's first use, so importing this is cheap.
The protocol classifiers test the reply's bare answer, :func:`extract.answer`.

A category may name a registered classifier or carry any callable; add a name
with the :func:`classifier` decorator (``from harness import classifier``)::

    @classifier("banana")
    def is_banana(text: str) -> bool:
        return normalize(text).lower() == "banana"

:func:`classify` labels a reply: ``"empty"`` when blank, else the first
matching category, else ``"refusal"`` or ``"other"`` (:data:`OFF_PROTOCOL`).
Precision and recall of every built-in, measured on labelled replies, are in
``docs/classifiers.md``.
"""

from __future__ import annotations

from . import extract, language, protocol, random_letters
from .normalize import normalize
from .registry import (
    EMPTY,
    OFF_PROTOCOL,
    OTHER,
    REFUSAL,
    Predicate,
    UnknownClassifierError,
    classifier,
    classify,
    describe,
    get,
    names,
    predicates,
    qualname,
    register,
    resolve,
)

__all__ = [
    "EMPTY",
    "OFF_PROTOCOL",
    "OTHER",
    "REFUSAL",
    "Predicate",
    "UnknownClassifierError",
    "classifier",
    "classify",
    "describe",
    "extract",
    "get",
    "language",
    "names",
    "normalize",
    "predicates",
    "protocol",
    "qualname",
    "random_letters",
    "register",
    "resolve",
]
