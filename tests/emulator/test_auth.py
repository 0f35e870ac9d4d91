"""OAuth2 against the emulator through msal and raw requests: every credential kind, every refusal shape."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import jwt
import msal
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization

from b2c_policy_keys.emulator import MANAGED_IDENTITY_CLIENT_ID, Emulator
from support.pki import new_rsa_key, self_signed

from .helpers import GRAPH_SCOPE, KEYSETS, bearer, msal_app, secret_grant, session_for, token_with_secret

OTHER_TENANT = "b2c00000-0000-4000-8000-0000000000ff"


def _self_signed() -> tuple[str, str, str]:
    """(private key PEM, certificate PEM, SHA-1 thumbprint hex) of a fresh client certificate."""
    key = new_rsa_key()
    now = datetime.datetime.now(tz=datetime.UTC)
    valid = {"not_before": now - datetime.timedelta(minutes=5), "not_after": now + datetime.timedelta(days=1)}
    cert = self_signed(key, subject="emulator test client", **valid)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode(), cert.fingerprint(hashes.SHA1()).hex()  # noqa: S303 - x5t is SHA-1


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _graph_get(emu: Emulator, token: str) -> requests.Response:
    return session_for(emu).get(emu.graph_url + KEYSETS, headers=bearer(token))


def test_msal_gets_a_token_with_the_default_client_secret(
    emulator: Emulator, emulator_session: requests.Session
) -> None:
    token = token_with_secret(emulator)
    answer = emulator_session.get(emulator.graph_url + KEYSETS, headers=bearer(token))
    assert answer.status_code == 200
    assert answer.json()["value"] == []
    assert answer.headers["request-id"]


def test_access_tokens_carry_the_graph_audience_tenant_roles_and_lifetime(emulator_factory: Any) -> None:
    emu = emulator_factory(token_lifetime_s=900)
    claims = _claims(token_with_secret(emu))
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["tid"] == emu.tenant_id
    assert claims["appid"] == claims["azp"] == emu.client_id
    assert claims["roles"] == ["TrustFrameworkKeySet.ReadWrite.All"]
    assert claims["exp"] - claims["iat"] == 900
    readonly = _claims(token_with_secret(emu, emu.readonly_client_id, emu.readonly_client_secret))
    assert readonly["roles"] == ["TrustFrameworkKeySet.Read.All"]


def test_the_published_jwks_verifies_issued_tokens(emulator: Emulator, emulator_session: requests.Session) -> None:
    config = emulator_session.get(
        f"{emulator.authority_host}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration"
    )
    assert config.status_code == 200
    document = config.json()
    assert document["token_endpoint"] == f"{emulator.authority_host}/{emulator.tenant_id}/oauth2/v2.0/token"
    keys = emulator_session.get(document["jwks_uri"]).json()["keys"]
    token = token_with_secret(emulator)
    signing = jwt.PyJWK(next(k for k in keys if k["kid"] == jwt.get_unverified_header(token)["kid"]))
    claims = jwt.decode(token, signing.key, algorithms=["RS256"], audience="https://graph.microsoft.com")
    assert claims["tid"] == emulator.tenant_id


def test_msal_caches_the_token_until_near_expiry_then_asks_again(emulator_factory: Any) -> None:
    """msal reuses a cached token only with more than 5 minutes left: a 60 s lifetime forces a refresh each time."""
    long_lived = emulator_factory()
    app = msal_app(long_lived, long_lived.client_secret)
    app.acquire_token_for_client([GRAPH_SCOPE])
    app.acquire_token_for_client([GRAPH_SCOPE])
    short_lived = emulator_factory(token_lifetime_s=60)
    app = msal_app(short_lived, short_lived.client_secret)
    app.acquire_token_for_client([GRAPH_SCOPE])
    app.acquire_token_for_client([GRAPH_SCOPE])

    def token_requests(emu: Emulator) -> int:
        return sum(1 for entry in emu.requests_log() if entry["path"].endswith("/oauth2/v2.0/token"))

    assert token_requests(long_lived) == 1
    assert token_requests(short_lived) == 2


def test_a_wrong_secret_is_invalid_client_401(emulator: Emulator, emulator_session: requests.Session) -> None:
    result = msal_app(emulator, "not-the-secret").acquire_token_for_client([GRAPH_SCOPE])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215:")
    assert "not-the-secret" not in json.dumps(result)
    raw = emulator_session.post(
        f"{emulator.authority_host}/{emulator.tenant_id}/oauth2/v2.0/token",
        data=secret_grant(emulator.client_id, "nope"),
        headers={"client-request-id": "my-correlation"},
    )
    assert raw.status_code == 401
    body = raw.json()
    assert body["correlation_id"] == "my-correlation"
    assert body["trace_id"]


def test_an_unknown_client_is_unauthorized_client(emulator: Emulator) -> None:
    result = msal_app(emulator, "x", client_id="b2c00000-0000-4000-8000-00000000dead").acquire_token_for_client(
        [GRAPH_SCOPE]
    )
    assert result["error"] == "unauthorized_client"
    assert result["error_codes"] == [700016]


def test_an_unknown_tenant_is_aadsts90002(emulator: Emulator, emulator_session: requests.Session) -> None:
    discovery = emulator_session.get(f"{emulator.authority_host}/{OTHER_TENANT}/v2.0/.well-known/openid-configuration")
    assert discovery.status_code == 400
    assert discovery.json()["error"] == "invalid_tenant"
    assert discovery.json()["error_codes"] == [90002]
    token = emulator_session.post(
        f"{emulator.authority_host}/{OTHER_TENANT}/oauth2/v2.0/token",
        data=secret_grant(emulator.client_id, emulator.client_secret),
    )
    assert token.status_code == 400
    assert token.json()["error_description"].startswith("AADSTS90002:")
    with pytest.raises(ValueError, match="tenant"):
        msal.ConfidentialClientApplication(
            emulator.client_id,
            client_credential=emulator.client_secret,
            authority=f"{emulator.authority_host}/{OTHER_TENANT}",
            instance_discovery=False,
            http_client=emulator_session,
        ).acquire_token_for_client([GRAPH_SCOPE])


@pytest.mark.parametrize(
    ("scope", "error", "code"),
    [
        ("https://graph.microsoft.com/User.Read", "invalid_scope", 1002012),
        ("https://management.azure.com/.default", "invalid_resource", 500011),
    ],
)
def test_only_the_graph_default_scope_is_served(emulator: Emulator, scope: str, error: str, code: int) -> None:
    result = msal_app(emulator, emulator.client_secret).acquire_token_for_client([scope])
    assert result["error"] == error
    assert result["error_codes"] == [code]


def test_a_certificate_client_signs_its_assertion_with_a_sha1_thumbprint(emulator: Emulator) -> None:
    key_pem, cert_pem, thumbprint = _self_signed()
    client_id = "b2c00000-0000-4000-8000-0000000000c1"
    emulator.add_client(client_id, certificate_pem=cert_pem)
    result = msal_app(emulator, {"private_key": key_pem, "thumbprint": thumbprint}, client_id).acquire_token_for_client(
        [GRAPH_SCOPE]
    )
    assert "access_token" in result, result
    assert _claims(result["access_token"])["appid"] == client_id
    assert _graph_get(emulator, result["access_token"]).status_code == 200


def test_a_certificate_client_with_its_public_certificate_uses_ps256(emulator: Emulator) -> None:
    key_pem, cert_pem, _ = _self_signed()
    client_id = "b2c00000-0000-4000-8000-0000000000c2"
    emulator.add_client(client_id, certificate_pem=cert_pem)
    credential = {"private_key": key_pem, "public_certificate": cert_pem}
    result = msal_app(emulator, credential, client_id).acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" in result, result


def test_an_assertion_signed_by_an_unregistered_certificate_is_refused(emulator: Emulator) -> None:
    _, cert_pem, thumbprint = _self_signed()
    other_key, _, _ = _self_signed()
    client_id = "b2c00000-0000-4000-8000-0000000000c3"
    emulator.add_client(client_id, certificate_pem=cert_pem)
    unknown = msal_app(emulator, {"private_key": other_key, "thumbprint": "00" * 20}, client_id)
    assert unknown.acquire_token_for_client([GRAPH_SCOPE])["error_codes"] == [700027]
    forged = msal_app(emulator, {"private_key": other_key, "thumbprint": thumbprint}, client_id)
    result = forged.acquire_token_for_client([GRAPH_SCOPE])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700027]


def test_an_expired_or_misaddressed_client_assertion_is_refused(emulator: Emulator) -> None:
    key_pem, cert_pem, thumbprint = _self_signed()
    client_id = "b2c00000-0000-4000-8000-0000000000c4"
    emulator.add_client(client_id, certificate_pem=cert_pem)
    x5t = base64.urlsafe_b64encode(bytes.fromhex(thumbprint)).rstrip(b"=").decode()
    token_endpoint = f"{emulator.authority_host}/{emulator.tenant_id}/oauth2/v2.0/token"

    def assertion(**claims: Any) -> str:
        now = int(datetime.datetime.now(tz=datetime.UTC).timestamp())
        payload = {
            "aud": token_endpoint,
            "iss": client_id,
            "sub": client_id,
            "exp": now + 600,
            "iat": now,
            "jti": "j",
        } | claims
        return jwt.encode(payload, key_pem, algorithm="RS256", headers={"x5t": x5t})

    expired = assertion(exp=1_000_000)
    assert msal_app(emulator, {"client_assertion": lambda: expired}, client_id).acquire_token_for_client([GRAPH_SCOPE])[
        "error_codes"
    ] == [700024]
    elsewhere = assertion(aud="https://login.microsoftonline.com/common/oauth2/v2.0/token")
    assert msal_app(emulator, {"client_assertion": lambda: elsewhere}, client_id).acquire_token_for_client(
        [GRAPH_SCOPE]
    )["error_codes"] == [700023]


@pytest.mark.filterwarnings("ignore:Passing a static string:DeprecationWarning")
def test_a_federated_assertion_from_the_external_issuer_works_for_the_read_write_client(emulator: Emulator) -> None:
    assertion = emulator.federated_token(subject="repo:org/app:ref:refs/heads/main")
    assert _claims(assertion)["aud"] == "api://AzureADTokenExchange"
    result = msal_app(emulator, {"client_assertion": assertion}).acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" in result, result
    assert _graph_get(emulator, result["access_token"]).status_code == 200


def test_a_federated_subject_must_match_the_clients_credential(emulator: Emulator) -> None:
    client_id = "b2c00000-0000-4000-8000-0000000000c5"
    emulator.add_client(client_id, federated_subject="repo:org/app:environment:prod")
    wrong = emulator.federated_token(subject="repo:org/app:ref:refs/heads/feature")
    result = msal_app(emulator, {"client_assertion": lambda: wrong}, client_id).acquire_token_for_client([GRAPH_SCOPE])
    assert result["error_codes"] == [700213]
    right = emulator.federated_token(subject="repo:org/app:environment:prod")
    assert "access_token" in msal_app(
        emulator, {"client_assertion": lambda: right}, client_id
    ).acquire_token_for_client([GRAPH_SCOPE])


def test_managed_identity_through_the_app_service_protocol(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.authority_host}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", emulator.msi_header)
    client = msal.ManagedIdentityClient(msal.SystemAssignedManagedIdentity(), http_client=session_for(emulator))
    result = client.acquire_token_for_client(resource="https://graph.microsoft.com")
    assert "access_token" in result, result
    claims = _claims(result["access_token"])
    assert claims["appid"] == MANAGED_IDENTITY_CLIENT_ID
    assert claims["roles"] == ["TrustFrameworkKeySet.ReadWrite.All"]
    assert _graph_get(emulator, result["access_token"]).status_code == 200


def test_managed_identity_refuses_a_wrong_identity_header(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.authority_host}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-header")
    client = msal.ManagedIdentityClient(msal.SystemAssignedManagedIdentity(), http_client=session_for(emulator))
    result = client.acquire_token_for_client(resource="https://graph.microsoft.com")
    assert "access_token" not in result
    assert "401" in result["error_description"]


def test_a_graph_call_without_a_token_is_refused(emulator: Emulator, emulator_session: requests.Session) -> None:
    answer = emulator_session.get(emulator.graph_url + KEYSETS)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    error = answer.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["message"] == "Access token is empty."
    assert error["innerError"]["request-id"] == answer.headers["request-id"]
    assert "correlationId" not in error["innerError"]  # a Graph-level error has none (real: 401s in public issues)


def test_an_expired_token_is_refused(emulator: Emulator) -> None:
    answer = _graph_get(emulator, emulator.access_token(lifetime_s=-60))
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "Lifetime validation failed, the token is expired."


def test_a_tampered_token_is_refused(emulator: Emulator) -> None:
    header, payload, signature = emulator.access_token(emulator.readonly_client_id).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["TrustFrameworkKeySet.ReadWrite.All"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    answer = _graph_get(emulator, f"{header}.{forged}.{signature}")
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "Access token validation failure. Invalid signature."
    garbage = _graph_get(emulator, "not-a-jwt")
    assert garbage.status_code == 401
    assert garbage.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_a_token_for_another_audience_is_refused(emulator: Emulator) -> None:
    claims = _claims(emulator.access_token()) | {"aud": "https://management.azure.com"}
    token = jwt.encode(claims, emulator.authority.signing_key.private_key, algorithm="RS256")
    answer = _graph_get(emulator, token)
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "Access token validation failure. Invalid audience."


def test_a_token_from_another_tenant_is_refused(emulator: Emulator, emulator_factory: Any) -> None:
    other = emulator_factory(tenant_id=OTHER_TENANT)
    answer = _graph_get(emulator, other.access_token())
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_the_read_only_client_cannot_write(emulator: Emulator, emulator_session: requests.Session) -> None:
    token = token_with_secret(emulator, emulator.readonly_client_id, emulator.readonly_client_secret)
    assert emulator_session.get(emulator.graph_url + KEYSETS, headers=bearer(token)).status_code == 200
    answer = emulator_session.post(emulator.graph_url + KEYSETS, json={"id": "x"}, headers=bearer(token))
    assert answer.status_code == 403
    assert "TrustFrameworkKeySet.ReadWrite.All" in answer.json()["error"]["message"]


def test_client_secret_basic_is_accepted(emulator: Emulator, emulator_session: requests.Session) -> None:
    answer = emulator_session.post(
        f"{emulator.authority_host}/{emulator.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE},
        auth=(emulator.client_id, emulator.client_secret),
    )
    assert answer.status_code == 200
    assert _claims(answer.json()["access_token"])["appid"] == emulator.client_id


def test_minting_for_a_client_registers_the_subject_on_it(emulator: Emulator) -> None:
    client_id = "b2c00000-0000-4000-8000-0000000000c6"
    emulator.add_client(client_id, secret="unused-secret")
    assertion = emulator.federated_token(subject="system:serviceaccount:ns:app", client_id=client_id)
    result = msal_app(emulator, {"client_assertion": lambda: assertion}, client_id).acquire_token_for_client(
        [GRAPH_SCOPE]
    )
    assert _claims(result["access_token"])["appid"] == client_id
