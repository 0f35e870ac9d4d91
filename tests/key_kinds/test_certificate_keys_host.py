"""CertificateKey and Pkcs12Key through the real provider host over gRPC, against the emulator.

Real certificates and PFX files are generated per session (``conftest``): valid, expired, AES-256, wrong password.
"""

from __future__ import annotations

from typing import Any

import pytest

from b2c_policy_keys import CertificateKeyProvider, GeneratedKeyProvider, KeySetProvider, Pkcs12KeyProvider
from support.host import UNKNOWN, CheckFailed, ProviderError, ProviderHost, State, pickled

from .conftest import MakeMaterial, graph_calls
from .material import PFX_PASSWORD


def keyset(host: ProviderHost, name: str) -> State:
    return host.up(KeySetProvider(), f"{name}-set", {"name": name})


def test_certificate_create_outputs_thumbprint_and_dates(
    host: ProviderHost, emulator: Any, make_material: MakeMaterial
) -> None:
    material = make_material(days=200, subject="saml.contoso.example")
    ks = keyset(host, "SamlSigning")
    emulator.clear_requests()
    state = host.up(CertificateKeyProvider(), "c", {"keyset_id": ks.outputs["keyset_id"], "certificate": material.pem})
    assert graph_calls(emulator) == ["GET B2C_1A_SamlSigning", "POST uploadCertificate"]
    out = state.outputs
    assert out["thumbprint"] == material.thumbprint
    assert out["x5t"] and out["subject"] == "CN=saml.contoso.example"
    assert out["not_before"] == int(material.cert.not_valid_before_utc.timestamp())
    assert out["expires_at"] == int(material.cert.not_valid_after_utc.timestamp())
    assert (out["kty"], out["use"], out["status"]) == ("RSA", "sig", "enabled")


def test_certificate_no_op_diff_across_spellings(
    host: ProviderHost, emulator: Any, make_material: MakeMaterial
) -> None:
    material = make_material()
    ks = keyset(host, "Saml")
    state = host.up(CertificateKeyProvider(), "c", {"keyset_id": ks.outputs["keyset_id"], "certificate": material.pem})
    emulator.clear_requests()
    der = {"keyset_id": "Saml", "certificate": material.der_base64}
    assert host.preview(CertificateKeyProvider(), "c", der, state).op == "same"
    assert graph_calls(emulator) == []
    unknown = host.preview(CertificateKeyProvider(), "c", {"keyset_id": "Saml", "certificate": UNKNOWN}, state)
    assert unknown.op == "replace"


def test_a_new_certificate_rotates_create_before_delete(
    host: ProviderHost, emulator: Any, graph: Any, make_material: MakeMaterial
) -> None:
    first, second = make_material(days=100, ago=2), make_material(days=300, ago=1)
    ks = keyset(host, "Saml")
    old = host.up(CertificateKeyProvider(), "c", {"keyset_id": ks.outputs["keyset_id"], "certificate": first.pem})
    news = {"keyset_id": ks.outputs["keyset_id"], "certificate": second.pem}
    plan = host.preview(CertificateKeyProvider(), "c", news, old)
    assert plan.diff is not None and plan.diff.replaces == ["certificate"] and not plan.diff.delete_before_replace
    emulator.clear_requests()
    new = host.up(CertificateKeyProvider(), "c", news, old)
    # Read the set, upload; then the old key's delete: read the set (never leave it dark, issue 11), disable.
    assert graph_calls(emulator) == ["GET B2C_1A_Saml", "POST uploadCertificate", "GET B2C_1A_Saml", "PATCH keys_v2"]
    live = graph.get_keyset("B2C_1A_Saml")
    assert {k.kid: k.status for k in live.keys} == {old.outputs["kid"]: "disabled", new.outputs["kid"]: "enabled"}
    assert live.active_key().kid == new.outputs["kid"]
    assert new.outputs["thumbprint"] == second.thumbprint


def test_certificate_refresh_reads_status_and_gone(host: ProviderHost, graph: Any, make_material: MakeMaterial) -> None:
    ks = keyset(host, "Saml")
    state = host.up(
        CertificateKeyProvider(), "c", {"keyset_id": ks.outputs["keyset_id"], "certificate": make_material().pem}
    )
    graph.set_key_status("B2C_1A_Saml", state.outputs["kid"], "disabled")
    refreshed = host.refresh(state)
    assert refreshed is not None and refreshed.outputs["status"] == "disabled"
    assert refreshed.outputs["thumbprint"] == state.outputs["thumbprint"]
    assert refreshed.outputs["subject"] == state.outputs["subject"]
    graph.delete_keyset("B2C_1A_Saml")
    assert host.refresh(refreshed) is None


def test_an_expired_certificate_fails_check_before_any_call(
    host: ProviderHost, emulator: Any, make_material: MakeMaterial
) -> None:
    ks = keyset(host, "Saml")
    emulator.clear_requests()
    with pytest.raises(CheckFailed) as caught:
        host.up(
            CertificateKeyProvider(),
            "c",
            {"keyset_id": ks.outputs["keyset_id"], "certificate": make_material(days=-1, ago=9).pem},
        )
    assert caught.value.failures[0][0] == "certificate" and "expired on" in caught.value.failures[0][1]
    assert graph_calls(emulator) == []


def test_a_certificate_cannot_join_an_encryption_set(host: ProviderHost, make_material: MakeMaterial) -> None:
    ks = keyset(host, "Enc")
    host.up(GeneratedKeyProvider(), "g", {"keyset_id": ks.outputs["keyset_id"], "use": "enc"})
    with pytest.raises(ProviderError) as caught:
        host.up(
            CertificateKeyProvider(), "c", {"keyset_id": ks.outputs["keyset_id"], "certificate": make_material().pem}
        )
    assert "key set B2C_1A_Enc holds 1 RSA enc key; a RSA sig key cannot join it" in caught.value.details


def pfx_inputs(ks: State, pfx: str, password: str = PFX_PASSWORD) -> dict[str, Any]:
    return {"keyset_id": ks.outputs["keyset_id"], "pfx": pfx, "password": password}


def test_pkcs12_create_no_op_rotation_refresh_and_no_secret_anywhere(
    host: ProviderHost, emulator: Any, graph: Any, make_material: MakeMaterial
) -> None:
    first, second = make_material(days=120, ago=3), make_material(days=400, ago=1)
    ks = keyset(host, "ClientCert")
    emulator.clear_requests()
    state = host.up(Pkcs12KeyProvider(), "p", pfx_inputs(ks, first.pfx()))
    assert graph_calls(emulator) == ["GET B2C_1A_ClientCert", "POST uploadPkcs12"]
    assert state.outputs["thumbprint"] == first.thumbprint and "pfx" not in state.outputs
    assert "password" not in state.outputs

    # Same certificate re-exported (new bytes, new password): nothing to do.
    emulator.clear_requests()
    same = host.preview(Pkcs12KeyProvider(), "p", pfx_inputs(ks, first.pfx("other-Pa55"), "other-Pa55"), state)
    assert same.op == "same" and graph_calls(emulator) == []

    new = host.up(Pkcs12KeyProvider(), "p", pfx_inputs(ks, second.pfx()), state)
    live = graph.get_keyset("B2C_1A_ClientCert")
    assert {k.kid: k.status for k in live.keys} == {state.outputs["kid"]: "disabled", new.outputs["kid"]: "enabled"}

    refreshed = host.refresh(new)
    assert refreshed is not None and refreshed.outputs["thumbprint"] == second.thumbprint

    pfx_b64 = second.pfx()
    seen = host.output.text + repr(refreshed.outputs) + repr(new.outputs) + pickled(Pkcs12KeyProvider())
    seen += repr(emulator.requests_log())
    assert PFX_PASSWORD not in seen and pfx_b64[:40] not in seen


def test_pkcs12_wrong_password_fails_check_on_password(
    host: ProviderHost, emulator: Any, make_material: MakeMaterial
) -> None:
    ks = keyset(host, "ClientCert")
    wrong = "wrong-Pfx-pass-31"
    emulator.clear_requests()
    with pytest.raises(CheckFailed) as caught:
        host.up(Pkcs12KeyProvider(), "p", pfx_inputs(ks, make_material().pfx(), wrong))
    assert [prop for prop, _ in caught.value.failures] == ["password"]
    assert wrong not in str(caught.value) and wrong not in host.output.text
    assert graph_calls(emulator) == []


def test_pkcs12_aes256_is_refused_by_the_service_with_the_reexport_command(
    host: ProviderHost, make_material: MakeMaterial
) -> None:
    ks = keyset(host, "ClientCert")
    with pytest.raises(ProviderError) as caught:
        host.up(Pkcs12KeyProvider(), "p", pfx_inputs(ks, make_material().pfx(aes256=True)))
    assert "AES-256" in caught.value.details and "-keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES" in caught.value.details
    assert PFX_PASSWORD not in caught.value.details + host.output.text


def test_pkcs12_expired_certificate_fails_check(host: ProviderHost, make_material: MakeMaterial) -> None:
    ks = keyset(host, "ClientCert")
    with pytest.raises(CheckFailed) as caught:
        host.up(Pkcs12KeyProvider(), "p", pfx_inputs(ks, make_material(days=-3, ago=20).pfx()))
    assert caught.value.failures[0][0] == "pfx" and "expired" in caught.value.failures[0][1]


def test_a_lost_upload_answer_adopts_the_key_carrying_the_certificate(
    host: ProviderHost, emulator: Any, graph: Any, make_material: MakeMaterial
) -> None:
    material = make_material()
    ks = keyset(host, "Saml")
    emulator.clear_requests()
    emulator.add_fault(method="POST", path_regex="uploadCertificate", kind="drop_after", count=1)
    state = host.up(CertificateKeyProvider(), "c", {"keyset_id": ks.outputs["keyset_id"], "certificate": material.pem})
    assert graph_calls(emulator) == ["GET B2C_1A_Saml", "POST uploadCertificate", "GET B2C_1A_Saml"]
    assert [k.kid for k in graph.get_keyset("B2C_1A_Saml").keys] == [state.outputs["kid"]]
    assert state.outputs["thumbprint"] == material.thumbprint
