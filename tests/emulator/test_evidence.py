"""The behaviours issue 12 checked against independent evidence, each pinned to what the evidence says.

Called on the service directly (fast, no HTTP); the HTTP-level shapes (headers, faults) are in test_admin.py and
test_conformance.py. Each test names its source tier: doc, real, ci, tool, or chosen (docs/emulator.md).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from b2c_policy_keys.emulator.principal import READ_WRITE_ROLE, Principal
from b2c_policy_keys.emulator.service import GraphService
from b2c_policy_keys.emulator.store import Store

from .test_service import KEYSETS, TENANT, Api, Clock, error_of

WRITER = Principal("writer", frozenset({READ_WRITE_ROLE}))


@pytest.fixture
def api() -> Api:
    return Api(GraphService(Store.open(None), tenant_id=TENANT, graph_url="https://graph.test", clock=Clock()))


# --- messages from the B2C error catalogue (doc) ----------------------------------------------------------


def _rsa_jwk(bits: int) -> dict[str, Any]:
    n = base64.urlsafe_b64encode(b"\xc1" * (bits // 8)).rstrip(b"=").decode()
    return {"kty": "RSA", "use": "sig", "n": n, "e": "AQAB"}


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"use": "sig"}, "AADB2C95030", "Missing kty parameter for the trustframework key."),
        (
            {"use": "sig", "kty": "EC"},
            "AADB2C95031",
            "Bad kty parameter 'EC' for the trustframework key. Must be RSA or oct.",
        ),
        ({"use": "both", "kty": "RSA"}, "AADB2C95033", "Bad use parameter 'both' for the trustframework key."),
        ({"kty": "RSA"}, "AADB2C90253", "The trustframework keyset parameter 'use' is missing"),
        (
            {"use": "sig", "kty": "oct", "exp": 1_000_000},
            "AADB2C90214",
            f"The expiry date for the key container in tenant '{TENANT}' with storageReferenceId 'B2C_1A_catalogue' "
            "is in the past. Passed date :'1970-01-12T13:46:40Z'.",
        ),
    ],
)
def test_generate_key_refusals_use_the_catalogue_templates(
    api: Api, body: dict[str, Any], code: str, message: str
) -> None:
    keyset = api.create("catalogue")
    assert error_of(api.action(keyset, "generateKey", body)) == (400, code, message)


@pytest.mark.parametrize(
    ("key", "code", "message"),
    [
        ({"use": "sig", "k": "YQ"}, "AADB2C95030", "Missing kty parameter for the trustframework key."),
        (
            {"kty": "RSA", "use": "sig", "e": "AQAB"},
            "AADB2C95039",
            "The presented TrustFrameworkKey RSA entity is missing or the modulus or exponent.",
        ),
        (
            {"kty": "RSA", "use": "sig", "n": "AQAB"},
            "AADB2C95039",
            "The presented TrustFrameworkKey RSA entity is missing or the modulus or exponent.",
        ),
        (_rsa_jwk(1024), "AADB2C90137", "A secure RSA key requires at least 2048 bits."),
        (
            {"kty": "oct", "use": "sig", "k": "not base64url!"},
            "AADB2C95041",
            "The trust framework key K parameter is wrongly encoded. Should be base64 URL encoded.",
        ),
        (
            "not an object",
            "AADB2C95026",
            f"The uploaded JSON Web Key for tenant '{TENANT}' is not in the correct JSON format.",
        ),
    ],
)
def test_put_refusals_use_the_catalogue_templates(api: Api, key: Any, code: str, message: str) -> None:
    keyset = api.create("catput")
    assert error_of(api.call("PUT", f"{KEYSETS}/{keyset}", {"keys": [key]})) == (400, code, message)


def test_a_bad_certificate_names_the_set_and_tenant(api: Api) -> None:
    keyset = api.create("badcert")
    status, code, message = error_of(api.action(keyset, "uploadCertificate", {"key": base64.b64encode(b"x").decode()}))
    assert (status, code) == (400, "AADB2C90179")
    assert message.startswith(f"The presented X509 certificate '{keyset}' in tenant '{TENANT}' is not a valid X.509")


# --- kty spelling (ci) --------------------------------------------------------------------------------------


def test_upload_secret_and_generate_oct_answer_kty_in_lower_case(api: Api) -> None:
    keyset = api.create("lower")
    uploaded = api.action(keyset, "uploadSecret", {"use": "sig", "k": "v"}).body
    generated = api.action(keyset, "generateKey", {"use": "sig", "kty": "OCT"}).body
    assert uploaded is not None and generated is not None
    assert (uploaded["kty"], generated["kty"]) == ("oct", "oct")


# --- keys_v2 collection (chosen) ------------------------------------------------------------------------------


def test_keys_v2_collection_lists_the_keys(api: Api) -> None:
    keyset = api.create("v2list")
    kid = api.action(keyset, "uploadSecret", {"use": "sig", "k": "v"}).body["kid"]  # type: ignore[index]
    reply = api.call("GET", f"{KEYSETS}/{keyset}/keys_v2")
    assert reply.status == 200 and reply.body is not None
    assert (
        reply.body["@odata.context"] == f"https://graph.test/beta/$metadata#trustFramework/keySets('{keyset}')/keys_v2"
    )
    assert [(k["kid"], k["kty"], k["k"]) for k in reply.body["value"]] == [(kid, "oct", None)]


# --- query options (chosen: implement $top/$select, refuse the rest) ----------------------------------------


def test_select_on_the_list_and_on_one_key_set(api: Api) -> None:
    for name in ("a", "b", "c"):
        api.create(name)
    page = api.call("GET", KEYSETS, query="$select=id&$top=2").body
    assert page is not None
    assert page["value"] == [{"id": "B2C_1A_a"}, {"id": "B2C_1A_b"}]
    assert page["@odata.context"] == "https://graph.test/beta/$metadata#trustFramework/keySets(id)"
    assert "$select=id" in page["@odata.nextLink"]
    query = page["@odata.nextLink"].split("?", 1)[1]
    rest = api.call("GET", KEYSETS, query=query).body
    assert rest is not None and rest["value"] == [{"id": "B2C_1A_c"}] and "@odata.nextLink" not in rest
    one = api.call("GET", f"{KEYSETS}/B2C_1A_a", query="$SELECT=keys").body
    assert one == {
        "@odata.context": "https://graph.test/beta/$metadata#trustFramework/keySets(keys)/$entity",
        "keys": [],
    }


def test_select_of_an_unknown_property_is_refused(api: Api) -> None:
    assert error_of(api.call("GET", KEYSETS, query="$select=id,colour")) == (
        400,
        "BadRequest",
        "Could not find a property named 'colour' on type 'microsoft.graph.trustFrameworkKeySet'.",
    )


@pytest.mark.parametrize(
    ("path", "query", "option"),
    [
        (KEYSETS, "$filter=id eq 'B2C_1A_a'", "Filter"),
        (KEYSETS, "$skip=1", "Skip"),
        (KEYSETS, "$orderby=id", "OrderBy"),
        (KEYSETS, "$count=true", "Count"),
        (KEYSETS, "$search=a", "Search"),
        (KEYSETS, "$expand=keys", "Expand"),
        (f"{KEYSETS}/B2C_1A_a", "$expand=keys", "Expand"),
        (f"{KEYSETS}/B2C_1A_a/keys_v2", "$top=1", "Top"),
        (f"{KEYSETS}/$count", "", "Count"),
        (f"{KEYSETS}/B2C_1A_a/keys_v2/$count", "", "Count"),
    ],
)
def test_unimplemented_query_options_are_refused_not_ignored(api: Api, path: str, query: str, option: str) -> None:
    api.create("a")
    status, code, message = error_of(api.call("GET", path, query=query))
    assert (status, code) == (400, "BadRequest")
    assert message.startswith(f"Query option '{option}' is not allowed.")


def test_parameters_without_a_dollar_are_ignored(api: Api) -> None:
    api.create("a")
    assert api.call("GET", KEYSETS, query="api-version=1").status == 200


# --- verbs (real and chosen) -------------------------------------------------------------------------------


def test_other_actions_by_the_wrong_verb_answer_like_get_active_key_by_post(api: Api) -> None:
    keyset = api.create("verbs")
    status, code, message = error_of(api.call("GET", f"{KEYSETS}/{keyset}/uploadSecret"))
    assert (status, code) == (404, "UnknownError")
    assert json.loads(message)["message"].endswith(f"('{keyset}')/Microsoft.Cpim.Api.DataModels.uploadSecret'.")


def test_put_is_the_replace_verb_and_patch_changes_nothing(api: Api) -> None:
    keyset = api.create("putonly")
    assert api.call("PATCH", f"{KEYSETS}/{keyset}", {"keys": [{"kty": "oct", "use": "sig", "k": "YQ"}]}).status == 405
    assert api.keys(keyset) == []
    assert api.call("PUT", f"{KEYSETS}/{keyset}", {"keys": [{"kty": "oct", "use": "sig", "k": "YQ"}]}).status == 200
    assert len(api.keys(keyset)) == 1


# --- secrets in the new messages ----------------------------------------------------------------------------

SECRET = "s3cret-Value_that-must-never-echo"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "/uploadSecret", {"use": "both", "k": SECRET}),
        ("POST", "/uploadSecret", {"use": "sig", "k": SECRET, "exp": 1_000_000}),
        ("POST", "/uploadSecret", {"use": "sig", "k": SECRET, "nbf": "soon"}),
        ("PUT", "", {"keys": [{"kty": "oct", "use": "sig", "k": SECRET + "!"}]}),
        ("PUT", "", {"keys": [{"use": "sig", "k": SECRET}]}),
        ("PUT", "", {"keys": [{"kty": "oct", "use": "sig", "k": SECRET, "exp": 1_000_000}]}),
        ("GET", "/uploadSecret", {"use": "sig", "k": SECRET}),
    ],
)
def test_no_refusal_echoes_the_secret(api: Api, method: str, suffix: str, body: dict[str, Any]) -> None:
    keyset = api.create("noecho")
    reply = api.call(method, f"{KEYSETS}/{keyset}{suffix}", body)
    assert reply.status >= 400
    dumped = json.dumps(reply.body)
    assert SECRET not in dumped and SECRET.lower() not in dumped.lower()
    assert api.keys(keyset) == []
