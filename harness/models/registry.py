"""inspect-ai provider registry for the harness's own models.

Exposed through the ``inspect_ai`` entry-point group in ``pyproject.toml`` so
that ``get_model("local/...")``, ``get_model("sim/...")`` and
``get_model("script/...")`` work anywhere inspect-ai does (including
``inspect eval``). Imports are deferred so that listing providers stays cheap.
"""

from __future__ import annotations

from inspect_ai.model import ModelAPI, modelapi


@modelapi(name="local")
def local() -> type[ModelAPI]:
    """In-process GGUF models through llama.cpp."""
    from harness.models.local import LocalLlamaAPI

    return LocalLlamaAPI


@modelapi(name="sim")
def sim() -> type[ModelAPI]:
    """Simulated models with a known answer distribution."""
    from harness.models.sim import SimAPI

    return SimAPI


@modelapi(name="script")
def script() -> type[ModelAPI]:
    """Scripted models answering from given replies (per arm, with weights)."""
    from harness.models.script import ScriptAPI

    return ScriptAPI
