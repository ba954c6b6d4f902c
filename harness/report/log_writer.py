"""The run's inspect logs, written by a helper process that starts with the run.

Importing inspect-ai's log types takes 1.3-1.9 s on 2 cores, and a run whose
draws are all cached needs inspect-ai for nothing else. The controller of a run
that will write a report starts this helper when the session starts
(:meth:`LogWriter.start`), so that import happens on another core while the
tests run; at the end :func:`harness.report.publish.publish` hands it the
staging folder's ``results.json`` and renders the page while the helper writes
``logs/``. If the helper is not there, dies or fails, the logs are written in
the run's own process, as they would be without it, so a report never lacks
them. The helper ends when its input closes, so it never outlives the run.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

__all__ = ["LOG_DIR", "LogWriter"]

#: The run folder's subfolder of inspect logs.
LOG_DIR = "logs"
#: What the helper prints once inspect-ai is imported.
READY = "ready"
#: Seconds a run waits for the helper to finish importing before writing the logs itself,
#: which costs it about 2 s (inspect-ai's import, then the writing): a cached rerun reaches
#: its report a moment before the helper is ready.
HAND_WAIT = 1.5
#: Seconds the run waits for the helper's logs before writing them itself.
WAIT_SECONDS = 120.0


class LogWriter:
    """A started helper process (see the module docstring)."""

    def __init__(self, process: subprocess.Popen[str], errors: IO[bytes]) -> None:
        self.process = process
        self.errors = errors  # a file, not a pipe: a long traceback cannot block the helper
        self.handed = False
        self._ready = False

    @classmethod
    def start(cls) -> LogWriter | None:
        """The helper, importing inspect-ai now; None if it cannot be started."""
        errors = tempfile.TemporaryFile()  # noqa: SIM115 (kept open for the helper's life)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "harness.report.log_writer"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
        except OSError:
            errors.close()
            return None
        return cls(process, errors)

    def hand(self, results: Path, run_dir: Path) -> bool:
        """Ask for the logs of ``results`` (a results.json) in ``run_dir/logs``; False if the
        helper is gone or has not finished importing within :data:`HAND_WAIT` seconds (on
        a busy machine it may still be far from it: it is ended, and the run writes the
        logs itself rather than wait longer than that would take)."""
        if self.process.poll() is not None or self.process.stdin is None:
            return False
        if not self.ready(HAND_WAIT):
            self.close()
            return False
        try:
            self.process.stdin.write(json.dumps({"results": str(results), "run": str(run_dir)}))
            self.process.stdin.write("\n")
            self.process.stdin.close()
        except OSError:
            return False
        self.handed = True
        return True

    def ready(self, timeout: float = 0.0) -> bool:
        """Whether the helper has said, within ``timeout`` seconds, that it finished importing."""
        out = self.process.stdout
        if not self._ready and out is not None and not out.closed:
            readable, _, _ = select.select([out], [], [], timeout)
            self._ready = bool(readable) and out.readline().strip() == READY
        return self._ready

    def finish(self) -> str | None:
        """Wait for the handed logs: None when written, else why not (the caller writes them)."""
        try:
            code = self.process.wait(timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.close()
            return f"the log writer took over {WAIT_SECONDS:.0f} s"
        if code == 0:
            return None
        self.errors.seek(0)
        lines = self.errors.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else f"the log writer exited with {code}"

    def close(self) -> None:
        """End the helper if it is still running (a run that wrote no report)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()
        self.errors.close()


def main() -> int:
    """The helper: import inspect-ai's log types, then write the logs it is asked for."""
    from harness.report.inspect_logs import write_logs  # the slow import, while tests run
    from harness.results.run import RunResults

    print(READY, flush=True)
    line = sys.stdin.readline()
    if not line.strip():
        return 0  # the run ended without a report
    job = json.loads(line)
    results = RunResults.model_validate_json(Path(job["results"]).read_text(encoding="utf-8"))
    write_logs(results, Path(job["run"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
