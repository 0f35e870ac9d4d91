"""Each error mapping, from real answers of the emulator; malformed answers through requests' adapter seam."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.errors import (
    AlreadyExistsError,
    AuthenticationError,
    GraphError,
    NotFoundError,
    PermissionDeniedError,
)
from b2c_policy_keys.graph import GraphClient
from b2c_policy_keys.graph.transport import Transport

from .support import emulator_settings, graph_requests, token_requests


@pytest.fixture
def client(emulator: Emulator) -> GraphClient:
    return GraphClient(emulator_settings(emulator))


def assert_ids(error: GraphError) -> None:
    assert error.request_id and error.client_request_id
    assert f"client-request-id {error.client_request_id}" in str(error)


def test_missing_key_set_is_not_found(client: GraphClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get_keyset("absent")
    assert caught.value.code == "AADB2C90073"
    assert_ids(caught.value)


def test_missing_key_set_on_a_write_is_not_found(client: GraphClient) -> None:
    with pytest.raises(NotFoundError):
        client.generate_key("absent", use="sig", kty="RSA")


def test_not_found_code_with_a_400_is_still_not_found(client: GraphClient, emulator: Emulator) -> None:
    emulator.add_fault(method="GET", path_regex="keySets$", kind="status", status=400, code="AADB2C90073", count=1)
    with pytest.raises(NotFoundError) as caught:
        client.list_keysets()
    assert caught.value.status == 400


def test_duplicate_create_points_to_adopt_existing(client: GraphClient) -> None:
    client.create_keyset("twice")
    with pytest.raises(AlreadyExistsError) as caught:
        client.create_keyset("twice")
    assert caught.value.code == "AADB2C95028"
    assert "adopt_existing=True" in str(caught.value)
    assert_ids(caught.value)


def test_a_refused_token_is_renewed_once(client: GraphClient, emulator: Emulator) -> None:
    client.list_keysets()
    emulator.add_fault(method="GET", path_regex="keySets$", kind="status", status=401, count=1)
    assert client.list_keysets() == []
    assert token_requests(emulator) == 2


def test_401_twice_is_an_authentication_error(client: GraphClient, emulator: Emulator) -> None:
    emulator.add_fault(method="GET", path_regex="keySets$", kind="status", status=401, count=2)
    with pytest.raises(AuthenticationError) as caught:
        client.list_keysets()
    assert caught.value.status == 401
    assert_ids(caught.value)
    assert graph_requests(emulator, "GET", "/keySets") == 2


def test_403_is_permission_denied_with_the_hint(client: GraphClient, emulator: Emulator) -> None:
    emulator.add_fault(method="GET", path_regex="keySets$", kind="status", status=403, count=1)
    with pytest.raises(PermissionDeniedError, match=r"TrustFrameworkKeySet\.ReadWrite\.All"):
        client.list_keysets()


def test_other_refusals_are_graph_errors(client: GraphClient) -> None:
    client.create_keyset("mixed")
    client.generate_key("mixed", use="sig", kty="RSA")
    with pytest.raises(GraphError) as caught:
        client.generate_key("mixed", use="sig", kty="oct")
    assert type(caught.value) is GraphError
    assert caught.value.code == "AADB2C95032"
    assert_ids(caught.value)


def test_put_with_a_kid_is_refused_without_echoing_the_key(client: GraphClient) -> None:
    client.create_keyset("putkid")
    material = base64.urlsafe_b64encode(b"k" * 32).decode()
    with pytest.raises(GraphError) as caught:
        client.replace_keyset("putkid", [{"kid": "x", "kty": "oct", "use": "sig", "k": material}])
    assert caught.value.code == "AADB2C95059"
    assert material not in str(caught.value)


class CannedAdapter(BaseAdapter):
    """Answers every request with one canned response. The emulator always answers well-formed JSON, so HTML
    error pages, truncated bodies and odd shapes (what proxies and gateways produce) are made here, at requests'
    own transport seam, rather than by patching the client."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        super().__init__()
        self.status, self.body, self.content_type = status, body, content_type

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        response.headers["Content-Type"] = self.content_type
        response.headers["request-id"] = "canned-request-id"
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("status", "body", "content_type", "call", "expected"),
    [
        (502, b"<html><h1>502 Bad Gateway</h1></html>", "text/html", "get", "not JSON (text/html)"),
        (200, b'{"id": "B2C_1A_x", "keys": [', "application/json", "get", "not JSON (application/json)"),
        (200, b'{"keys": []}', "application/json", "get", "has no 'id'"),
        (200, b'{"id": "B2C_1A_x", "keys": {"kid": 1}}', "application/json", "get", "'keys' is not a list"),
        (200, b'["a", "b"]', "application/json", "get", "expected a JSON object"),
        (200, b"", "application/json", "key", "expected a JSON object"),
        (200, b'{"kty": "RSA"}', "application/json", "key", "has no 'kid'"),
        (200, b'{"kid": "k", "nbf": "tomorrow"}', "application/json", "key", "unexpected body"),
        (200, b'{"value": "nope"}', "application/json", "list", "'value' list"),
        (
            200,
            b'{"value": [], "@odata.nextLink": "https://evil.example/beta/trustFramework/keySets"}',
            "application/json",
            "list",
            "nextLink",
        ),
    ],
)
def test_malformed_answers_become_clear_graph_errors(
    emulator: Emulator, status: int, body: bytes, content_type: str, call: str, expected: str
) -> None:
    settings = emulator_settings(emulator)
    tokens = Transport(settings).tokens
    tokens.token()  # from the real emulator, before the canned adapter takes over Graph calls
    session = requests.Session()
    session.mount("https://", CannedAdapter(status, body, content_type))
    client = GraphClient(settings, Transport(settings, session=session, tokens=tokens))
    with pytest.raises(GraphError) as caught:
        {"get": lambda: client.get_keyset("x"), "key": lambda: client.get_key("x", "k"), "list": client.list_keysets}[
            call
        ]()
    assert type(caught.value) is GraphError
    assert expected in str(caught.value)
    assert caught.value.request_id == "canned-request-id"
    assert caught.value.client_request_id
