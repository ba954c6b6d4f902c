"""Publishing: a run's folder (results.json, the HTML page, inspect-ai logs) and ``latest``.

Written by the controller once per run (see :func:`publish`). Everything is
first written into a hidden staging folder and then renamed into place, so a
reader never sees a half-written run and two runs started in the same second
get two folders (the second gets a ``-2`` suffix) instead of clobbering one; ``latest``
is swapped to the new folder in one rename.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from pydantic import BaseModel

from harness.files import write_text
from harness.report.log_writer import LOG_DIR, LogWriter
from harness.report.redact import redact, scrubbed
from harness.results.records import Draw
from harness.results.run import RunResults

LATEST = "latest"
#: Characters of a reply (or error) kept in results.json, the page and the logs; the draw
#: cache keeps the whole reply.
MAX_REPLY_CHARS = 2000
RESULTS_FILE = "results.json"
HTML_FILE = "index.html"
CHARTS_DIR = ".charts"  # drawings kept between runs (report.charts.chart)


class RunPaths(BaseModel):
    """Where a published run's outputs are."""

    run_dir: Path
    results: Path
    html: Path
    logs: Path
    latest: Path


def _reserve(base: Path, run_id: str) -> Path:
    """Create the first free ``run_id[-k]`` folder under ``base`` (mkdir is atomic)."""
    for k in range(1, 1000):
        target = base / (run_id if k == 1 else f"{run_id}-{k}")
        try:
            target.mkdir()
        except FileExistsError:
            continue
        return target
    raise RuntimeError(f"no free run folder for {run_id!r} under {base}")


def update_latest(base: Path, run_dir: Path) -> Path:
    """Point ``base/latest`` at ``run_dir`` atomically (symlink swap, else a copied folder)."""
    latest = base / LATEST
    tmp = base / f".{LATEST}.{os.getpid()}.{threading.get_ident()}"  # private to the writer
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(run_dir.name, target_is_directory=True)
        if latest.is_dir() and not latest.is_symlink():
            shutil.rmtree(latest)  # an older copy: a symlink cannot replace a folder
        tmp.replace(latest)
    except OSError:  # no symlinks here (e.g. Windows without privilege): copy, then swap
        if tmp.is_symlink():
            tmp.unlink()
        shutil.copytree(run_dir, tmp, symlinks=False)
        old = base / f".{LATEST}.old.{os.getpid()}.{threading.get_ident()}"
        if latest.exists():
            latest.rename(old)
        tmp.rename(latest)
        if old.exists():
            shutil.rmtree(old)
    return latest


def cap_text(text: str, limit: int = MAX_REPLY_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with its full length noted at the cut.

    >>> cap_text("abcdef", 3)
    'abc… [cut: 3 of 6 characters shown]'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [cut: {limit:,} of {len(text):,} characters shown]"


def capped(results: RunResults, limit: int = MAX_REPLY_CHARS) -> RunResults:
    """``results`` with every reply, error and example cut to ``limit`` characters.

    A model that answers with 200 KB per draw must not make a report of
    hundreds of megabytes; categories were given on the whole reply before.
    """

    def cut(draw: Draw) -> Draw:
        if len(draw.text) <= limit and (draw.error is None or len(draw.error) <= limit):
            return draw
        error = None if draw.error is None else cap_text(draw.error, limit)
        return draw.model_copy(update={"text": cap_text(draw.text, limit), "error": error})

    outcomes = []
    for o in results.outcomes:
        arms = [
            a.model_copy(
                update={
                    "draws": [cut(d) for d in a.draws],
                    "examples": {k: [cap_text(t, limit) for t in v] for k, v in a.examples.items()},
                }
            )
            for a in o.arms
        ]
        outcomes.append(o.model_copy(update={"arms": arms}))
    return results.model_copy(update={"outcomes": outcomes})


def publish(results: RunResults, base: Path, logs: LogWriter | None = None) -> RunPaths:
    """Write results.json, index.html and inspect logs of ``results`` as a new run folder.

    The folder's name (the run id, suffixed if taken) is reserved first, the
    files are written into a staging folder, and the staging folder then
    replaces the empty reserved one in one rename. Credentials in the model
    arguments are masked here, once, so no output can carry them, and replies
    are capped at :data:`MAX_REPLY_CHARS` characters. The page shows the
    trend over the earlier runs under ``base``. ``logs``: a helper process that
    writes the inspect logs meanwhile (:mod:`harness.report.log_writer`); without
    it, or if it fails, they are written here.
    """
    # the report stack (jinja2, matplotlib, inspect-ai's log types) loads only here
    from harness.report.html import write_html
    from harness.report.trend import earlier_runs

    base.mkdir(parents=True, exist_ok=True)
    run_dir = _reserve(base, results.run_id)
    settings = results.settings.model_copy(
        update={"model_args": redact(results.settings.model_args)}  # never write a key
    )
    results = capped(results.model_copy(update={"run_id": run_dir.name, "settings": settings}))
    results = scrubbed(results)  # a key echoed in an error message, under any name
    staging = base / f".staging-{run_dir.name}-{os.getpid()}"
    try:
        staging.mkdir()
        write_text(staging / RESULTS_FILE, results.model_dump_json(indent=1))
        handed = logs is not None and logs.hand(staging / RESULTS_FILE, staging)
        trend = earlier_runs(base, before=run_dir.name)
        write_html(results, staging / HTML_FILE, trend, charts=base / CHARTS_DIR)
        if not handed or logs is None or logs.finish() is not None:
            from harness.report.inspect_logs import write_logs

            write_logs(results, staging)
        try:
            staging.replace(run_dir)  # POSIX: atomically replaces the empty reserved folder
        except OSError:
            run_dir.rmdir()
            staging.rename(run_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    latest = update_latest(base, run_dir)
    return RunPaths(
        run_dir=run_dir,
        results=run_dir / RESULTS_FILE,
        html=run_dir / HTML_FILE,
        logs=run_dir / LOG_DIR,
        latest=latest,
    )
