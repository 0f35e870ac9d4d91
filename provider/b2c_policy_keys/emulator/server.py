"""The emulator's HTTP(S) transport: one thread per connection, TLS handshakes off the accept loop, keep-alive.

Routing lives in ``routes.py``; this module only turns bytes into a ``Request`` and a ``Response`` into bytes.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import TCPServer, ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl, urlsplit

#: An idle keep-alive connection is closed after this long, so abandoned clients do not pin threads forever.
IDLE_TIMEOUT_S = 120.0
HANDSHAKE_TIMEOUT_S = 10.0
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Message
    body: bytes
    client_host: str
    scheme: str

    @property
    def host_url(self) -> str:
        """The root URL as the client addressed it (``Host`` header)."""
        return f"{self.scheme}://{self.headers.get('Host', '')}"


@dataclass
class Response:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Close the connection without answering (a fault: the request or its answer is "lost").
    drop: bool = False


App = Callable[[Request], Response]


class EmulatorHTTPServer(ThreadingMixIn, HTTPServer):
    """Binds in the constructor (so the port is known and connections queue before serving starts)."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, app: App, ssl_context: ssl.SSLContext | None) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        self.ssl_context = ssl_context
        self.scheme = "https" if ssl_context else "http"
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), EmulatorRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the fully qualified host name, which can stall on a DNS lookup.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Runs in the connection's own thread: the TLS handshake happens here, never on the accept loop."""
        connection: socket.socket = request
        if self.ssl_context is not None:
            try:
                connection.settimeout(HANDSHAKE_TIMEOUT_S)
                connection = self.ssl_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
                connection.do_handshake()
            except (OSError, ValueError):
                connection.close()
                return
        with self._connections_lock:
            self._connections.add(connection)
        try:
            EmulatorRequestHandler(connection, client_address, self)
        except OSError:
            pass
        finally:
            with self._connections_lock:
                self._connections.discard(connection)
            if connection is not request:
                _hard_close(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanishes mid-request is normal here; nothing to print."""

    def close_connections(self) -> None:
        """Wake every thread blocked on an idle keep-alive connection so that stopping never hangs."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            _hard_close(connection)


def _hard_close(connection: socket.socket) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the latter drops the SSL object under a reading thread.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(connection, socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        connection.close()


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "b2c-policy-keys-emulator"
    sys_version = ""
    timeout = IDLE_TIMEOUT_S
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines may carry query values; the emulator's request log is the record."""

    def _serve(self) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._write(Response(413, {"error": {"code": "RequestEntityTooLarge", "message": "Body too large."}}))
            return
        request = Request(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers=self.headers,
            body=body,
            client_host=str(self.client_address[0]),
            scheme=self.server.scheme,
        )
        response = self.server.app(request)
        if response.drop:
            self.close_connection = True
            _hard_close(self.connection)
            return
        self._write(response)

    def _read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked), or None when it is too large to accept."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _write(self, response: Response) -> None:
        payload = b"" if response.body is None else json.dumps(response.body).encode("utf-8")
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(len(payload)))
        # One write for head and body: fewer TLS records, no Nagle/delayed-ACK stall on keep-alive connections.
        self._headers_buffer.append(b"\r\n")  # type: ignore[attr-defined]
        if payload and self.command != "HEAD":
            self._headers_buffer.append(payload)  # type: ignore[attr-defined]
        self.flush_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve
