"""The Graph semantics called directly: every rule of the reference, fast, without HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys.emulator.envelope import RequestIds
from b2c_policy_keys.emulator.principal import READ_ROLE, READ_WRITE_ROLE, Principal
from b2c_policy_keys.emulator.refusals import PERMISSION_MESSAGE, WRITE_PERMISSION_MESSAGE
from b2c_policy_keys.emulator.service import GraphService, Reply
from b2c_policy_keys.emulator.store import DB_FILE, Store
from b2c_policy_keys.model import now_epoch

from .pki import Pki

TENANT = "b2c00000-0000-4000-8000-000000000001"
WRITER = Principal("writer", frozenset({READ_WRITE_ROLE}))
READER = Principal("reader", frozenset({READ_ROLE}))
NOBODY = Principal("nobody", frozenset())
KEYSETS = "/beta/trustFramework/keySets"
KID_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
NEVER_RETURNED = ("d", "p", "q", "dp", "dq", "qi")


class Clock:
    def __init__(self) -> None:
        self.now = now_epoch()

    def __call__(self) -> int:
        return self.now


class Api:
    """Calls the service as the shell does, with JSON in and out."""

    def __init__(self, service: GraphService) -> None:
        self.service = service

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: str = "",
        principal: Principal = WRITER,
        raw: bytes | None = None,
    ) -> Reply:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        ids = RequestIds.for_request("client-req-1")
        return self.service.handle(method, path, query, data, principal, ids)

    def create(self, name: str = "keyset1", **extra: Any) -> str:
        reply = self.call("POST", KEYSETS, {"id": name, **extra})
        assert reply.status == 201, reply.body
        assert reply.body is not None
        return str(reply.body["id"])

    def action(self, keyset_id: str, action: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.call("POST", f"{KEYSETS}/{keyset_id}/{action}", body, **kwargs)

    def keys(self, keyset_id: str) -> list[dict[str, Any]]:
        reply = self.call("GET", f"{KEYSETS}/{keyset_id}")
        assert reply.status == 200 and reply.body is not None
        return list(reply.body["keys"])


def error_of(reply: Reply) -> tuple[int, str, str]:
    assert reply.body is not None, reply
    error = reply.body["error"]
    inner = error["innerError"]
    assert inner["client-request-id"] == "client-req-1"
    assert inner["request-id"] and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", inner["date"])
    if error["code"].startswith("AADB2C"):  # B2C's envelopes: a correlation id distinct from the request id
        assert inner["correlationId"] and inner["correlationId"] != inner["request-id"]
    else:  # Graph-level errors carry none
        assert "correlationId" not in inner
    return reply.status, error["code"], error["message"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(clock: Clock) -> Api:
    return Api(GraphService(Store.open(None), tenant_id=TENANT, graph_url="https://graph.test", clock=clock))


# --- key sets -------------------------------------------------------------------------------------------------


def test_create_adds_the_prefix_and_answers_201_with_a_location(api: Api) -> None:
    reply = api.call("POST", KEYSETS, {"id": "keyset1"})
    assert reply.status == 201
    assert reply.body == {
        "@odata.context": "https://graph.test/beta/$metadata#trustFramework/keySets/$entity",
        "id": "B2C_1A_keyset1",
        "keys": [],
    }
    assert reply.headers["Location"] == "/trustFramework/keySets('B2C_1A_keyset1')"


def test_create_keeps_an_existing_prefix(api: Api) -> None:
    assert api.create("B2C_1A_already") == "B2C_1A_already"


@pytest.mark.parametrize("second", ["keyset1", "B2C_1A_keyset1", "KEYSET1"])
def test_duplicate_create_is_95028_with_409(api: Api, second: str) -> None:
    api.create("keyset1")
    status, code, message = error_of(api.call("POST", KEYSETS, {"id": second}))
    assert (status, code) == (409, "AADB2C95028")
    assert message.startswith("Can't create trustframework key set with name 'B2C_1A_")
    assert message.endswith("because it already exists.")


@pytest.mark.parametrize(
    ("body", "code"),
    [({}, "AADB2C90253"), ({"id": ""}, "AADB2C90253"), ({"id": "a b"}, "AADB2C"), ({"id": 5}, "AADB2C")],
)
def test_create_refuses_missing_or_bad_ids(api: Api, body: dict[str, Any], code: str) -> None:
    status, got, _ = error_of(api.call("POST", KEYSETS, body))
    assert (status, got) == (400, code)


def test_create_with_keys_assigns_kids_and_hides_k(api: Api) -> None:
    reply = api.call(
        "POST", KEYSETS, {"id": "withkey", "keys": [{"kty": "oct", "use": "sig", "k": "c2VjcmV0LXZhbHVl"}]}
    )
    assert reply.status == 201 and reply.body is not None
    (key,) = reply.body["keys"]
    assert KID_RE.match(key["kid"]) and key["k"] is None and key["kty"] == "oct"


def test_odata_type_in_a_create_or_put_body_is_refused(api: Api) -> None:
    expected = "The 'keySet' field is invalid in request. Please check the request body and parameters."
    body = {"@odata.type": "#microsoft.graph.trustFrameworkKeySet", "id": "typed"}
    assert error_of(api.call("POST", KEYSETS, body)) == (400, "AADB2C", expected)
    keyset = api.create("plain")
    put = {"@odata.type": "#microsoft.graph.trustFrameworkKeySet", "keys": []}
    assert error_of(api.call("PUT", f"{KEYSETS}/{keyset}", put)) == (400, "AADB2C", expected)
    typed_key = {"keys": [{"@odata.type": "microsoft.graph.trustFrameworkKey", "kty": "oct", "use": "sig", "k": "YQ"}]}
    assert error_of(api.call("PUT", f"{KEYSETS}/{keyset}", typed_key)) == (400, "AADB2C", expected)


def test_get_of_a_missing_key_set_is_90073_with_400(api: Api) -> None:
    status, code, message = error_of(api.call("GET", f"{KEYSETS}/B2C_1A_nothing"))
    assert (status, code) == (400, "AADB2C90073")
    assert message == f"KeyContainer with 'id': 'B2C_1A_nothing' cannot be found in the directory '{TENANT}'"


@pytest.mark.parametrize(
    "path",
    [
        "/beta/trustFramework/keySets/B2C_1A_addr",
        "/beta/trustFramework/keySets('B2C_1A_addr')",
        "/beta/trustFramework/keySets(%27B2C_1A_addr%27)",
        "/beta/trustFramework/keySets/B2C%5F1A%5Faddr",
        "/beta/trustframework/keysets/b2c_1a_addr",
    ],
)
def test_every_addressing_form_reaches_the_same_key_set(api: Api, path: str) -> None:
    api.create("addr")
    reply = api.call("GET", path)
    assert reply.status == 200 and reply.body is not None
    assert reply.body["id"] == "B2C_1A_addr"


@pytest.mark.parametrize(
    "action",
    ["uploadSecret", "microsoft.graph.uploadSecret", "uploadSecret()", "microsoft.graph.uploadSecret()"],
)
def test_actions_accept_qualified_and_parenthesised_names(api: Api, action: str) -> None:
    keyset = api.create("qualified")
    reply = api.call("POST", f"{KEYSETS}('{keyset}')/{action}", {"use": "sig", "k": "value"})
    assert reply.status == 200


@pytest.mark.parametrize(
    ("path", "segment"),
    [
        ("/v1.0/trustFramework/keySets", "trustFramework"),
        ("/v1.0/trustFramework/keySets/B2C_1A_x", "trustFramework"),
        ("/beta/nothingHere", "nothingHere"),
        ("/beta/trustFramework/policies", "policies"),
        ("/beta/trustFramework/keySets/B2C_1A_x/rotate", "rotate"),
    ],
)
def test_unknown_segments_answer_like_graph(api: Api, path: str, segment: str) -> None:
    assert error_of(api.call("GET", path)) == (400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def test_list_pages_with_top_and_next_link_in_creation_order(api: Api) -> None:
    names = [api.create(f"set{i}") for i in range(5)]
    seen: list[str] = []
    reply = api.call("GET", KEYSETS, query="$top=2")
    pages = 0
    while True:
        assert reply.status == 200 and reply.body is not None
        assert reply.body["@odata.context"] == "https://graph.test/beta/$metadata#trustFramework/keySets"
        assert len(reply.body["value"]) <= 2
        seen += [s["id"] for s in reply.body["value"]]
        pages += 1
        link = reply.body.get("@odata.nextLink")
        if link is None:
            break
        base, _, query = link.partition("?")
        assert base == "https://graph.test/beta/trustFramework/keySets"
        reply = api.call("GET", KEYSETS, query=query)
    assert seen == names
    assert pages == 3


def test_list_default_page_is_100(api: Api) -> None:
    for i in range(101):
        api.create(f"many{i}")
    reply = api.call("GET", KEYSETS)
    assert reply.body is not None
    assert len(reply.body["value"]) == 100 and "@odata.nextLink" in reply.body


@pytest.mark.parametrize("query", ["$top=0", "$top=abc", "$top=1000", "$skiptoken=zz"])
def test_list_refuses_bad_paging_values(api: Api, query: str) -> None:
    assert error_of(api.call("GET", KEYSETS, query=query))[:2] == (400, "BadRequest")


def test_put_replaces_every_key_with_new_service_kids(api: Api) -> None:
    keyset = api.create("put")
    api.action(keyset, "uploadSecret", {"use": "sig", "k": "old"})
    body = {
        "keys": [{"kty": "oct", "use": "sig", "k": "bmV3LXZhbHVl"}, {"kty": "oct", "use": "sig", "k": "YW5vdGhlcg"}]
    }
    reply = api.call("PUT", f"{KEYSETS}/{keyset}", body)
    assert reply.status == 200 and reply.body is not None
    kids = [k["kid"] for k in reply.body["keys"]]
    assert len(set(kids)) == 2 and all(KID_RE.match(kid) for kid in kids)
    assert [k["kid"] for k in api.keys(keyset)] == kids
    assert api.service.secret_matches(keyset, kids[0], "bmV3LXZhbHVl")


def test_put_of_an_rsa_jwk_keeps_only_the_public_parts(api: Api, pki: Pki) -> None:
    keyset = api.create("putrsa")
    numbers = pki.key.private_numbers()

    def b64(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    jwk = {"kty": "RSA", "use": "enc", "n": b64(numbers.public_numbers.n), "e": b64(numbers.public_numbers.e)}
    jwk |= {"d": b64(numbers.d), "p": b64(numbers.p), "q": b64(numbers.q)}
    jwk |= {"dp": b64(numbers.dmp1), "dq": b64(numbers.dmq1), "qi": b64(numbers.iqmp)}
    reply = api.call("PUT", f"{KEYSETS}/{keyset}", {"keys": [jwk]})
    assert reply.status == 200 and reply.body is not None
    (key,) = reply.body["keys"]
    assert key["n"] == jwk["n"] and key["e"] == "AQAB"
    assert not any(name in key for name in NEVER_RETURNED)


@pytest.mark.parametrize(
    ("keys", "code"),
    [
        ([{"kid": "mine", "kty": "oct", "use": "sig", "k": "YQ"}], "AADB2C95059"),
        ([{"kty": "oct", "use": "sig", "k": "YQ"}, {"kty": "oct", "use": "enc", "k": "YQ"}], "AADB2C95042"),
        ([{"kty": "EC", "use": "sig"}], "AADB2C95031"),
        ([{"kty": "oct", "use": "verify", "k": "YQ"}], "AADB2C95033"),
        ([{"kty": "oct", "use": "sig", "k": "not base64url!"}], "AADB2C95041"),
        ([{"kty": "oct", "use": "sig", "k": "YQ", "exp": 1000}], "AADB2C90214"),
        ([{"kty": "oct", "use": "sig"}], "AADB2C90253"),
        ([{"kty": "RSA", "use": "sig", "n": "AQAB", "e": "AQAB"}], "AADB2C90137"),
        (["not an object"], "AADB2C95026"),
    ],
)
def test_put_refuses_bad_keys_with_the_documented_codes(api: Api, keys: list[Any], code: str) -> None:
    keyset = api.create("bad")
    status, got, _ = error_of(api.call("PUT", f"{KEYSETS}/{keyset}", {"keys": keys}))
    assert (status, got) == (400, code)
    assert api.keys(keyset) == []


def test_put_refuses_mixing_rsa_and_oct(api: Api) -> None:
    keyset = api.create("mixput")
    n = base64.urlsafe_b64encode(b"\xc1" * 256).rstrip(b"=").decode()
    keys = [{"kty": "oct", "use": "sig", "k": "YQ"}, {"kty": "RSA", "use": "sig", "n": n, "e": "AQAB"}]
    assert error_of(api.call("PUT", f"{KEYSETS}/{keyset}", {"keys": keys}))[:2] == (400, "AADB2C95032")


def test_put_needs_keys_and_an_existing_set(api: Api) -> None:
    keyset = api.create("putneeds")
    assert error_of(api.call("PUT", f"{KEYSETS}/{keyset}", {}))[:2] == (400, "AADB2C90253")
    assert error_of(api.call("PUT", f"{KEYSETS}/B2C_1A_gone", {"keys": []}))[:2] == (400, "AADB2C90073")


def test_patch_of_a_key_set_is_not_an_operation(api: Api) -> None:
    keyset = api.create("nopatch")
    status, code, message = error_of(api.call("PATCH", f"{KEYSETS}/{keyset}", {"keys": []}))
    assert (status, code) == (405, "UnknownError")
    assert json.loads(message) == {"message": "The requested resource does not support http method 'PATCH'."}
    assert api.keys(keyset) == []


def test_delete_leaves_a_backup_that_is_listed_and_allows_recreation(api: Api) -> None:
    keyset = api.create("del")
    kid = api.action(keyset, "uploadSecret", {"use": "sig", "k": "v"}).body["kid"]  # type: ignore[index]
    reply = api.call("DELETE", f"{KEYSETS}/{keyset}")
    assert (reply.status, reply.body) == (204, None)
    assert error_of(api.call("GET", f"{KEYSETS}/{keyset}"))[:2] == (400, "AADB2C90073")
    assert [k["kid"] for k in api.keys("B2C_1A_del.bak")] == [kid]
    listed = api.call("GET", KEYSETS).body
    assert listed is not None and [s["id"] for s in listed["value"]] == ["B2C_1A_del.bak"]
    assert api.create("del") == "B2C_1A_del"
    assert error_of(api.call("DELETE", f"{KEYSETS}/B2C_1A_missing"))[:2] == (400, "AADB2C90073")


def test_a_second_delete_replaces_the_backup_and_deleting_a_backup_leaves_none(api: Api) -> None:
    keyset = api.create("twice")
    api.call("DELETE", f"{KEYSETS}/{keyset}")
    api.create("twice")
    kid = api.action(keyset, "generateKey", {"use": "sig", "kty": "oct"}).body["kid"]  # type: ignore[index]
    assert api.call("DELETE", f"{KEYSETS}/{keyset}").status == 204
    assert [k["kid"] for k in api.keys("B2C_1A_twice.bak")] == [kid]
    assert api.call("DELETE", f"{KEYSETS}/B2C_1A_twice.bak").status == 204
    listed = api.call("GET", KEYSETS).body
    assert listed is not None and listed["value"] == []


# --- keys -----------------------------------------------------------------------------------------------------


def test_generate_rsa_key_is_a_real_2048_bit_key(api: Api, clock: Clock) -> None:
    keyset = api.create("gen")
    nbf, exp = clock.now - 10, clock.now + 3600
    reply = api.action(keyset, "generateKey", {"use": "sig", "kty": "RSA", "nbf": nbf, "exp": exp})
    assert reply.status == 200 and reply.body is not None
    key = reply.body
    assert key["@odata.context"] == "https://graph.test/beta/$metadata#microsoft.graph.trustFrameworkKey"
    assert KID_RE.match(key["kid"]) and (key["kty"], key["use"]) == ("RSA", "sig")
    assert (key["nbf"], key["exp"], key["e"], key["k"], key["x5c"]) == (nbf, exp, "AQAB", None, [])
    modulus = int.from_bytes(base64.urlsafe_b64decode(key["n"] + "=="), "big")
    assert modulus.bit_length() == 2048 and modulus % 2 == 1


def test_generate_oct_key_never_shows_its_value(api: Api) -> None:
    keyset = api.create("genoct")
    first = api.action(keyset, "generateKey", {"use": "enc", "kty": "oct"}).body
    second = api.action(keyset, "generateKey", {"use": "enc", "kty": "OCT"}).body
    assert first is not None and second is not None
    assert first["kty"] == "oct" and first["k"] is None and first["n"] is None
    assert first["kid"] != second["kid"]
    assert [k["kty"] for k in api.keys(keyset)] == ["oct", "oct"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kty": "RSA"}, "AADB2C90253"),
        ({"use": "sig"}, "AADB2C95030"),
        ({"use": "sig", "kty": "EC"}, "AADB2C95031"),
        ({"use": "both", "kty": "RSA"}, "AADB2C95033"),
        ({"use": "sig", "kty": "oct", "exp": 1_000_000}, "AADB2C90214"),
        ({"use": "sig", "kty": "oct", "nbf": 4_000_000_000, "exp": 3_000_000_000}, "AADB2C90215"),
        ({"use": "sig", "kty": "oct", "exp": 4_000_000_000_000}, "AADB2C90215"),
        ({"use": "sig", "kty": "oct", "exp": "soon"}, "AADB2C90215"),
    ],
)
def test_generate_refuses_bad_parameters(api: Api, body: dict[str, Any], code: str) -> None:
    keyset = api.create("genbad")
    assert error_of(api.action(keyset, "generateKey", body))[:2] == (400, code)


def test_actions_refuse_a_key_of_another_family(api: Api) -> None:
    keyset = api.create("family")
    api.action(keyset, "uploadSecret", {"use": "sig", "k": "v"})
    assert error_of(api.action(keyset, "generateKey", {"use": "sig", "kty": "RSA"}))[:2] == (400, "AADB2C95032")
    assert error_of(api.action(keyset, "uploadSecret", {"use": "enc", "k": "v"}))[:2] == (400, "AADB2C95042")


def test_actions_on_a_missing_key_set_are_90073(api: Api) -> None:
    assert error_of(api.action("B2C_1A_none", "uploadSecret", {"use": "sig", "k": "v"}))[:2] == (400, "AADB2C90073")


def test_upload_secret_keeps_only_a_salted_mac(api: Api) -> None:
    keyset = api.create("secret")
    reply = api.action(keyset, "uploadSecret", {"use": "sig", "k": "correct horse battery staple"})
    assert reply.status == 200 and reply.body is not None
    key = reply.body
    assert (key["kty"], key["use"], key["k"]) == ("oct", "sig", None)
    assert "correct horse" not in json.dumps(api.call("GET", f"{KEYSETS}/{keyset}").body)
    assert api.service.secret_matches(keyset, key["kid"], "correct horse battery staple")
    assert not api.service.secret_matches(keyset, key["kid"], "correct horse battery stapler")
    assert not api.service.secret_matches(keyset, "no-such-kid", "correct horse battery staple")
    assert error_of(api.action(keyset, "uploadSecret", {"use": "sig"}))[:2] == (400, "AADB2C90253")


@pytest.mark.parametrize("pem", [False, True])
def test_upload_certificate_returns_the_certificate_facts(api: Api, pki: Pki, pem: bool) -> None:
    keyset = api.create("cert")
    reply = api.action(keyset, "uploadCertificate", {"key": pki.cer_b64(pem=pem)})
    assert reply.status == 200 and reply.body is not None
    key = reply.body
    expected_x5t = base64.urlsafe_b64encode(hashlib.sha1(pki.der).digest()).rstrip(b"=").decode()
    assert (key["kty"], key["use"], key["x5t"]) == ("RSA", "sig", expected_x5t)
    assert key["x5c"] == [base64.b64encode(pki.der).decode()]
    assert key["nbf"] == int(pki.cert.not_valid_before_utc.timestamp())
    assert key["exp"] == int(pki.cert.not_valid_after_utc.timestamp())
    assert key["e"] == "AQAB" and key["n"]


def test_upload_certificate_refusals(api: Api, expired_pki: Pki) -> None:
    keyset = api.create("certbad")
    assert error_of(api.action(keyset, "uploadCertificate", {}))[:2] == (400, "AADB2C90253")
    garbage = base64.b64encode(b"this is not a certificate").decode()
    assert error_of(api.action(keyset, "uploadCertificate", {"key": garbage}))[:2] == (400, "AADB2C90179")
    assert error_of(api.action(keyset, "uploadCertificate", {"key": "%%%"}))[:2] == (400, "AADB2C90179")
    expired = {"key": expired_pki.cer_b64()}
    assert error_of(api.action(keyset, "uploadCertificate", expired))[:2] == (400, "AADB2C90214")


def test_upload_pkcs12_opens_a_tripledes_pfx_with_its_password(api: Api, pki: Pki) -> None:
    keyset = api.create("pfx")
    reply = api.action(keyset, "uploadPkcs12", {"key": pki.pfx_b64("pfx-pass-1"), "password": "pfx-pass-1"})
    assert reply.status == 200 and reply.body is not None
    key = reply.body
    assert key["x5c"] == [base64.b64encode(pki.der).decode()] and key["use"] == "sig"
    assert not any(name in key for name in NEVER_RETURNED)


@pytest.mark.parametrize(
    ("algorithm", "password", "code"),
    [("3des", "wrong", "AADB2C90213"), ("aes256", "pfx-pass-1", "AADB2C90213"), ("aes256", "wrong", "AADB2C90213")],
)
def test_upload_pkcs12_refuses_wrong_passwords_and_aes256(
    api: Api, pki: Pki, algorithm: str, password: str, code: str
) -> None:
    keyset = api.create("pfxbad")
    body = {"key": pki.pfx_b64("pfx-pass-1", algorithm=algorithm), "password": password}
    assert error_of(api.action(keyset, "uploadPkcs12", body)) == (
        400,
        code,
        "The certificate password provided in request is incorrect.",
    )


def test_upload_pkcs12_other_refusals(api: Api, pki: Pki, expired_pki: Pki) -> None:
    keyset = api.create("pfxother")
    assert error_of(api.action(keyset, "uploadPkcs12", {"password": "x"}))[:2] == (400, "AADB2C90253")
    assert error_of(api.action(keyset, "uploadPkcs12", {"key": pki.pfx_b64("x")}))[:2] == (400, "AADB2C90253")
    garbage = {"key": base64.b64encode(b"nope").decode(), "password": "x"}
    assert error_of(api.action(keyset, "uploadPkcs12", garbage))[:2] == (400, "AADB2C90179")
    expired = {"key": expired_pki.pfx_b64("x"), "password": "x"}
    assert error_of(api.action(keyset, "uploadPkcs12", expired))[:2] == (400, "AADB2C90214")


def test_active_key_follows_the_documented_rule(api: Api, clock: Clock) -> None:
    keyset = api.create("active")
    now = clock.now
    kids = {}
    for name, nbf, exp in [
        ("no_nbf", None, None),
        ("older", now - 7200, now + 7200),
        ("newer", now - 60, now + 7200),
        ("future", now + 3600, now + 7200),
    ]:
        body: dict[str, Any] = {"use": "sig", "k": name}
        body |= {"nbf": nbf} if nbf is not None else {}
        body |= {"exp": exp} if exp is not None else {}
        kids[name] = api.action(keyset, "uploadSecret", body).body["kid"]  # type: ignore[index]

    def active() -> str:
        reply = api.call("GET", f"{KEYSETS}/{keyset}/getActiveKey")
        assert reply.status == 200 and reply.body is not None
        return str(reply.body["kid"])

    assert active() == kids["newer"]
    clock.now = now + 3600
    assert active() == kids["future"]
    patch = api.call("PATCH", f"{KEYSETS}/{keyset}/keys_v2/{kids['future']}", {"status": "disabled"})
    assert (patch.status, patch.body) == (204, None)
    assert active() == kids["newer"]
    clock.now = now + 7200
    assert active() == kids["no_nbf"]


def test_get_active_key_without_a_valid_key_is_90019(api: Api) -> None:
    keyset = api.create("empty")
    status, code, message = error_of(api.call("GET", f"{KEYSETS}/{keyset}/microsoft.graph.getActiveKey()"))
    assert (status, code) == (400, "AADB2C90019")
    assert message.startswith(f"The key container with id '{keyset}' in tenant '{TENANT}' does not has a valid key.")


def test_get_active_key_by_post_is_an_unknown_error(api: Api) -> None:
    keyset = api.create("postactive")
    status, code, message = error_of(api.action(keyset, "getActiveKey"))
    assert code == "UnknownError" and status == 404
    # The body of microsoft-graph-docs PR 9963, key for key (the internal cpim URL names the set as addressed).
    assert json.loads(message) == {
        "message": "No HTTP resource was found that matches the request URI "
        f"'https://cpim.windows.net/graph/trustFramework/keySets('{keyset}')/Microsoft.Cpim.Api.DataModels.getActiveKey'.",
        "messageDetail": "No action was found on the controller 'trustframework' that matches the request.",
        "stackTrace": None,
    }


def test_keys_v2_get_and_patch_status(api: Api) -> None:
    keyset = api.create("v2")
    kid = api.action(keyset, "uploadSecret", {"use": "enc", "k": "v"}).body["kid"]  # type: ignore[index]
    for path in (f"{KEYSETS}/{keyset}/keys_v2/{kid}", f"{KEYSETS}('{keyset}')/keys_v2('{kid}')"):
        reply = api.call("GET", path)
        assert reply.status == 200 and reply.body is not None
        assert (reply.body["kid"], reply.body["status"], reply.body["kty"]) == (kid, "enabled", "oct")
    assert api.call("PATCH", f"{KEYSETS}/{keyset}/keys_v2/{kid}", {"status": "disabled"}).status == 204
    assert api.keys(keyset)[0]["status"] == "disabled"
    assert api.call("PATCH", f"{KEYSETS}/{keyset}/keys_v2('{kid}')", {"status": "enabled"}).status == 204
    assert api.keys(keyset)[0]["status"] == "enabled"


@pytest.mark.parametrize(
    ("body", "code"),
    [({"status": "disabled", "use": "sig"}, "AADB2C90215"), ({"status": "off"}, "AADB2C90215"), ({}, "AADB2C90253")],
)
def test_keys_v2_patch_changes_status_only(api: Api, body: dict[str, Any], code: str) -> None:
    keyset = api.create("v2bad")
    kid = api.action(keyset, "uploadSecret", {"use": "enc", "k": "v"}).body["kid"]  # type: ignore[index]
    assert error_of(api.call("PATCH", f"{KEYSETS}/{keyset}/keys_v2/{kid}", body))[:2] == (400, code)
    assert api.keys(keyset)[0]["status"] == "enabled"


def test_keys_v2_of_an_unknown_kid_is_90073(api: Api) -> None:
    keyset = api.create("v2none")
    assert error_of(api.call("GET", f"{KEYSETS}/{keyset}/keys_v2/nope"))[:2] == (400, "AADB2C90073")


# --- permissions, bodies, concurrency ------------------------------------------------------------------------


def test_reads_need_a_read_role_and_writes_need_read_write(api: Api) -> None:
    keyset = api.create("perm")
    assert api.call("GET", f"{KEYSETS}/{keyset}", principal=READER).status == 200
    assert api.call("GET", f"{KEYSETS}/{keyset}/getActiveKey", principal=READER).status == 400  # no key, but allowed
    for method, path, body in [
        ("POST", KEYSETS, {"id": "x"}),
        ("PUT", f"{KEYSETS}/{keyset}", {"keys": []}),
        ("DELETE", f"{KEYSETS}/{keyset}", None),
        ("POST", f"{KEYSETS}/{keyset}/uploadSecret", {"use": "sig", "k": "v"}),
    ]:
        assert error_of(api.call(method, path, body, principal=READER)) == (403, "AADB2C", WRITE_PERMISSION_MESSAGE)
    assert PERMISSION_MESSAGE.endswith("resource. ") and WRITE_PERMISSION_MESSAGE.endswith("resource. ")
    assert "(TrustFrameworkKeySet.ReadWrite.All)" in WRITE_PERMISSION_MESSAGE
    assert error_of(api.call("GET", KEYSETS, principal=NOBODY)) == (403, "AADB2C", PERMISSION_MESSAGE)
    assert api.keys(keyset) == []


def test_keys_v2_reads_need_read_write(api: Api) -> None:
    """Documented: trustFrameworkKey_v2 get lists ReadWrite.All only; the collection follows it (chosen)."""
    keyset = api.create("v2perm")
    kid = api.action(keyset, "uploadSecret", {"use": "sig", "k": "v"}).body["kid"]  # type: ignore[index]
    for path in (f"{KEYSETS}/{keyset}/keys_v2/{kid}", f"{KEYSETS}/{keyset}/keys_v2"):
        assert error_of(api.call("GET", path, principal=READER)) == (403, "AADB2C", WRITE_PERMISSION_MESSAGE)
        assert api.call("GET", path).status == 200


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_malformed_json_is_400(api: Api, raw: bytes) -> None:
    assert error_of(api.call("POST", KEYSETS, raw=raw))[:2] == (400, "BadRequest")


class GatedStore(Store):
    """A store whose key writes wait on a gate, so a write can be held in flight deterministically."""

    entered: threading.Event
    gate: threading.Event

    def update(self, keyset_id: str, change: Any) -> Any:
        self.entered.set()
        assert self.gate.wait(timeout=30)
        return super().update(keyset_id, change)


def test_a_write_while_another_is_in_flight_is_95053_and_other_sets_are_unaffected() -> None:
    base = Store.open(None)
    store = GatedStore(base._db, None)
    store.entered, store.gate = threading.Event(), threading.Event()
    api = Api(GraphService(store, tenant_id=TENANT, graph_url="https://graph.test"))
    store.gate.set()
    keyset, other = api.create("busy"), api.create("quiet")
    store.gate.clear()
    results: list[Reply] = []
    first = threading.Thread(
        target=lambda: results.append(api.action(keyset, "uploadSecret", {"use": "sig", "k": "1"}))
    )
    first.start()
    assert store.entered.wait(timeout=30)
    status, code, message = error_of(api.action(keyset, "uploadSecret", {"use": "sig", "k": "2"}))
    assert (status, code) == (409, "AADB2C95053")
    assert message.startswith("Multiple concurrent writes to the same object detected.")
    assert error_of(api.call("DELETE", f"{KEYSETS}/{keyset}"))[1] == "AADB2C95053"
    assert api.call("GET", f"{KEYSETS}/{keyset}").status == 200  # reads are never blocked
    store.entered.clear()
    other_result: list[Reply] = []
    second = threading.Thread(
        target=lambda: other_result.append(api.action(other, "uploadSecret", {"use": "sig", "k": "3"}))
    )
    second.start()
    assert store.entered.wait(timeout=30)
    store.gate.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert [r.status for r in results + other_result] == [200, 200]
    assert len(api.keys(keyset)) == 1 and len(api.keys(other)) == 1


def test_parallel_writers_that_retry_on_95053_lose_nothing(api: Api) -> None:
    keyset = api.create("parallel")
    kids: list[str] = []
    conflicts = 0
    lock = threading.Lock()

    def writer(n: int) -> None:
        nonlocal conflicts
        for i in range(10):
            while True:
                reply = api.action(keyset, "uploadSecret", {"use": "sig", "k": f"{n}-{i}"})
                if reply.status == 200:
                    with lock:
                        kids.append(reply.body["kid"])  # type: ignore[index]
                    break
                assert reply.body is not None and reply.body["error"]["code"] == "AADB2C95053"
                with lock:
                    conflicts += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    stored = [k["kid"] for k in api.keys(keyset)]
    assert len(stored) == 60 and sorted(stored) == sorted(kids) and len(set(stored)) == 60


def test_reset_empties_the_tenant(api: Api) -> None:
    api.create("a")
    api.service.reset()
    listed = api.call("GET", KEYSETS).body
    assert listed is not None and listed["value"] == []


def test_no_secret_material_reaches_the_sqlite_file(tmp_path: Path, pki: Pki) -> None:
    store = Store.open(tmp_path)
    api = Api(GraphService(store, tenant_id=TENANT, graph_url="https://graph.test"))
    keyset = api.create("leak")
    secret = "uploaded-secret-marker-7f3a9c"
    assert api.action(keyset, "uploadSecret", {"use": "sig", "k": secret}).status == 200
    jwk_k = base64.urlsafe_b64encode(b"put-secret-marker-55aa").rstrip(b"=").decode()
    octset = api.create("leakput")
    assert api.call("PUT", f"{KEYSETS}/{octset}", {"keys": [{"kty": "oct", "use": "sig", "k": jwk_k}]}).status == 200
    pfxset = api.create("leakpfx")
    password = "pfx-password-marker-91bd"
    assert api.action(pfxset, "uploadPkcs12", {"key": pki.pfx_b64(password), "password": password}).status == 200
    store.close()
    d = pki.key.private_numbers().d
    d_b64 = base64.urlsafe_b64encode(d.to_bytes((d.bit_length() + 7) // 8, "big")).rstrip(b"=")
    d_std = base64.b64encode(d.to_bytes((d.bit_length() + 7) // 8, "big"))
    files = list(tmp_path.glob(DB_FILE + "*"))
    assert files
    blob = b"".join(f.read_bytes() for f in files)
    for marker in (secret.encode(), jwk_k.encode(), b"put-secret-marker", password.encode(), d_b64[:40], d_std[:40]):
        assert marker not in blob
    assert b"B2C_1A_leak" in blob  # the scan does see the file's contents
