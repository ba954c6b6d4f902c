"""The ``harness`` command: work with finished runs, without drawing again.

::

    harness render reports/latest/results.json [--out DIR]      # the HTML page again
    harness compare OLD/results.json NEW/results.json           # verdicts and shares that moved
    harness export reports/latest/results.json --format csv     # one row per draw, for pandas or R

``render`` rebuilds ``index.html`` from a results file (the trend from the runs
beside it, the baseline check if the run made one). ``compare`` prints every
test whose verdict changed and the shares, compliance and off-protocol gaps
that moved, tested as the baseline check tests them (one-sided score tests,
Holm-adjusted); it exits 1 when a verdict regressed (a PASS lost, or a new
FAIL). ``export`` writes one row per distinct draw (a draw shared by several
tests appears once, with the tests that used it).

Exit codes: 0 done, 1 a verdict regressed (``compare``), 2 bad input (a
missing or unreadable file, a bad option).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from harness.results.run import RunResults

EXPORT_FIELDS = (
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
)
#: Verdict changes that fail ``harness compare``: a PASS lost, or a FAIL gained.
GOOD = "PASS"
BAD = "FAIL"


class InputError(Exception):
    """Bad input: the message is the one line to print."""


def load(path: Path) -> RunResults:
    """The run in a results.json, or :class:`InputError` naming the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        return RunResults.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise InputError(
            f"{path}: not a harness results.json ({exc.error_count()} problems; first: "
            f"{where}: {first['msg']})"
        ) from None


# -- render -----------------------------------------------------------------------------------


def render(results_path: Path, out: Path | None) -> Path:
    """Write ``index.html`` for ``results_path`` into ``out`` (default: beside it)."""
    from harness.report.html import write_html
    from harness.report.trend import earlier_runs

    results = load(results_path)
    run_dir = results_path.resolve().parent
    trend = earlier_runs(run_dir.parent, before=run_dir.name)
    target = (out or run_dir) / "index.html"
    write_html(results, target, trend)
    return target


# -- compare ----------------------------------------------------------------------------------


def _cells(results: RunResults) -> dict[tuple[str, str, str], tuple[str, str]]:
    from harness.report.labels import headline_share, row_label

    return {
        (o.hypothesis, row_label(o), o.model): (o.verdict.value, headline_share(o))
        for o in results.outcomes
    }


def regressed(old: str, new: str) -> bool:
    """Whether a verdict change is a regression: a PASS lost or a FAIL gained.

    >>> regressed("PASS", "NONCOMPLIANT"), regressed("SKIP", "FAIL"), regressed("FAIL", "PASS")
    (True, True, False)
    """
    return (old == GOOD and new != GOOD) or (new == BAD and old != BAD)


def compare_lines(
    old: RunResults, new: RunResults, old_name: str, margin: float, alpha: float | None
) -> tuple[list[str], bool]:
    """The comparison in lines, and whether a verdict regressed."""
    from harness.results import baseline as baselines
    from harness.results import regression

    before, after = _cells(old), _cells(new)
    lines = [f"verdicts: {old.run_id} -> {new.run_id}"]
    changed = []
    failed = False
    for key in sorted(before.keys() & after.keys()):
        (v_old, s_old), (v_new, s_new) = before[key], after[key]
        if v_old != v_new:
            worse = regressed(v_old, v_new)
            failed = failed or worse
            tag = "  REGRESSED" if worse else ""
            changed.append(f"  {key[1]} {key[2]}: {v_old} {s_old} -> {v_new} {s_new}{tag}")
    lines += changed or ["  no verdict changed"]
    gone, added = sorted(before.keys() - after.keys()), sorted(after.keys() - before.keys())
    if added:
        lines.append(f"only in the new run ({len(added)}):")
        lines += [f"  {k[1]} {k[2]}: {after[k][0]} {after[k][1]}" for k in added]
    if gone:
        lines.append(f"only in the old run ({len(gone)}):")
        lines += [f"  {k[1]} {k[2]}: {before[k][0]} {before[k][1]}" for k in gone]
    shares = [
        f"  {k[1]} {k[2]}: {before[k][1]} -> {after[k][1]} ({after[k][0]})"
        for k in sorted(before.keys() & after.keys())
        if before[k][1] != after[k][1] and before[k][0] == after[k][0]
    ]
    lines.append(
        "headline shares that changed (same verdict):"
        if shares
        else "no other headline share changed"
    )
    lines += shares
    check = regression.compare(
        baselines.rows_from(old.outcomes),
        baselines.rows_from(new.outcomes),
        new.outcomes,
        margin=margin,
        alpha=new.settings.alpha if alpha is None else alpha,
        path=old_name,
    )
    lines.append("moves tested as a baseline check (the old run as the baseline):")
    lines += ["  " + line for line in check.lines()]
    return lines, failed


# -- export -----------------------------------------------------------------------------------


def draw_rows(results: RunResults) -> Iterator[dict[str, Any]]:
    """One row per distinct draw of the run (tests sharing an arm share its draws)."""
    from harness.define.classifiers import OFF_PROTOCOL
    from harness.report.labels import draw_variant, node_name, variant_names

    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for o in results.outcomes:
        names = variant_names(o)
        for arm in o.arms:
            for position, d in enumerate(arm.draws):
                variant = draw_variant(o, position, names)
                key = (o.hypothesis, variant, o.model, arm.arm, d.seed, d.index)
                test = node_name(o.test) if o.test else o.hypothesis
                if key in rows:
                    if test not in rows[key]["tests"]:
                        rows[key]["tests"].append(test)
                    continue
                rows[key] = {
                    "run_id": results.run_id,
                    "hypothesis": o.hypothesis,
                    "variant": variant,
                    "model": o.model,
                    "simulated": o.simulated,
                    "arm": arm.arm,
                    "draw": d.index,
                    "seed": d.seed,
                    "category": d.category or ("error" if d.error else ""),
                    "on_protocol": d.error is None and d.category not in OFF_PROTOCOL,
                    "error": d.error or "",
                    "text": d.text,
                    "input_tokens": d.input_tokens,
                    "output_tokens": d.output_tokens,
                    "cached": d.cached,
                    "tests": [test],
                }
    for row in rows.values():
        yield {**row, "tests": ";".join(row["tests"])}


def export(results: RunResults, fmt: str, stream: TextIO) -> int:
    """Write the draws as CSV (with a header) or JSON lines; return the rows written."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(stream, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in draw_rows(results):
            writer.writerow(row)
            count += 1
    else:
        for row in draw_rows(results):
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


# -- command line -----------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="harness",
        description="Work with finished runs of behavioral hypotheses (no model is called).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    r = sub.add_parser(
        "render",
        help="write the HTML report of a results.json again",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    r.add_argument("results", type=Path, help="a run's results.json")
    r.add_argument(
        "--out", type=Path, default=None, help="folder for index.html (default: the run's)"
    )
    c = sub.add_parser(
        "compare",
        help="which verdicts and shares changed between two runs (exit 1 on a verdict regression)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument("old", type=Path, help="the earlier run's results.json")
    c.add_argument("new", type=Path, help="the later run's results.json")
    c.add_argument("--margin", type=float, default=0.0, help="share move tolerated")
    c.add_argument(
        "--alpha", type=float, default=None, help="family-wise alpha (default: the new run's)"
    )
    e = sub.add_parser(
        "export",
        help="one row per draw as CSV or JSON lines (for pandas, R, a spreadsheet)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    e.add_argument("results", type=Path, help="a run's results.json")
    e.add_argument("--format", choices=["csv", "jsonl"], default="csv", help="output format")
    e.add_argument("--out", type=Path, default=None, help="output file (default: standard output)")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _run(args)
    except InputError as exc:
        print(f"harness {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader (head, less) stopped early: not an error
        sys.stderr.close()
        return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "render":
        target = render(args.results, args.out)
        print(f"wrote {target}")
        return 0
    if args.command == "compare":
        if args.alpha is not None and not 0 < args.alpha < 1:
            raise InputError(f"--alpha {args.alpha}: must be between 0 and 1")
        if not 0 <= args.margin < 1:
            raise InputError(f"--margin {args.margin}: must be in [0, 1)")
        old, new = load(args.old), load(args.new)
        lines, failed = compare_lines(old, new, str(args.old), args.margin, args.alpha)
        print("\n".join(lines))
        return 1 if failed else 0
    results = load(args.results)
    if args.out is None:
        export(results, args.format, sys.stdout)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8", newline="") as stream:
            count = export(results, args.format, stream)
        print(f"wrote {count} draws to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
