"""The error table: every exception class reachable, codes before statuses, malformed answers read safely."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable
from typing import Any

import pytest

from b2c_policy_keys import errors
from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.errors import (
    AlreadyExistsError,
    AuthenticationError,
    GraphError,
    NotFoundError,
    PermissionDeniedError,
    ThrottledError,
)
from b2c_policy_keys.graph import GraphClient
from b2c_policy_keys.graph.mapping import (
    BY_CODE,
    BY_STATUS,
    RETRYABLE_CODES,
    exception_class,
    is_retryable,
    read_error_answer,
    to_exception,
)
from b2c_policy_keys.graph.settings import Settings
from b2c_policy_keys.graph.transport import Answer, Transport

from .support import emulator_settings


def envelope(code: str, message: str, request_id: str = "rid-1", client_request_id: str = "crid-1") -> bytes:
    return json.dumps(
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {"request-id": request_id, "client-request-id": client_request_id, "date": "x"},
            }
        }
    ).encode()


def test_the_table_covers_every_error_class() -> None:
    """Every class of errors.py is produced by the table or, for the others, by a named place in the transport."""
    defined = {cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, errors.B2CKeysError)}
    from_table = set(BY_CODE.values()) | set(BY_STATUS.values()) | {GraphError}
    elsewhere = {
        errors.B2CKeysError,  # the root, never raised itself
        errors.ConfigurationError,  # settings.resolve_settings, credentials.load_certificate_credential
        errors.TransportError,  # http.transport_error
        errors.OutcomeUnknownError,  # transport.Transport._connection_failure
        errors.UncertainKeyError,  # resources._common.add_key_once, after a lost add it cannot prove
    }
    assert defined == from_table | elsewhere
    assert not from_table & elsewhere


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, "ResourceNotFound", NotFoundError),
        (400, "AADB2C90073", NotFoundError),
        (404, "AADB2C90073", NotFoundError),
        (409, "AADB2C95028", AlreadyExistsError),
        (400, "AADB2C95028", AlreadyExistsError),
        (429, None, ThrottledError),
        (400, "AADB2C95043", ThrottledError),
        (400, "AADB2C90229", ThrottledError),
        (500, "AADB2C90063", ThrottledError),
        (409, "AADB2C95053", ThrottledError),
        (503, "ServiceUnavailable", ThrottledError),
        (504, None, ThrottledError),
        (401, "InvalidAuthenticationToken", AuthenticationError),
        (403, "AADB2C", PermissionDeniedError),
        (400, "AADB2C95059", GraphError),
        (500, None, GraphError),
    ],
)
def test_status_and_code_pick_the_class(status: int, code: str | None, expected: type[GraphError]) -> None:
    assert exception_class(status, code) is expected


def test_retryable_rules() -> None:
    assert all(is_retryable(400, code) for code in RETRYABLE_CODES)
    assert all(is_retryable(status, None) for status in (429, 503, 504))
    assert not is_retryable(500, None)
    assert not is_retryable(400, "AADB2C95028")


def test_envelope_fields_are_carried() -> None:
    body = envelope("AADB2C90073", "KeyContainer with 'id': 'B2C_1A_x' cannot be found", "rid-9", "crid-9")
    answer = read_error_answer(400, body, "application/json", {}, "crid-sent")
    error = to_exception(answer)
    assert isinstance(error, NotFoundError)
    assert (error.status, error.code, error.request_id, error.client_request_id) == (
        400,
        "AADB2C90073",
        "rid-9",
        "crid-9",
    )
    assert "B2C_1A_x" in str(error) and "request-id rid-9" in str(error)


def test_the_request_id_header_wins_over_the_body() -> None:
    answer = read_error_answer(404, envelope("x", "y", "body-rid"), "application/json", {"request-id": "hdr"}, None)
    assert answer.request_id == "hdr"


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<html><body>Bad gateway</body></html>", "text/html", "not JSON (text/html)"),
        (b"", "", "empty body"),
        (b'{"error": {"code": "AADB', "application/json", "not JSON (application/json)"),
        (b'["unexpected"]', "application/json", "not a Graph error envelope"),
        (b'{"error": "just a string"}', "application/json", "not a Graph error envelope"),
    ],
)
def test_malformed_error_answers_become_clear_graph_errors(body: bytes, content_type: str, expected: str) -> None:
    error = to_exception(read_error_answer(502, body, content_type, {}, "crid"))
    assert type(error) is GraphError
    assert expected in str(error)
    assert error.client_request_id == "crid"


def test_an_html_404_is_still_not_found() -> None:
    error = to_exception(read_error_answer(404, b"<html>nope</html>", "text/html", {}, None))
    assert isinstance(error, NotFoundError)


def test_hints() -> None:
    forbidden = to_exception(read_error_answer(403, envelope("AADB2C", "no permission"), "application/json", {}, None))
    assert "TrustFrameworkKeySet.ReadWrite.All" in str(forbidden)
    assert "registered in the B2C tenant" in str(forbidden)
    exists = to_exception(read_error_answer(409, envelope("AADB2C95028", "exists"), "application/json", {}, None))
    assert "adopt_existing=True" in str(exists) and "pulumi import" in str(exists)


def test_known_secrets_are_scrubbed_from_service_messages() -> None:
    answer = read_error_answer(400, envelope("AADB2C95026", "bad value 'hunter2-secret'"), "application/json", {}, None)
    assert "hunter2-secret" not in str(to_exception(answer, secrets=["hunter2-secret"]))


def test_long_messages_are_shortened() -> None:
    answer = read_error_answer(400, envelope("X", "a" * 5000), "application/json", {}, None)
    assert len(str(to_exception(answer))) < 500


# --- the alternatives a real tenant may answer (docs/emulator.md, behaviour table) ------------------------------


def test_a_missing_key_set_is_not_found_as_the_emulator_answers_it(emulator: Emulator) -> None:
    """Tool evidence: 400 with AADB2C90073, which the emulator answers."""
    client = GraphClient(emulator_settings(emulator))
    with pytest.raises(NotFoundError) as caught:
        client.get_keyset("B2C_1A_nowhere")
    assert (caught.value.status, caught.value.code) == (400, "AADB2C90073")


@pytest.mark.parametrize("code", ["AADB2C90073", "ResourceNotFound"])
def test_a_missing_key_set_is_not_found_when_answered_with_404(emulator: Emulator, code: str) -> None:
    """The alternative other tools meet: 404 (with 90073 or Graph's own code), produced by a status fault."""
    client = GraphClient(emulator_settings(emulator))
    emulator.add_fault(method="GET", path_regex="/keySets/B2C_1A_nowhere$", kind="status", status=404, code=code)
    with pytest.raises(NotFoundError) as caught:
        client.get_keyset("B2C_1A_nowhere")
    assert (caught.value.status, caught.value.code) == (404, code)


class _Answering(Transport):
    """Answers every request with one body: the network mocked for an answer the emulator no longer gives."""

    def __init__(self, settings: Settings, body: dict[str, Any]) -> None:
        super().__init__(settings)
        self._body = body

    def request(self, method: str, path: str, *, body: Any = None, secrets: Iterable[str] = ()) -> Answer:
        return Answer(200, self._body, "rid", "crid")


@pytest.mark.parametrize("kty", ["oct", "OCT", "Oct"])
def test_an_uploaded_secret_reads_back_as_oct_in_any_spelling(emulator: Emulator, kty: str) -> None:
    """The emulator answers "oct" (ci evidence); the docs' example says "OCT": the client takes either. The
    emulator cannot answer "OCT" any more, hence the stub transport."""
    settings = emulator_settings(emulator)
    answer = {"kid": "k1", "kty": kty, "use": "sig", "k": None, "nbf": None, "exp": None, "status": "enabled"}
    key = GraphClient(settings, _Answering(settings, answer)).upload_secret("B2C_1A_x", use="sig", value="v")
    assert key.kty == "oct"


def test_the_client_replaces_a_key_set_with_put_never_patch(emulator: Emulator) -> None:
    """PATCH of a key set is unverified (the emulator refuses it): the client must never depend on it."""
    client = GraphClient(emulator_settings(emulator))
    client.create_keyset("putverb")
    emulator.clear_requests()
    client.replace_keyset("putverb", [{"kty": "oct", "use": "sig", "k": "YWJj"}])
    assert [(e["method"], e["path"]) for e in emulator.requests_log() if e["path"].startswith("/beta/")] == [
        ("PUT", "/beta/trustFramework/keySets/B2C_1A_putverb")
    ]
