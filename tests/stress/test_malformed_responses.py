"""Malformed answers from the service, as the user sees them through the provider host: HTML pages, empty bodies,
truncated JSON and unexpected fields, on writes, on refresh and on the token endpoint.

The emulator always answers well-formed JSON, so a tiny HTTPS proxy stands in front of it here and rewrites the
answers a test picks (what gateways, captive proxies and outages produce). It has to be a real server, not a
``requests`` adapter: the provider runs in the host process, which the test cannot patch. The Graph client's own
tests already cover malformed GET answers at the client level; these cover writes, the token endpoint and the whole
way to the engine.
"""

from __future__ import annotations

import http.server
import json
import re
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from b2c_policy_keys import KeySetProvider, SecretKeyProvider
from b2c_policy_keys.emulator import Emulator
from support.host import SECRET_CONFIG_KEYS, ProviderError, ProviderHost, emulator_config

from .conftest import inspector, is_clear_error, last_line

SECRET_VALUE = "malformed-secret-value-0d3e"
EXPIRES = "2099-12-31T23:59:59Z"


@dataclass
class Rewrite:
    """Answer requests matching ``method`` and ``path_regex`` with this instead of the emulator's answer."""

    method: str
    path_regex: str
    status: int
    body: bytes
    content_type: str
    forward: bool = False  # let the emulator do the work first (the answer is mangled on its way back)
    extra: dict[str, Any] | None = None  # forward, then add these fields to the answer (and to each of its keys)
    hits: int = 0


class MangingProxy:
    """HTTPS in front of the emulator: forwards every request, except those a ``Rewrite`` answers."""

    def __init__(self, emu: Emulator, tmp: Path) -> None:
        self.emu = emu
        self.rewrites: list[Rewrite] = []
        authority = trustme.CA()
        cert = authority.issue_cert("127.0.0.1")
        # The provider trusts one bundle: the proxy's CA and the emulator's.
        self.ca_bundle = tmp / "proxy-and-emulator-ca.pem"
        self.ca_bundle.write_bytes(authority.cert_pem.bytes() + Path(emu.ca_bundle).read_bytes())
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self._upstream = requests.Session()
        self._upstream.verify = emu.ca_bundle
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> MangingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._upstream.close()

    def _rewrite_for(self, method: str, path: str) -> Rewrite | None:
        return next((r for r in self.rewrites if r.method == method and re.search(r.path_regex, path)), None)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rewrite = proxy._rewrite_for(self.command, self.path)
                if rewrite is None or rewrite.forward:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                    upstream = proxy._upstream.request(
                        self.command, proxy.emu.graph_url + self.path, data=body, headers=headers
                    )
                    status, content = upstream.status_code, upstream.content
                    # The OpenID configuration names the emulator's endpoints: keep the client coming through here.
                    content = content.replace(proxy.emu.authority_host.encode(), proxy.url.encode())
                    content_type = upstream.headers.get("Content-Type", "")
                if rewrite is not None:
                    rewrite.hits += 1
                    if rewrite.extra is not None:
                        content = _extended(content, rewrite.extra)
                    else:
                        status, content, content_type = rewrite.status, rewrite.body, rewrite.content_type
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

        return Handler


def _extended(content: bytes, extra: dict[str, Any]) -> bytes:
    answer = json.loads(content)
    for key in answer.get("keys", []):
        key.update(extra)
    return json.dumps({**answer, **extra}).encode()


@pytest.fixture
def proxy(emulator: Emulator, tmp_path: Path) -> Iterator[MangingProxy]:
    with MangingProxy(emulator, tmp_path) as started:
        yield started


@pytest.fixture
def host(proxy: MangingProxy, emulator: Emulator) -> Iterator[ProviderHost]:
    config = {
        **emulator_config(emulator),
        "b2c:graphUrl": proxy.url,
        "b2c:authorityHost": proxy.url,
        "b2c:caBundle": str(proxy.ca_bundle),
        "b2c:retryTimeout": "2",
    }
    with ProviderHost() as started:
        started.configure(config, secrets=SECRET_CONFIG_KEYS)
        yield started


HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
UPLOAD = r"/uploadSecret$"


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        (200, HTML, "text/html", "not JSON (text/html)"),
        (200, b"", "application/json", "expected a JSON object"),
        (200, b'{"kid": "abc", "kty": "oct", "use": "si', "application/json", "not JSON (application/json)"),
        (200, b'{"keys": []}', "application/json", "has no 'kid'"),
        (200, b'["kid"]', "application/json", "expected a JSON object"),
        (502, HTML, "text/html", "not JSON (text/html)"),
        (500, b"", "", "empty body"),
        (400, b'{"error": "a string, not an envelope"}', "application/json", "not a Graph error envelope"),
        (503, b"Service Unavailable", "text/plain", "503"),
    ],
    ids=[
        "html-200",
        "empty-200",
        "truncated-200",
        "no-kid",
        "json-list",
        "html-502",
        "empty-500",
        "odd-envelope",
        "text-503",
    ],
)
def test_a_malformed_answer_to_an_upload_is_a_clear_error(
    host: ProviderHost, proxy: MangingProxy, status: int, body: bytes, content_type: str, expected: str
) -> None:
    host.up(KeySetProvider(), "set", {"name": "Malformed"})
    proxy.rewrites.append(Rewrite("POST", UPLOAD, status, body, content_type))
    with pytest.raises(ProviderError) as failed:
        host.up(SecretKeyProvider(), "key", {"keyset_id": "Malformed", "value": SECRET_VALUE, "expires_at": EXPIRES})
    assert proxy.rewrites[0].hits >= 1
    assert is_clear_error(failed.value.details), last_line(failed.value.details)
    assert expected in last_line(failed.value.details)
    assert SECRET_VALUE not in failed.value.details


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(HTML, "text/html"), (b"", "application/json"), (b'{"kid": "abc", "kty": "oc', "application/json")],
    ids=["html-200", "empty-200", "truncated-200"],
)
def test_an_upload_whose_success_answer_is_mangled_adopts_the_key(
    host: ProviderHost, proxy: MangingProxy, emulator: Emulator, body: bytes, content_type: str
) -> None:
    """The service added the key but its answer was mangled on the way: adopt the key, so no later up duplicates it."""
    host.up(KeySetProvider(), "set", {"name": "Mangled"})
    proxy.rewrites.append(Rewrite("POST", UPLOAD, 200, body, content_type, forward=True))
    state = host.up(SecretKeyProvider(), "key", {"keyset_id": "Mangled", "value": SECRET_VALUE, "expires_at": EXPIRES})
    assert proxy.rewrites[0].hits == 1
    held = inspector(emulator).get_keyset("Mangled").keys
    assert [k.kid for k in held] == [state.outputs["kid"]]
    assert emulator.secret_matches("B2C_1A_Mangled", state.outputs["kid"], SECRET_VALUE)


def test_unexpected_fields_in_answers_are_ignored(host: ProviderHost, proxy: MangingProxy, emulator: Emulator) -> None:
    """The service adds fields over time (``@odata.*``, new key properties): they must not break anything."""
    extra = {"@odata.etag": "W/1", "keyOps": ["sign"], "x5u": None, "futureField": {"nested": [1, 2]}}
    proxy.rewrites.append(Rewrite("POST", UPLOAD, 0, b"", "", forward=True, extra=extra))
    proxy.rewrites.append(Rewrite("GET", r"/keySets/B2C_1A_Extra$", 0, b"", "", forward=True, extra=extra))
    host.up(KeySetProvider(), "set", {"name": "Extra"})
    state = host.up(SecretKeyProvider(), "key", {"keyset_id": "Extra", "value": SECRET_VALUE, "expires_at": EXPIRES})
    refreshed = host.refresh(state)
    # The set is read before it is created, before the key is added (issue 11: proof of a lost answer) and on refresh.
    assert [r.hits for r in proxy.rewrites] == [1, 3]
    assert refreshed is not None and refreshed.outputs["kid"] == state.outputs["kid"]
    held = inspector(emulator).get_keyset("Extra").keys
    assert [k.kid for k in held] == [state.outputs["kid"]]


def test_a_malformed_answer_on_refresh_is_a_clear_error(host: ProviderHost, proxy: MangingProxy) -> None:
    state = host.up(KeySetProvider(), "set", {"name": "Refresh"})
    proxy.rewrites.append(
        Rewrite("GET", r"/keySets/B2C_1A_Refresh$", 200, b'{"id": "B2C_1A_Refresh", "ke', "text/plain")
    )
    with pytest.raises(ProviderError) as failed:
        host.refresh(state)
    assert is_clear_error(failed.value.details), last_line(failed.value.details)
    assert "not JSON" in last_line(failed.value.details)


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, HTML, "text/html"),
        (200, b"", "application/json"),
        (200, b'{"token_type": "Bearer", "access_tok', "application/json"),
        (502, HTML, "text/html"),
    ],
    ids=["html-200", "empty-200", "truncated-200", "html-502"],
)
def test_a_malformed_token_answer_is_a_clear_error(
    host: ProviderHost, proxy: MangingProxy, status: int, body: bytes, content_type: str
) -> None:
    proxy.rewrites.append(Rewrite("POST", r"/oauth2/v2\.0/token$", status, body, content_type))
    with pytest.raises(ProviderError) as failed:
        host.up(KeySetProvider(), "set", {"name": "Token"})
    assert proxy.rewrites[0].hits >= 1
    assert is_clear_error(failed.value.details), last_line(failed.value.details)
    assert "emulator-readwrite-secret" not in failed.value.details
