"""Named reply classifiers and the labelling rule.

A *classifier* is any ``str -> bool`` predicate over a model's reply. The
registry maps names to classifiers so that a hypothesis can say
``{"classifier": "random_letters"}``; a category may equally carry any Python
callable. Users add their own names with the :func:`classifier` decorator from
an ``evals/`` file or a ``conftest.py``::

    @classifier("banana")
    def is_banana(text: str) -> bool:
        return normalize(text).lower() == "banana"

:func:`classify` gives every reply exactly one label: ``"empty"`` for a
blank reply (behavior, not an error), else the first matching category, else
``"refusal"``, else ``"other"``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Sequence

from .normalize import normalize

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
    "get",
    "names",
    "normalize",
    "predicates",
    "qualname",
    "register",
    "resolve",
]

Predicate = Callable[[str], bool]

EMPTY = "empty"
REFUSAL = "refusal"
OTHER = "other"
#: The labels of replies that fit no declared category, in the order they are tried.
OFF_PROTOCOL = (EMPTY, REFUSAL, OTHER)

_REGISTRY: dict[str, Predicate] = {}
_BUILTIN_MODULES = ("protocol", "random_letters", "language")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class UnknownClassifierError(KeyError):
    """A classifier name is not registered; the message lists the known names."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown classifier"


def _load_builtins() -> None:
    """Import the built-in classifier modules, which register themselves."""
    for module in _BUILTIN_MODULES:
        importlib.import_module(f"{__package__}.{module}")


def register(name: str, predicate: Predicate, *, replace: bool = False) -> Predicate:
    """Register ``predicate`` under ``name`` and return it unchanged.

    Registering a different function under a taken name is an error unless
    ``replace`` is true, so two files cannot silently shadow each other;
    re-registering the same function (a module imported twice) is allowed.
    """
    if not _NAME.match(name):
        raise ValueError(f"classifier name {name!r} must be an identifier")
    if not callable(predicate):
        raise TypeError(f"classifier {name!r} must be callable, got {type(predicate).__name__}")
    current = _REGISTRY.get(name)
    if current is not None and not replace and qualname(current) != qualname(predicate):
        raise ValueError(
            f"classifier {name!r} is already registered ({qualname(current)}); "
            "pass replace=True to override it"
        )
    _REGISTRY[name] = predicate
    return predicate


def qualname(obj: object) -> str:
    """``module.qualname`` of a function: how reports, messages and keys name a callable."""
    module = getattr(obj, "__module__", "?")
    return f"{module}.{getattr(obj, '__qualname__', repr(obj))}"


def classifier(name: str, *, replace: bool = False) -> Callable[[Predicate], Predicate]:
    """Decorator registering a ``str -> bool`` function under ``name``."""

    def decorate(func: Predicate) -> Predicate:
        return register(name, func, replace=replace)

    return decorate


def names() -> list[str]:
    """All registered classifier names, sorted (built-ins included)."""
    _load_builtins()
    return sorted(_REGISTRY)


def get(name: str) -> Predicate:
    """The classifier registered as ``name``; a clear error lists the known ones."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownClassifierError(
            f"unknown classifier {name!r}; known classifiers: {known}. "
            "Register one with @classifier(name) or pass a callable."
        ) from None


def describe(spec: str | Predicate) -> str:
    """How a classifier is named in reports: its registered name, else ``module.qualname``."""
    return spec if isinstance(spec, str) else qualname(spec)


def resolve(spec: str | Predicate) -> Predicate:
    """A classifier from a registered name or any callable (returned as is)."""
    if isinstance(spec, str):
        return get(spec)
    if callable(spec):
        return spec
    raise TypeError(f"a classifier is a name or a callable, got {type(spec).__name__}")


# --------------------------------------------------------------------------
# classification
# --------------------------------------------------------------------------


def classify(text: str, categories: Iterable[tuple[str, str | Predicate]]) -> str:
    """Label ``text``: ``"empty"`` if blank, else the first matching category, refusal or other.

    A blank reply is always ``"empty"`` (behavior of its own, off-protocol,
    whatever the categories accept). Categories are tried in order, so the
    caller decides precedence; each classifier is a registered name or a
    callable. The refusal check comes after them, so a reply that a caller's
    category accepts keeps that label even if it has refusal-like wording.
    """
    if not text.strip():
        return EMPTY
    for name, spec in categories:
        if resolve(spec)(text):
            return name
    if get(REFUSAL)(text):
        return REFUSAL
    return OTHER


def predicates(specs: Sequence[tuple[str, str | Predicate]]) -> list[tuple[str, Predicate]]:
    """Resolve every classifier of a category list once (names checked early)."""
    return [(name, resolve(spec)) for name, spec in specs]
