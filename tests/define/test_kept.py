"""Classifier data kept between runs: built once per machine, rebuilt when damaged."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.define.classifiers import kept as kept_module
from harness.define.classifiers.kept import kept


def test_data_is_built_once_then_loaded_and_rebuilt_when_damaged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    builds: list[int] = []

    def build() -> dict[str, list[str]]:
        builds.append(1)
        return {"cat": ["K AE1 T"]}

    assert kept("table", 1, ("pytest",), build) == {"cat": ["K AE1 T"]}
    assert kept("table", 1, ("pytest",), build) == {"cat": ["K AE1 T"]}
    assert len(builds) == 1
    (file,) = (tmp_path / "behavior-harness" / "data").glob("table-1-*.pickle")
    file.write_bytes(b"not a pickle")
    assert kept("table", 1, ("pytest",), build) == {"cat": ["K AE1 T"]}
    assert len(builds) == 2  # damaged: built again and replaced
    assert kept("table", 2, ("pytest",), build) == {"cat": ["K AE1 T"]}
    assert len(builds) == 3  # a new layout is another file


def test_an_unwritable_cache_only_costs_the_build(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setattr(kept_module, "cache_home", lambda: blocked / "sub")
    assert kept("table", 1, (), lambda: [1, 2]) == [1, 2]


def test_rhymes_read_from_the_kept_pronunciations() -> None:
    from harness.define.classifiers.rhyme import words_rhyme

    assert words_rhyme("night", "light") and words_rhyme("sky", "lullaby")
    assert not words_rhyme("night", "table")
