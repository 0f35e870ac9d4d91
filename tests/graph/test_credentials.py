"""Each credential kind obtains a token from the emulator through msal, and refusals are typed and secret-free."""

from __future__ import annotations

from pathlib import Path

import pytest

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.errors import AuthenticationError, ConfigurationError, PermissionDeniedError, TransportError
from b2c_policy_keys.graph import GraphClient
from b2c_policy_keys.graph.credentials import load_certificate_credential

from .support import app_certificate, closed_port, emulator_settings, token_requests

CERT_CLIENT = "b2c00000-0000-4000-8000-0000000000c1"


def test_client_secret(emulator: Emulator) -> None:
    client = GraphClient(emulator_settings(emulator))
    assert client.create_keyset("by-secret").id == "B2C_1A_by-secret"
    assert token_requests(emulator) == 1


def test_certificate_pem_with_encrypted_key(emulator: Emulator, tmp_path: Path) -> None:
    pki = app_certificate()
    emulator.add_client(CERT_CLIENT, certificate_pem=pki.cert_pem)
    pem = tmp_path / "app.pem"
    pem.write_text(pki.key_pem("pem-pass") + pki.cert_pem)
    settings = emulator_settings(
        emulator,
        **{
            "b2c:clientId": CERT_CLIENT,
            "b2c:clientSecret": None,
            "b2c:clientCertificatePath": str(pem),
            "b2c:clientCertificatePassword": "pem-pass",
        },
    )
    assert settings.credential_kind == "certificate"
    assert GraphClient(settings).create_keyset("by-pem").id == "B2C_1A_by-pem"


def test_certificate_pfx_with_password(emulator: Emulator, tmp_path: Path) -> None:
    pki = app_certificate()
    emulator.add_client(CERT_CLIENT, certificate_pem=pki.cert_pem)
    pfx = tmp_path / "app.pfx"
    pfx.write_bytes(pki.pfx("pfx-pass"))
    overrides = {"b2c:clientId": CERT_CLIENT, "b2c:clientSecret": None, "b2c:clientCertificatePath": str(pfx)}
    client = GraphClient(emulator_settings(emulator, **overrides, **{"b2c:clientCertificatePassword": "pfx-pass"}))
    assert client.create_keyset("by-pfx").id == "B2C_1A_by-pfx"

    wrong = GraphClient(emulator_settings(emulator, **overrides, **{"b2c:clientCertificatePassword": "nope-pass"}))
    with pytest.raises(ConfigurationError, match="b2c:clientCertificatePassword") as caught:
        wrong.list_keysets()
    assert "nope-pass" not in str(caught.value)


def test_an_unregistered_certificate_is_refused(emulator: Emulator, tmp_path: Path) -> None:
    pki = app_certificate("never registered")
    pem = tmp_path / "app.pem"
    pem.write_text(pki.key_pem() + pki.cert_pem)
    settings = emulator_settings(emulator, **{"b2c:clientSecret": None, "b2c:clientCertificatePath": str(pem)})
    with pytest.raises(AuthenticationError, match="refused the client certificate"):
        GraphClient(settings).list_keysets()


def test_workload_identity_federation_from_a_token_file(emulator: Emulator, tmp_path: Path) -> None:
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(emulator.federated_token(subject="repo:org/app:ref:refs/heads/main") + "\n")
    settings = emulator_settings(
        emulator,
        **{"b2c:clientSecret": None, "b2c:useOidc": "true", "b2c:oidcTokenFilePath": str(token_file)},
    )
    assert settings.credential_kind == "oidc"
    assert GraphClient(settings).create_keyset("by-oidc").id == "B2C_1A_by-oidc"


def test_managed_identity_app_service_protocol(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.authority_host}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", emulator.msi_header)
    settings = emulator_settings(emulator, **{"b2c:clientId": None, "b2c:clientSecret": None, "b2c:useMsi": "true"})
    assert settings.credential_kind == "msi"
    client = GraphClient(settings)
    assert client.create_keyset("by-msi").id == "B2C_1A_by-msi"
    client.get_keyset("by-msi")
    msi_calls = [e for e in emulator.requests_log() if e["path"] == "/msi/token"]
    assert len(msi_calls) == 1


def test_a_wrong_secret_carries_the_aadsts_code_but_not_the_secret(emulator: Emulator) -> None:
    settings = emulator_settings(emulator, **{"b2c:clientSecret": "definitely-wrong-secret"})
    with pytest.raises(AuthenticationError) as caught:
        GraphClient(settings).list_keysets()
    error = caught.value
    assert error.code and error.code.startswith("AADSTS")
    assert "definitely-wrong-secret" not in str(error)
    assert "registered in the B2C tenant" in str(error)


def test_an_unknown_tenant_is_an_authentication_error(emulator: Emulator) -> None:
    settings = emulator_settings(emulator, **{"b2c:tenantId": "b2c00000-0000-4000-8000-00000000dead"})
    with pytest.raises(AuthenticationError, match="b2c:tenantId"):
        GraphClient(settings).list_keysets()


def test_the_read_only_client_cannot_write(emulator: Emulator) -> None:
    settings = emulator_settings(
        emulator,
        **{"b2c:clientId": emulator.readonly_client_id, "b2c:clientSecret": emulator.readonly_client_secret},
    )
    client = GraphClient(settings)
    assert client.list_keysets() == []
    with pytest.raises(PermissionDeniedError) as caught:
        client.create_keyset("denied")
    assert caught.value.status == 403
    assert "TrustFrameworkKeySet.ReadWrite.All" in str(caught.value)
    assert caught.value.request_id and caught.value.client_request_id


def test_an_unreachable_managed_identity_endpoint_is_named(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{port}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "irrelevant")
    settings = emulator_settings(
        emulator, **{"b2c:clientId": None, "b2c:clientSecret": None, "b2c:useMsi": "true", "b2c:retryTimeout": "1"}
    )
    with pytest.raises(TransportError, match=f"could not connect to 127.0.0.1:{port}"):
        GraphClient(settings).list_keysets()


@pytest.mark.parametrize(
    ("content", "password", "expected"),
    [
        (b"not a certificate at all", None, r"\(PEM\) or be a PFX"),
        (None, "pw-wrong", "b2c:clientCertificatePassword"),
        (None, None, "b2c:clientCertificatePassword"),
    ],
)
def test_unusable_certificate_files_are_configuration_errors(
    tmp_path: Path, content: bytes | None, password: str | None, expected: str
) -> None:
    path = tmp_path / "app.pfx"
    path.write_bytes(content if content is not None else app_certificate().pfx("pw-right"))
    with pytest.raises(ConfigurationError, match=expected) as caught:
        load_certificate_credential(str(path), password)
    assert "pw-" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_certificate_credential(str(tmp_path / "gone.pem"), None)
