"""Our scriptable HTTP server: plays per-path scripts and records every request.

For what real index servers cannot be made to do: 403 only for unknown
projects, a redirect to a login page, 500 then 200, a connection dropped
mid-body, file links on another path without hashes.

    with ScriptedServer() as server:
        server.on("GET", "/simple/demo/", Reply(403))
        server.on("POST", "/legacy/", Reply(500), Reply(200))   # the last reply repeats
        ...
        assert server.count("POST") == 0
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional, Union


@dataclass
class Reply:
    status: int = 200
    body: Union[bytes, str] = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    drop: bool = False  # read the body, then close the connection without answering

    def payload(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: bytes

    @property
    def authorization(self) -> Optional[str]:
        """The decoded ``user:password`` of a Basic Authorization header, or None."""
        value = self.headers.get("authorization")
        if not value or not value.lower().startswith("basic "):
            return value
        return base64.b64decode(value[6:]).decode()

    @property
    def body_size(self) -> int:
        return len(self.body)

    def form(self) -> dict[str, list]:
        """Parse a multipart/form-data body: name -> list of values (bytes for files, str otherwise)."""
        content_type = self.headers.get("content-type", "")
        boundary = content_type.split("boundary=", 1)[1].strip().strip('"').encode()
        fields: dict[str, list] = {}
        for part in self.body.split(b"--" + boundary):
            if not part.strip() or part.strip() == b"--":
                continue
            head, _, value = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
            value = value[:-2] if value.endswith(b"\r\n") else value
            disposition = next(
                line for line in head.decode().split("\r\n") if line.lower().startswith("content-disposition")
            )
            name = disposition.split('name="', 1)[1].split('"', 1)[0]
            is_file = "filename=" in disposition
            fields.setdefault(name, []).append(value if is_file else value.decode())
        return fields


Handler = Callable[[Recorded], Reply]


class ScriptedServer:
    """A ThreadingHTTPServer on a free 127.0.0.1 port that answers from scripts."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._scripts: dict[tuple[str, str], list[Union[Reply, Handler]]] = {}
        self._lock = threading.Lock()
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # -- scripting -------------------------------------------------------------

    def on(self, method: str, path: str, *replies: Union[Reply, Handler]) -> None:
        """Answer ``method path`` with ``replies`` in turn; the last one repeats.

        A path ending in ``*`` matches any path with that prefix. A reply may be a
        callable taking the Recorded request and returning a Reply.
        """
        self._scripts[(method.upper(), path)] = list(replies)

    def _next_reply(self, request: Recorded) -> Reply:
        with self._lock:
            script = self._scripts.get((request.method, request.path))
            if script is None:
                matches = [
                    (key[1], replies)
                    for key, replies in self._scripts.items()
                    if key[0] == request.method and key[1].endswith("*") and request.path.startswith(key[1][:-1])
                ]
                script = max(matches, key=lambda item: len(item[0]))[1] if matches else None
            if not script:
                return Reply(404, b"not found")
            reply = script.pop(0) if len(script) > 1 else script[0]
        return reply(request) if callable(reply) else reply

    # -- inspection ------------------------------------------------------------

    def count(self, method: Optional[str] = None, path: Optional[str] = None) -> int:
        return len(self.matching(method, path))

    def matching(self, method: Optional[str] = None, path: Optional[str] = None) -> list[Recorded]:
        return [
            r
            for r in list(self.requests)
            if (method is None or r.method == method.upper()) and (path is None or r.path.startswith(path))
        ]

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> ScriptedServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                server.requests.append(recorded)
                reply = server._next_reply(recorded)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                payload = reply.payload() if self.command != "HEAD" else b""
                self.send_response(reply.status)
                headers = {"Content-Type": "text/html", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.payload())))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = do_PUT = _handle

        class _Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                # A client that gave up (a timeout, a killed process) while a handler slept out
                # its delay: nothing to report, and no traceback leaking into other tests.
                import sys

                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def simple_html(files: dict[str, Optional[str]], *, base: str = "", hash_algorithm: str = "sha256") -> str:
    """A PEP 503 project page: filename -> digest (None: no fragment). ``base`` prefixes each href."""
    links = []
    for filename, digest in files.items():
        fragment = f"#{hash_algorithm}={digest}" if digest else ""
        links.append(f'<a href="{base}{filename}{fragment}">{filename}</a><br/>')
    return "<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
