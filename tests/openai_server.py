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

It also serves OpenAI's batch API (``POST /files``, ``POST /batches``, ``GET
/batches/<id>``, ``GET /files/<id>/content``): a batch is answered at once,
request by request as above, so inspect-ai's batch mode (``--batch N`` with an
``openai/...`` model and ``OPENAI_BASE_URL`` pointing here) can be tested;
``batches`` lists the request count of each batch created.

``GET /stats`` returns ``{"requests": n, "received": m, "peak_in_flight": k, "seeds": [...]}``.

Log-probabilities: given ``first_tokens`` (token -> probability), a request with
``logprobs: true`` gets OpenAI-style ``logprobs.content``: the reply's first token
with the ``top_logprobs`` most likely of those tokens (at most 20, as OpenAI
allows), so a client sees only part of the distribution. Without it the server
returns no log-probabilities, like a provider that does not support them.

Fault injection: ``faults`` maps a fault to the share of chat-completion
requests that get it, drawn from a seeded generator in arrival order
(``--fault hang=0.2 --fault 500=0.1`` from a shell):

============  ==================================================================
fault         what the client sees
============  ==================================================================
``hang``      nothing: the request is held open (``hang_seconds``) and dropped
``429``,      that status with an OpenAI-style error body (any status code works)
``500`` ...
``cut``       a 200 whose body stops half-way (the connection is closed)
``truncated`` a 200 whose JSON body is cut short
``empty``     a 200 with no choices
``nocontent`` a 200 whose message content is null
============  ==================================================================

``reject=(401, "Incorrect API key provided: {key}")`` answers every request
with that status and message, ``{key}`` replaced by the bearer token the
request carried (a server that echoes the key, as some do; ``echo_key=True``
puts it in the status faults' messages too). ``received``
counts every chat-completion request that arrived, faulted or not;
``requests`` only the ones answered with a reply.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import socket
import sys
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from harness.models.sim import PROFILES, SimParams, reply_seed, respond


def _multipart_file(raw: bytes, content_type: str) -> bytes:
    """The ``file`` part of a multipart/form-data body."""
    boundary = content_type.split("boundary=")[-1].strip('"').encode()
    for part in raw.split(b"--" + boundary):
        head, _, content = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            return content.removesuffix(b"\r\n")
    return b""


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 drops connections a concurrent client opens at once
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that hang up (a cancelled or timed-out request does)."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


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
        faults: Mapping[str, float] | None = None,
        fault_seed: int = 0,
        hang_seconds: float = 600.0,
        reject: tuple[int, str] | None = None,
        api_key: str = "loopback-test-key",
        echo_key: bool = False,
        first_tokens: Mapping[str, float] | None = None,
    ) -> None:
        self.params = params or SimParams(**PROFILES["indifferent"])
        self.first_tokens = dict(first_tokens or {})
        self.latency = latency
        self.verbose = verbose
        self.faults = dict(faults or {})
        if sum(self.faults.values()) > 1.0:
            raise ValueError(f"fault shares add up to more than 1: {self.faults}")
        self.hang_seconds = hang_seconds
        self.reject = reject
        self.api_key = api_key
        self.echo_key = echo_key  # status faults name the key the request carried
        self.seeds: list[int | None] = []
        self.received = 0  # chat-completion requests that arrived, faulted or not
        self.faulted: dict[str, int] = {}
        self.in_flight = 0
        self.peak_in_flight = 0
        self.keys_seen: set[str] = set()
        self.batches: list[int] = []  # requests per batch created (the batch API)
        self._files: dict[str, bytes] = {}
        self._batch_objects: dict[str, dict[str, Any]] = {}
        self._fault_rng = random.Random(fault_seed)
        self._released = threading.Event()  # set on stop: hung requests end
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", port), self._handler())
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
        return {f"{name}_BASE_URL": self.base_url, f"{name}_API_KEY": self.api_key}

    def fault(self) -> str | None:
        """The fault for the next chat-completion request (None: answer it)."""
        with self._lock:
            self.received += 1
            roll = self._fault_rng.random()
            for name, share in self.faults.items():
                if roll < share:
                    self.faulted[name] = self.faulted.get(name, 0) + 1
                    return name
                roll -= share
        return None

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """The completion for one request body (the sim's reply for its prompt and seed)."""
        prompt = "\n".join(_text(m.get("content")) for m in body.get("messages", []))
        seed = body.get("seed")
        text = respond(prompt, self.params, random.Random(reply_seed(seed, prompt)))
        with self._lock:
            self.seeds.append(seed)
        n_in, n_out = len(prompt.split()), max(1, len(text.split()))
        if body.get("logprobs") and self.first_tokens:
            text = self.first_token(body)
        reply: dict[str, Any] = {
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
        if body.get("logprobs") and self.first_tokens:
            reply["choices"][0]["logprobs"] = {"content": [self.logprob(text, body)]}
        return reply

    def first_token(self, body: dict[str, Any]) -> str:
        """The reply's first token, drawn from ``first_tokens`` by the request's seed."""
        rng = random.Random(reply_seed(body.get("seed"), "first-token"))
        tokens = list(self.first_tokens)
        return rng.choices(tokens, weights=[self.first_tokens[t] for t in tokens])[0]

    def logprob(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """OpenAI's ``logprobs.content`` entry for ``token`` with the top alternatives."""
        top = min(20, int(body.get("top_logprobs") or 0))
        ranked = sorted(self.first_tokens.items(), key=lambda kv: -kv[1])[:top]

        def entry(t: str, p: float) -> dict[str, Any]:
            return {"token": t, "logprob": math.log(p), "bytes": list(t.encode())}

        return {
            **entry(token, self.first_tokens[token]),
            "top_logprobs": [entry(t, p) for t, p in ranked],
        }

    def upload(self, content: bytes) -> str:
        """Keep an uploaded file; its id."""
        with self._lock:
            file_id = f"file-{len(self._files) + 1}"
            self._files[file_id] = content
        return file_id

    def file(self, file_id: str) -> bytes | None:
        with self._lock:
            return self._files.get(file_id)

    def create_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        """Run a batch of chat completions at once; the batch object, completed."""
        lines = (self.file(str(body.get("input_file_id"))) or b"").decode().splitlines()
        out = []
        for line in filter(None, lines):
            request = json.loads(line)
            with self._lock:
                self.received += 1
            reply = self.answer(request["body"])
            response = {"status_code": 200, "request_id": reply["id"], "body": reply}
            out.append({"id": reply["id"], "custom_id": request["custom_id"], "response": response})
        output_id = self.upload("".join(json.dumps(o) + "\n" for o in out).encode())
        with self._lock:
            self.batches.append(len(out))
            batch_id = f"batch-{len(self.batches)}"
            batch = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body.get("endpoint", "/v1/chat/completions"),
                "input_file_id": body.get("input_file_id"),
                "completion_window": body.get("completion_window", "24h"),
                "status": "completed",
                "created_at": int(time.time()),
                "output_file_id": output_id,
                "error_file_id": None,
                "request_counts": {"total": len(out), "completed": len(out), "failed": 0},
            }
            self._batch_objects[batch_id] = batch
        return batch

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._batch_objects.get(batch_id)

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
                        stats = {
                            "requests": len(seeds),
                            "received": server.received,
                            "peak_in_flight": server.peak_in_flight,
                            "faulted": dict(server.faulted),
                            "seeds": seeds,
                        }
                    self._send(200, stats)
                    return
                parts = self.path.rstrip("/").split("/")
                if len(parts) >= 2 and parts[-2] == "batches" and server.batch(parts[-1]):
                    self._send(200, server.batch(parts[-1]) or {})
                    return
                if len(parts) >= 3 and parts[-1] == "content" and parts[-3] == "files":
                    content = server.file(parts[-2])
                    if content is not None:
                        self._send_raw(200, content, "application/octet-stream")
                        return
                self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if self.path.rstrip("/").endswith("/files"):  # a batch input file (multipart)
                    content = _multipart_file(raw, self.headers.get("Content-Type", ""))
                    file_id = server.upload(content)
                    created = int(time.time())
                    self._send(
                        200,
                        {
                            "id": file_id,
                            "object": "file",
                            "bytes": len(content),
                            "created_at": created,
                            "filename": "batch.jsonl",
                            "purpose": "batch",
                            "status": "processed",
                        },
                    )
                    return
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    self._send(400, {"error": {"message": "body is not JSON"}})
                    return
                if self.path.rstrip("/").endswith("/batches"):
                    self._send(200, server.create_batch(body))
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                key = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
                with server._lock:
                    server.keys_seen.add(key)
                    server.in_flight += 1
                    server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
                try:
                    self._complete(body, key)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _complete(self, body: dict[str, Any], key: str) -> None:
                if server.reject is not None:
                    with server._lock:
                        server.received += 1
                    status, message = server.reject
                    error = {"message": message.replace("{key}", key), "type": "error"}
                    self._send(status, {"error": error})
                    return
                fault = server.fault()
                if server.latency:
                    time.sleep(server.latency)
                if fault == "hang":
                    server._released.wait(server.hang_seconds)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault is not None and fault.isdigit():
                    message = f"injected fault {fault}"
                    if server.echo_key:
                        message += f" for key {key}"
                    self._send(int(fault), {"error": {"message": message, "type": "server_error"}})
                    return
                if fault == "truncated":
                    self._send_raw(200, b'{"id": "chatcmpl-x", "choices": [')
                    return
                reply = server.answer(body)
                if fault == "empty":
                    reply["choices"] = []
                elif fault == "nocontent":
                    reply["choices"][0]["message"]["content"] = None
                if fault == "cut":
                    data = json.dumps(reply).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if server.verbose:
                    print(f"{server.requests} seed={body.get('seed')}", flush=True)
                self._send(200, reply)

            def _send_raw(self, status: int, data: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # quiet by default
                return

        return Handler

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
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
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=SHARE",
        help="inject a fault into a share of requests: hang, cut, truncated, empty, "
        "nocontent or an HTTP status (e.g. 500=0.1); repeatable",
    )
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--hang-seconds", type=float, default=600.0)
    parser.add_argument("--reject", type=int, default=None, help="answer every request so")
    args = parser.parse_args()
    params = SimParams(p_one=args.p_one, avoidance=args.avoidance, chatter=args.chatter)
    faults = {k: float(v) for k, v in (f.split("=", 1) for f in args.fault)}
    reject = None if args.reject is None else (args.reject, "rejected (key {key})")
    server = OpenAIServer(
        params,
        latency=args.latency,
        port=args.port,
        verbose=True,
        faults=faults,
        fault_seed=args.fault_seed,
        hang_seconds=args.hang_seconds,
        reject=reject,
    ).start()
    print(f"base URL {server.base_url} (GET /stats for the request count)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print(f"{server.requests} requests", flush=True)
        server.stop()


if __name__ == "__main__":
    main()
