"""Conformance: every operation and every error of the reference, through real HTTPS with a token from msal.

Each check looks at what a Graph client sees: status, error code and message, the error envelope (innerError ids and
the ``request-id`` header), and body shapes, including the request/response examples of the public Graph docs.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from b2c_policy_keys.emulator import READONLY_CLIENT_ID, READONLY_CLIENT_SECRET, Emulator
from b2c_policy_keys.model import now_epoch

from .helpers import GRAPH_SCOPE, msal_app
from .pki import Pki

KEYSETS = "/beta/trustFramework/keySets"
PERMISSION_MESSAGE = (
    "The application does not have any of the required application permissions "
    "(TrustFrameworkKeySet.Read.All, TrustFrameworkKeySet.ReadWrite.All) to access the resource. "
)
WRITE_PERMISSION_MESSAGE = (
    "The application does not have any of the required application permissions "
    "(TrustFrameworkKeySet.ReadWrite.All) to access the resource. "
)
#: The properties the docs' generateKey response example shows.
DOCS_KEY_PROPERTIES = {"@odata.context", "k", "x5c", "kty", "use", "exp", "nbf", "kid", "e", "n"}


class Graph:
    """A Graph caller as a real client is: msal for the token, requests over verified TLS."""

    def __init__(self, emu: Emulator, client_id: str | None = None, secret: str | None = None) -> None:
        self.emu = emu
        result = msal_app(emu, secret or emu.client_secret, client_id).acquire_token_for_client([GRAPH_SCOPE])
        assert "access_token" in result, result
        self.token = str(result["access_token"])
        self.session = requests.Session()

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None, **params: str) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "client-request-id": "conformance-1"}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        url = path if path.startswith("https://") else self.emu.graph_url + path
        # verify per request: REQUESTS_CA_BUNDLE would otherwise override Session.verify.
        return self.session.request(
            method, url, data=data, headers=headers, params=params or None, verify=self.emu.ca_bundle, timeout=30
        )

    def create(self, name: str) -> str:
        reply = self.call("POST", KEYSETS, {"id": name})
        assert reply.status_code == 201, reply.text
        return str(reply.json()["id"])

    def action(self, keyset_id: str, action: str, body: Any = None) -> Any:
        return self.call("POST", f"{KEYSETS}/{keyset_id}/{action}", body)


def expect_error(reply: requests.Response, status: int, code: str, message: str | None = None) -> str:
    """The Graph error envelope, with every id a support ticket needs."""
    assert reply.status_code == status, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    error = reply.json()["error"]
    assert error["code"] == code, error
    inner = error["innerError"]
    assert inner["request-id"] == reply.headers["request-id"]
    assert inner["client-request-id"] == "conformance-1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", inner["date"]), inner
    if code.startswith("AADB2C"):  # B2C's own envelopes carry a correlation id of their own
        assert inner["correlationId"] and inner["correlationId"] != inner["request-id"]
    else:  # Graph-level errors have none
        assert "correlationId" not in inner
    if message is not None:
        assert error["message"] == message
    return str(error["message"])


@pytest.fixture
def graph(emulator: Emulator) -> Graph:
    return Graph(emulator)


def test_key_set_lifecycle_matches_the_docs(graph: Graph) -> None:
    reply = graph.call("POST", KEYSETS, {"id": "keyset1"})  # the docs' "Create an empty keyset" request
    assert reply.status_code == 201
    assert reply.headers["Location"] == "/trustFramework/keySets('B2C_1A_keyset1')"
    assert reply.headers["request-id"]
    body = reply.json()
    assert {k: v for k, v in body.items() if k != "@odata.context"} == {"id": "B2C_1A_keyset1", "keys": []}
    assert body["@odata.context"] == f"{graph.emu.graph_url}/beta/$metadata#trustFramework/keySets/$entity"

    expect_error(
        graph.call("POST", KEYSETS, {"id": "B2C_1A_keyset1"}),
        409,
        "AADB2C95028",
        "Can't create trustframework key set with name 'B2C_1A_keyset1' because it already exists.",
    )
    for path in (f"{KEYSETS}/B2C_1A_keyset1", f"{KEYSETS}('B2C_1A_keyset1')", f"{KEYSETS}(%27B2C_1A_keyset1%27)"):
        got = graph.call("GET", path)
        assert got.status_code == 200 and got.json()["id"] == "B2C_1A_keyset1"

    listed = graph.call("GET", KEYSETS).json()
    assert listed["@odata.context"] == f"{graph.emu.graph_url}/beta/$metadata#trustFramework/keySets"
    assert [s["id"] for s in listed["value"]] == ["B2C_1A_keyset1"]

    deleted = graph.call("DELETE", f"{KEYSETS}/B2C_1A_keyset1")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert [s["id"] for s in graph.call("GET", KEYSETS).json()["value"]] == ["B2C_1A_keyset1.bak"]
    expect_error(
        graph.call("GET", f"{KEYSETS}/B2C_1A_keyset1"),
        400,
        "AADB2C90073",
        f"KeyContainer with 'id': 'B2C_1A_keyset1' cannot be found in the directory '{graph.emu.tenant_id}'",
    )
    expect_error(graph.call("DELETE", f"{KEYSETS}/B2C_1A_keyset1"), 400, "AADB2C90073")
    assert graph.create("keyset1") == "B2C_1A_keyset1"  # recreating right after a delete works


def test_list_pages_through_next_links(graph: Graph) -> None:
    names = [graph.create(f"page{i}") for i in range(5)]
    seen: list[str] = []
    reply = graph.call("GET", KEYSETS, **{"$top": "2"})
    while True:
        assert reply.status_code == 200
        body = reply.json()
        seen += [s["id"] for s in body["value"]]
        if "@odata.nextLink" not in body:
            break
        reply = graph.call("GET", body["@odata.nextLink"])
    assert seen == names
    expect_error(graph.call("GET", KEYSETS, **{"$top": "0"}), 400, "BadRequest")


def test_query_options_over_https_are_applied_or_refused(graph: Graph) -> None:
    """The shell hands the query to the rules: $select applied, $filter refused (Graph-level: no correlationId)."""
    graph.create("q1")
    graph.create("q2")
    selected = graph.call("GET", KEYSETS, **{"$select": "id", "$top": "1"}).json()
    assert selected["value"] == [{"id": "B2C_1A_q1"}]
    assert graph.call("GET", selected["@odata.nextLink"]).json()["value"] == [{"id": "B2C_1A_q2"}]
    message = expect_error(graph.call("GET", KEYSETS, **{"$filter": "id eq 'B2C_1A_q1'"}), 400, "BadRequest")
    assert message.startswith("Query option 'Filter' is not allowed.")


def test_generate_key_answers_like_the_docs_example(graph: Graph) -> None:
    keyset = graph.create("gen")
    now = now_epoch()
    reply = graph.action(keyset, "generateKey", {"use": "sig", "kty": "RSA", "nbf": now, "exp": now + 86400})
    assert reply.status_code == 200
    key = reply.json()
    assert set(key) >= DOCS_KEY_PROPERTIES
    assert key["@odata.context"] == f"{graph.emu.graph_url}/beta/$metadata#microsoft.graph.trustFrameworkKey"
    assert (key["kty"], key["use"], key["nbf"], key["exp"], key["k"], key["x5c"]) == (
        "RSA",
        "sig",
        now,
        now + 86400,
        None,
        [],
    )
    assert len(key["kid"]) == 43 and key["e"] == "AQAB" and len(base64.urlsafe_b64decode(key["n"] + "==")) == 256
    oct_set = graph.create("genoct")
    oct_key = graph.action(oct_set, "microsoft.graph.generateKey", {"use": "enc", "kty": "oct"}).json()
    assert oct_key["kty"] == "oct" and oct_key["k"] is None
    expect_error(
        graph.action(oct_set, "generateKey", {"use": "enc"}),
        400,
        "AADB2C95030",
        "Missing kty parameter for the trustframework key.",
    )
    expect_error(graph.action(oct_set, "generateKey", {"use": "enc", "kty": "EC"}), 400, "AADB2C95031")
    expect_error(graph.action(oct_set, "generateKey", {"use": "x", "kty": "oct"}), 400, "AADB2C95033")
    expect_error(graph.action(oct_set, "generateKey", {"use": "enc", "kty": "RSA"}), 400, "AADB2C95032")
    expect_error(graph.action(oct_set, "generateKey", {"use": "sig", "kty": "oct"}), 400, "AADB2C95042")
    expect_error(graph.action(oct_set, "generateKey", {"use": "enc", "kty": "oct", "exp": 1}), 400, "AADB2C90214")
    expect_error(graph.action(oct_set, "generateKey", {"use": "enc", "kty": "oct", "exp": "x"}), 400, "AADB2C90215")


def test_secret_active_key_and_keys_v2(graph: Graph) -> None:
    keyset = graph.create("secret")
    now = now_epoch()
    older = graph.action(keyset, "uploadSecret", {"use": "sig", "k": "first value", "nbf": now - 600}).json()
    newer = graph.action(keyset, "uploadSecret()", {"use": "sig", "k": "second value", "nbf": now - 60}).json()
    assert (newer["kty"], newer["use"], newer["k"]) == ("oct", "sig", None)
    assert graph.emu.secret_matches(keyset, newer["kid"], "second value")
    assert "second value" not in graph.call("GET", f"{KEYSETS}/{keyset}").text

    active = graph.call("GET", f"{KEYSETS}('{keyset}')/microsoft.graph.getActiveKey()")
    assert active.status_code == 200 and active.json()["kid"] == newer["kid"]
    message = expect_error(graph.action(keyset, "getActiveKey"), 404, "UnknownError")
    assert json.loads(message)["messageDetail"] == (
        "No action was found on the controller 'trustframework' that matches the request."
    )

    key_path = f"{KEYSETS}/{keyset}/keys_v2/{newer['kid']}"
    got = graph.call("GET", key_path).json()
    assert (got["kid"], got["status"]) == (newer["kid"], "enabled")
    patched = graph.call("PATCH", f"{KEYSETS}/{keyset}/keys_v2('{newer['kid']}')", {"status": "disabled"})
    assert (patched.status_code, patched.content) == (204, b"")
    assert graph.call("GET", key_path).json()["status"] == "disabled"
    assert graph.call("GET", f"{KEYSETS}/{keyset}/getActiveKey").json()["kid"] == older["kid"]
    expect_error(graph.call("PATCH", key_path, {"status": "enabled", "use": "enc"}), 400, "AADB2C90215")
    expect_error(graph.call("GET", f"{KEYSETS}/{keyset}/keys_v2/unknown"), 400, "AADB2C90073")
    expect_error(graph.action(keyset, "uploadSecret", {"use": "sig"}), 400, "AADB2C90253")

    graph.call("PATCH", f"{KEYSETS}/{keyset}/keys_v2/{older['kid']}", {"status": "disabled"})
    message = expect_error(graph.call("GET", f"{KEYSETS}/{keyset}/getActiveKey"), 400, "AADB2C90019")
    assert "does not has a valid key" in message


@pytest.mark.parametrize("pem", [False, True])
def test_upload_certificate(graph: Graph, pki: Pki, expired_pki: Pki, pem: bool) -> None:
    keyset = graph.create("cert")
    reply = graph.action(keyset, "uploadCertificate", {"key": pki.cer_b64(pem=pem)})
    assert reply.status_code == 200
    key = reply.json()
    assert (key["kty"], key["use"], key["x5c"]) == ("RSA", "sig", [base64.b64encode(pki.der).decode()])
    assert key["exp"] == int(pki.cert.not_valid_after_utc.timestamp()) and key["x5t"] and key["n"]
    expect_error(graph.action(keyset, "uploadCertificate", {"key": expired_pki.cer_b64()}), 400, "AADB2C90214")
    garbage = base64.b64encode(b"not a certificate").decode()
    expect_error(graph.action(keyset, "uploadCertificate", {"key": garbage}), 400, "AADB2C90179")
    expect_error(graph.action(keyset, "uploadCertificate", {}), 400, "AADB2C90253")


def test_upload_pkcs12(graph: Graph, pki: Pki) -> None:
    keyset = graph.create("pfx")
    ok = graph.action(keyset, "microsoft.graph.uploadPkcs12", {"key": pki.pfx_b64("right-pw"), "password": "right-pw"})
    assert ok.status_code == 200
    key = ok.json()
    assert key["x5c"] == [base64.b64encode(pki.der).decode()] and not {"d", "p", "q"} & set(key)
    wrong_password = "The certificate password provided in request is incorrect."
    wrong = {"key": pki.pfx_b64("right-pw"), "password": "wrong-pw"}
    expect_error(graph.action(keyset, "uploadPkcs12", wrong), 400, "AADB2C90213", wrong_password)
    aes = {"key": pki.pfx_b64("right-pw", algorithm="aes256"), "password": "right-pw"}
    expect_error(graph.action(keyset, "uploadPkcs12", aes), 400, "AADB2C90213", wrong_password)
    expect_error(graph.action(keyset, "uploadPkcs12", {"key": pki.pfx_b64("x")}), 400, "AADB2C90253")


def test_put_replaces_keys_and_enforces_every_rule(graph: Graph) -> None:
    keyset = graph.create("put")
    graph.action(keyset, "uploadSecret", {"use": "enc", "k": "old"})
    path = f"{KEYSETS}/{keyset}"
    replaced = graph.call("PUT", path, {"keys": [{"kty": "oct", "use": "enc", "k": "bmV3"}]})
    assert replaced.status_code == 200
    (key,) = replaced.json()["keys"]
    assert key["k"] is None and len(key["kid"]) == 43

    def put(keys: list[dict[str, Any]]) -> requests.Response:
        return graph.call("PUT", path, {"keys": keys})

    expect_error(
        put([{"kid": "x", "kty": "oct", "use": "enc", "k": "YQ"}]),
        400,
        "AADB2C95059",
        "One of the keys in the payload has 'kid' which is not empty.",
    )
    expect_error(
        graph.call("PUT", path, {"@odata.type": "#microsoft.graph.trustFrameworkKeySet", "keys": []}),
        400,
        "AADB2C",
        "The 'keySet' field is invalid in request. Please check the request body and parameters.",
    )
    n = base64.urlsafe_b64encode(b"\xc1" * 256).rstrip(b"=").decode()
    mixed_types = [{"kty": "oct", "use": "sig", "k": "YQ"}, {"kty": "RSA", "use": "sig", "n": n, "e": "AQAB"}]
    expect_error(put(mixed_types), 400, "AADB2C95032", "One can't mix RSA and Oct types in one key set.")
    mixed_uses = [{"kty": "oct", "use": "sig", "k": "YQ"}, {"kty": "oct", "use": "enc", "k": "YQ"}]
    expect_error(put(mixed_uses), 400, "AADB2C95042", "One can't mix signature and encryption usage in one key set.")
    expect_error(put([{"kty": "EC", "use": "sig"}]), 400, "AADB2C95031")
    expect_error(put([{"kty": "oct", "use": "both", "k": "YQ"}]), 400, "AADB2C95033")
    expect_error(put([{"kty": "oct", "use": "sig", "k": "not+base64url/"}]), 400, "AADB2C95041")
    expect_error(put([{"kty": "oct", "use": "sig", "k": "YQ", "exp": 1}]), 400, "AADB2C90214")
    expect_error(graph.call("PUT", path, {}), 400, "AADB2C90253")
    expect_error(graph.call("PUT", f"{KEYSETS}/B2C_1A_absent", {"keys": []}), 400, "AADB2C90073")
    assert [k["kid"] for k in graph.call("GET", path).json()["keys"]] == [key["kid"]]
    typed = {"@odata.type": "#microsoft.graph.trustFrameworkKeySet", "id": "typed"}
    expect_error(graph.call("POST", KEYSETS, typed), 400, "AADB2C")


@pytest.mark.parametrize(
    ("path", "segment"),
    [
        ("/v1.0/trustFramework/keySets", "trustFramework"),
        ("/beta/trustFramework/keySetz", "keySetz"),
        ("/beta/trustFramework/keySets/B2C_1A_x/rotateKey", "rotateKey"),
    ],
)
def test_unknown_segments(graph: Graph, path: str, segment: str) -> None:
    expect_error(graph.call("GET", path), 400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def test_read_only_client_reads_but_cannot_write(emulator: Emulator) -> None:
    writer = Graph(emulator)
    keyset = writer.create("perm")
    reader = Graph(emulator, READONLY_CLIENT_ID, READONLY_CLIENT_SECRET)
    assert reader.call("GET", f"{KEYSETS}/{keyset}").status_code == 200
    assert reader.call("GET", KEYSETS).status_code == 200
    expect_error(reader.call("POST", KEYSETS, {"id": "nope"}), 403, "AADB2C", WRITE_PERMISSION_MESSAGE)
    upload = reader.action(keyset, "uploadSecret", {"use": "sig", "k": "v"})
    expect_error(upload, 403, "AADB2C", WRITE_PERMISSION_MESSAGE)
    expect_error(reader.call("DELETE", f"{KEYSETS}/{keyset}"), 403, "AADB2C", WRITE_PERMISSION_MESSAGE)
    expect_error(reader.call("GET", f"{KEYSETS}/{keyset}/keys_v2"), 403, "AADB2C", WRITE_PERMISSION_MESSAGE)
    nobody = Graph(emulator, *_no_role_client(emulator))
    expect_error(nobody.call("GET", KEYSETS), 403, "AADB2C", PERMISSION_MESSAGE)


def _no_role_client(emu: Emulator) -> tuple[str, str]:
    emu.add_client("b2c00000-0000-4000-8000-0000000000c9", secret="no-role-secret", roles=[])
    return "b2c00000-0000-4000-8000-0000000000c9", "no-role-secret"


def test_malformed_json_is_400(graph: Graph) -> None:
    expect_error(graph.call("POST", KEYSETS, raw=b'{"id": '), 400, "BadRequest")


def test_overlapping_writes_to_one_key_set_answer_95053(emulator_factory: Callable[..., Emulator]) -> None:
    emu = emulator_factory(latency_ms=400)
    callers = [Graph(emu) for _ in range(4)]
    keyset = callers[0].create("busy")
    for caller in callers:  # open every TLS connection first, so the writes below start together
        assert caller.call("GET", f"{KEYSETS}/{keyset}").status_code == 200
    start = threading.Barrier(len(callers))
    replies: list[requests.Response] = []
    lock = threading.Lock()

    def write(caller: Graph) -> None:
        start.wait(timeout=30)
        reply = caller.action(keyset, "uploadSecret", {"use": "sig", "k": "v"})
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=write, args=(c,)) for c in callers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(r.status_code for r in replies)
    assert statuses.count(200) >= 1 and statuses.count(409) >= 1
    for reply in replies:
        if reply.status_code == 409:
            expect_error(reply, 409, "AADB2C95053")
    stored = callers[0].call("GET", f"{KEYSETS}/{keyset}").json()["keys"]
    assert len(stored) == statuses.count(200)


def test_state_survives_a_restart_without_secrets_on_disk(
    emulator_factory: Callable[..., Emulator], tmp_path: Path, pki: Pki
) -> None:
    data = tmp_path / "tenant"
    first = emulator_factory(data=data)
    graph = Graph(first)
    keyset = graph.create("persist")
    secret = "persisted-secret-marker-c0ffee"
    kid = graph.action(keyset, "uploadSecret", {"use": "sig", "k": secret}).json()["kid"]
    pfx_set = graph.create("persistpfx")
    password = "persisted-pfx-password-feed"
    pfx = graph.action(pfx_set, "uploadPkcs12", {"key": pki.pfx_b64(password), "password": password})
    assert pfx.status_code == 200
    log = json.dumps(first.requests_log())
    first.stop()

    second = emulator_factory(data=data)
    again = Graph(second)
    assert [k["kid"] for k in again.call("GET", f"{KEYSETS}/{keyset}").json()["keys"]] == [kid]
    assert second.secret_matches(keyset, kid, secret)
    second.stop()
    blob = b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())
    assert b"B2C_1A_persist" in blob
    for marker in (secret, password):
        assert marker.encode() not in blob and marker not in log


def test_docs_examples_with_placeholders_and_past_dates_are_refused_as_the_rules_say(graph: Graph) -> None:
    """The docs' "create a keyset with a key" example sends a ``kid`` and placeholder values; its uploadSecret
    example's dates lie in 2017. Both would be refused by the rules the reference records."""
    docs_key = {"k": "k-value", "x5c": ["x5c-value"], "x5t": "x5t-value", "kty": "kty-value", "use": "use-value"}
    docs_key |= {"exp": 99, "nbf": 99, "kid": "kid-value", "e": "e-value", "n": "n-value", "d": "d-value"}
    expect_error(graph.call("POST", KEYSETS, {"id": "keyset1", "keys": [docs_key]}), 400, "AADB2C95059")
    assert graph.call("GET", f"{KEYSETS}/B2C_1A_keyset1").status_code == 400
    keyset = graph.create("keyset1")
    stale = {"use": "sig", "k": "k-value", "nbf": 1508969811, "exp": 1508973711}
    expect_error(graph.action(keyset, "uploadSecret", stale), 400, "AADB2C90214")
    fresh = graph.action(keyset, "uploadSecret", stale | {"nbf": now_epoch(), "exp": now_epoch() + 3600}).json()
    assert set(fresh) >= {"kid", "use", "kty", "nbf", "exp"} and (fresh["use"], fresh["kty"]) == ("sig", "oct")
