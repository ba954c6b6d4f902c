"""A damaged draw-cache file is repaired on first read: bad lines dropped, one warning."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.results.records import Draw
from harness.run.cache import CacheRepairWarning, DrawStore
from tests.conftest import evals_project


def _draw(index: int, text: str = "1") -> Draw:
    return Draw(index=index, seed=1000 + index, text=text, input_tokens=3, output_tokens=1)


def _damaged(tmp_path: Path) -> Path:
    store = DrawStore(tmp_path)
    for i in range(5):
        store.put("k", _draw(i), {"model": "m"})
    path = tmp_path / "k.jsonl"
    lines = path.read_bytes().split(b"\n")[:-1]  # header, draws 0-4
    lines[2] = b'{"index": 1, "seed": 10'  # cut short
    lines[3] = b"\xff\xfe garbled \x00 bytes"  # not UTF-8
    lines.insert(4, b'{"not": "a draw"}')
    path.write_bytes(b"\n".join(lines) + b'\n{"index": 5, "se')  # and a torn last line
    return path


def test_bad_lines_are_dropped_the_file_rewritten_and_one_warning_given(tmp_path: Path) -> None:
    path = _damaged(tmp_path)
    with pytest.warns(CacheRepairWarning) as caught:
        store = DrawStore(tmp_path)
        assert store.get("k", 0) is not None
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message == (
        f"draw cache {path}: 4 damaged lines dropped, the file rewritten without them; "
        "4 draws will be drawn again"
    )
    assert [store.get("k", i) is not None for i in range(6)] == [
        True,
        False,
        False,
        True,
        True,
        False,
    ]
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert "header" in rows[0] and [r["index"] for r in rows[1:]] == [0, 3, 4]
    assert path.read_bytes().endswith(b"\n")
    store.put("k", _draw(1, "zero"), {"model": "m"})  # the redrawn one lands on its own line
    again = DrawStore(tmp_path)
    found = again.get("k", 1)
    assert found is not None and found.text == "zero" and found.cached
    assert not list(tmp_path.glob(".*repair"))


def test_a_clean_file_is_left_alone(tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    store = DrawStore(tmp_path)
    for i in range(3):
        store.put("k", _draw(i), {"model": "m"})
    before = (tmp_path / "k.jsonl").stat().st_mtime_ns
    assert DrawStore(tmp_path).get("k", 2) is not None
    assert (tmp_path / "k.jsonl").stat().st_mtime_ns == before
    assert not [w for w in recwarn if issubclass(w.category, CacheRepairWarning)]


def test_refresh_repairs_too_but_reads_nothing(tmp_path: Path) -> None:
    _damaged(tmp_path)
    with pytest.warns(CacheRepairWarning, match="4 draws will be drawn again"):
        assert DrawStore(tmp_path, refresh=True).get("k", 0) is None


def test_a_run_on_a_damaged_cache_redraws_only_the_lost_draws(pytester: pytest.Pytester) -> None:
    evals_project(pytester.path)
    args = ("evals/", "-p", "no:cacheprovider", "-k", "original and share_is_half")
    args += ("--model", "sim/indifferent", "--cache-dir", "draws", "--report-dir", "reports")
    first = pytester.runpytest_inprocess(*args)
    assert first.ret == 0
    files = sorted((pytester.path / "draws").glob("*.jsonl"))
    assert len(files) == 1
    lines = files[0].read_bytes().split(b"\n")
    drawn = len(lines) - 2  # header and the final newline
    lines[3] = lines[3][:20]
    lines[5] = b"garbage"
    files[0].write_bytes(b"\n".join(lines))
    second = pytester.runpytest_inprocess(*args)
    out = "\n".join(second.outlines)
    assert second.ret == 0, out
    assert out.count("CacheRepairWarning") == 1, out
    assert "2 damaged lines dropped" in out and "2 draws will be drawn again" in out
    assert re.search(rf"cache hits {drawn - 2} / misses 2\b", out), out
