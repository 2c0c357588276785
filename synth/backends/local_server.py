"""Serve the local backend over the OpenAI chat-completions API: an offline endpoint.

CTranslate2 ships no HTTP server (llama.cpp's would need the compiled bindings), so this
puts the local backend, with whichever runtime it picks, behind ``POST /v1/chat/completions``
and ``GET /v1/models``. It lets the ``openai`` backend and its client (retries, journal,
concurrency) be run against a real model without a network, and other machines share one
loaded model. One generation at a time: concurrent requests queue on a lock.

Run: ``python -m synth.backends.local_server --port 8088`` and point the openai backend at
``http://127.0.0.1:8088/v1`` with ``--set synth.openai.model=gemma-3-270m-q4_k_m``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from synth.backends.local_gguf import MODEL_NAME, LocalGGUFBackend
from synth.config import LocalConfig

# Request fields that map onto LocalConfig (OpenAI name -> ours).
_PARAMS = {"max_tokens": "max_new_tokens", "temperature": "temperature", "top_p": "top_p"}


def make_handler(backend: LocalGGUFBackend) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # progress lines come from the backend
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _error(self, status: int, message: str) -> None:
            self._send(status, {"error": {"message": message, "code": status}})

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": MODEL_NAME, "object": "model"}]})
            else:
                self._error(404, f"no route {self.path}")

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self._error(404, f"no route {self.path}")
            try:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw)
                messages = body["messages"]
                if not isinstance(messages, list) or not all(
                    isinstance(m, dict) and {"role", "content"} <= m.keys() for m in messages
                ):
                    raise ValueError("messages must be a list of {role, content}")
                update = {ours: body[k] for k, ours in _PARAMS.items() if body.get(k) is not None}
                cfg = LocalConfig.model_validate({**backend.cfg.model_dump(), **update})
            except (ValueError, KeyError, TypeError) as exc:  # JSON and pydantic errors too
                return self._error(400, f"bad request: {exc}")
            with lock:
                base, backend.cfg = backend.cfg, cfg
                try:
                    (gen,) = backend.generate([messages])
                finally:
                    backend.cfg = base
            p, c = gen.usage["prompt_tokens"], gen.usage["completion_tokens"]
            self._send(
                200,
                {
                    "id": f"chatcmpl-local-{time.time_ns()}",
                    "object": "chat.completion",
                    "model": gen.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": gen.text},
                            "finish_reason": "length" if c >= cfg.max_new_tokens else "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
                },
            )

    return Handler


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m synth.backends.local_server",
        description="OpenAI-compatible server for the offline Gemma 3 270M backend. "
        "Example: python -m synth.backends.local_server --port 8088 --threads 2",
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8088)
    ap.add_argument("--runtime", default="auto", choices=["auto", "ctranslate2", "transformers"])
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    backend = LocalGGUFBackend(LocalConfig(runtime=args.runtime, threads=args.threads))
    backend.load()  # before listening: a client that can connect gets answers at once
    server = ThreadingHTTPServer((args.host, args.port), make_handler(backend))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # unwinds serve_forever below
    print(f"serving {MODEL_NAME} on http://{args.host}:{server.server_port}/v1", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
