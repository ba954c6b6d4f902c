"""local/gemma3-270m: a base model assembled once from chunk packages into the user cache."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest
from inspect_ai.model import GenerateConfig, get_model

from harness.models.gguf import EMBEDDED, assembled, resolve_gguf


def test_assembly_happens_once_and_lands_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calls: list[Path] = []

    def assemble(output_path: Path, overwrite: bool = False) -> Path:
        calls.append(Path(output_path))
        Path(output_path).write_bytes(b"GGUF")
        return Path(output_path)

    module = SimpleNamespace(MODEL_NAME="tiny.gguf", assemble=assemble)
    first = assembled(module)
    assert first == tmp_path / "behavior-harness" / "tiny.gguf"
    assert first.read_bytes() == b"GGUF"
    assert calls and calls[0] != first  # written beside the target, then renamed into place
    assert assembled(module) == first and len(calls) == 1
    assert not list(first.parent.glob("*.part"))


def test_a_missing_model_package_names_the_pip_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(EMBEDDED, "nothing-here", ("no_such_model_package_x", ""))
    with pytest.raises(ValueError, match="pip install no-such-model-package-x"):
        resolve_gguf("nothing-here")


@pytest.mark.subprocess
def test_the_base_model_resolves_and_answers() -> None:
    path = resolve_gguf("gemma3-270m")
    assert path.name == "gemma-3-270m-q4_k_m.gguf" and path.stat().st_size > 200_000_000
    assert resolve_gguf("gemma3-270m") == path

    async def run() -> list[str]:
        model = get_model("local/gemma3-270m")
        config = GenerateConfig(seed=1, max_tokens=8, temperature=1.0)
        outs = await asyncio.gather(
            *(model.generate("The sea is", config=config, cache=False) for _ in range(2))
        )
        return [o.completion for o in outs]

    replies = asyncio.run(run())
    assert len(replies) == 2 and all(isinstance(r, str) for r in replies)
