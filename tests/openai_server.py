"""A real OpenAI-compatible chat-completions server on 127.0.0.1 that counts its calls.

It answers the guessing protocol like the simulated models (``harness.models.sim``:
same parsing, same per-seed randomness), so runs against it reach real
verdicts, and it records the ``seed`` of every request it answered: the
harness sends each draw's own seed, so the server can tell exactly which draws
were asked for. Use it through inspect-ai's OpenAI-compatible provider::

    with OpenAIServer() as server:
        env = server.env("loop")   # LOOP_BASE_URL, LOOP_API_KEY
        # pytest evals/ --model openai-api/loop/indifferent

or from a shell (prints its base URL, then one line per request)::

    python -m tests.openai_server --port 8765 --avoidance 0.4

``GET /stats`` returns ``{"requests": n, "seeds": [...]}``.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from harness.models.sim import PROFILES, SimParams, reply_seed, respond


def _text(content: Any) -> str:
    """The text of an OpenAI message content (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


class OpenAIServer:
    """``/v1/chat/completions`` on a free loopback port, in a background thread."""

    def __init__(
        self,
        params: SimParams | None = None,
        latency: float = 0.0,
        port: int = 0,
        verbose: bool = False,
    ) -> None:
        self.params = params or SimParams(**PROFILES["indifferent"])
        self.latency = latency
        self.verbose = verbose
        self.seeds: list[int | None] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def requests(self) -> int:
        """Chat completions answered so far."""
        with self._lock:
            return len(self.seeds)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def env(self, service: str) -> dict[str, str]:
        """Environment for inspect-ai's ``openai-api/<service>/<model>`` provider."""
        name = service.upper().replace("-", "_")
        return {f"{name}_BASE_URL": self.base_url, f"{name}_API_KEY": "loopback-test-key"}

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """The completion for one request body (the sim's reply for its prompt and seed)."""
        prompt = "\n".join(_text(m.get("content")) for m in body.get("messages", []))
        seed = body.get("seed")
        text = respond(prompt, self.params, random.Random(reply_seed(seed, prompt)))
        with self._lock:
            self.seeds.append(seed)
        n_in, n_out = len(prompt.split()), max(1, len(text.split()))
        return {
            "id": f"chatcmpl-{len(self.seeds)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "loopback"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": n_in,
                "completion_tokens": n_out,
                "total_tokens": n_in + n_out,
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/stats"):
                    with server._lock:
                        seeds = list(server.seeds)
                    self._send(200, {"requests": len(seeds), "seeds": seeds})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._send(400, {"error": {"message": "body is not JSON"}})
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                if server.latency:
                    time.sleep(server.latency)
                reply = server.answer(body)
                if server.verbose:
                    print(f"{server.requests} seed={body.get('seed')}", flush=True)
                self._send(200, reply)

            def log_message(self, format: str, *args: Any) -> None:  # quiet by default
                return

        return Handler

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--p-one", type=float, default=0.5)
    parser.add_argument("--avoidance", type=float, default=0.0)
    parser.add_argument("--chatter", type=float, default=0.0)
    args = parser.parse_args()
    params = SimParams(p_one=args.p_one, avoidance=args.avoidance, chatter=args.chatter)
    server = OpenAIServer(params, latency=args.latency, port=args.port, verbose=True).start()
    print(f"base URL {server.base_url} (GET /stats for the request count)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print(f"{server.requests} requests", flush=True)
        server.stop()


if __name__ == "__main__":
    main()
