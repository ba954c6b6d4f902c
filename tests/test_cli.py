"""The ``harness`` command: render, compare and export finished runs without drawing again.

Two real runs of simulated models are published: one where ``sim/indifferent``
follows the protocol, one where it chatters 90% of the time (its tests end
NONCOMPLIANT). The commands run in-process through :func:`harness.cli.main`,
and once through the installed console script.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.report.publish import publish
from harness.results.run import RunResults
from tests.report.test_report import build_run

MODELS = ["sim/indifferent", "sim/avoidant"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """results.json of a compliant run and of a later one in which the model chatters."""
    base = tmp_path_factory.mktemp("reports")
    before = build_run(MODELS, run_id="20240101-000000")
    after = build_run(MODELS, {"sim/indifferent": {"chatter": 0.9}}, run_id="20240102-000000")
    return publish(before, base).results, publish(after, base).results


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_compare_names_verdicts_and_shares_that_moved_and_fails_on_a_regression(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = runs
    code, out, _ = _run(["compare", str(before), str(after)], capsys)
    assert code == 1, out
    assert out.startswith("verdicts: 20240101-000000 -> 20240102-000000")
    assert "test_no_avoidance[original] sim/indifferent: PASS random=" in out
    assert "-> NONCOMPLIANT random=n/a  REGRESSED" in out
    assert "sim/avoidant" not in out.split("headline shares")[0]  # its verdicts did not move
    assert "REGRESSED (" in out  # the tested moves, as a baseline check would list them
    assert "sim/indifferent treatment: compliance (on-protocol share of all replies) fell" in out

    code, out, _ = _run(["compare", str(after), str(before)], capsys)
    assert code == 0, out  # getting better is not a regression
    assert "NONCOMPLIANT random=n/a -> PASS random=" in out
    code, out, _ = _run(["compare", str(before), str(before)], capsys)
    assert code == 0 and "no verdict changed" in out and "no regression beyond the margin" in out


def test_export_writes_one_row_per_distinct_draw_as_csv_and_jsonl(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    before, _ = runs
    results = RunResults.model_validate_json(before.read_text(encoding="utf-8"))
    distinct = {
        (o.model, a.arm, d.seed, d.index) for o in results.outcomes for a in o.arms for d in a.draws
    }
    code, out, _ = _run(["export", str(before), "--format", "csv"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(distinct)
    assert list(rows[0]) == [
        "run_id",
        "hypothesis",
        "variant",
        "model",
        "simulated",
        "arm",
        "draw",
        "seed",
        "category",
        "on_protocol",
        "error",
        "text",
        "input_tokens",
        "output_tokens",
        "cached",
        "tests",
    ]
    treatment = [r for r in rows if r["arm"] == "treatment" and r["model"] == "sim/avoidant"]
    both = min(o.draws_per_arm for o in results.outcomes if o.model == "sim/avoidant")
    shared = [r for r in treatment if int(r["draw"]) < both]
    assert shared and all(len(r["tests"].split(";")) == 2 for r in shared)  # both claims
    assert {r["model"] for r in rows} == set(MODELS)

    pandas = pytest.importorskip("pandas")
    frame = pandas.read_csv(io.StringIO(out))
    assert len(frame) == len(distinct) and set(frame["arm"]) == {"control", "treatment"}

    target = tmp_path / "out" / "draws.jsonl"
    code, _, err = _run(["export", str(before), "--format", "jsonl", "--out", str(target)], capsys)
    assert code == 0 and f"wrote {len(distinct)} draws to {target}" in err
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(distinct)
    assert {(x["model"], x["arm"], x["seed"], x["draw"]) for x in lines} == distinct
    assert all(isinstance(x["on_protocol"], bool) for x in lines)


def test_render_rebuilds_the_page_with_the_trend_and_the_baseline_check(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, after = runs
    code, out, _ = _run(["render", str(after), "--out", str(tmp_path)], capsys)
    assert code == 0 and out.strip() == f"wrote {tmp_path / 'index.html'}"
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'id="trend"' in html
    assert html.count("<svg") == len(RunResults.model_validate_json(after.read_text()).outcomes)


def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["render", str(tmp_path / "none.json")], capsys)
    assert code == 2
    assert (
        err.strip()
        == f"harness render: {tmp_path / 'none.json'}: cannot be read: No such file or directory"
    )
    other = tmp_path / "other.json"
    other.write_text('{"format": 2, "rows": []}')
    code, _, err = _run(["export", str(other)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"harness export: {other}: not a harness results.json" in err
    with pytest.raises(SystemExit) as exit_:
        main(["export", str(other), "--format", "xlsx"])
    assert exit_.value.code == 2


def test_the_console_script_is_installed(runs: tuple[Path, Path]) -> None:
    script = Path(sys.executable).parent / "harness"
    if not script.exists():
        pytest.skip("the console script is installed by `pip install -e .` (scripts/setup.sh)")
    done = subprocess.run(
        [str(script), "compare", str(runs[0]), str(runs[0])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "no verdict changed" in done.stdout
    helped = subprocess.run([str(script), "export", "--help"], capture_output=True, text=True)
    assert "(default: csv)" in helped.stdout
