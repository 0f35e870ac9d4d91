"""check() of the certificate and PFX resources, offline: no Graph call, real certificates and PFX files."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi.output import Unknown

from b2c_policy_keys.certificates import pkcs12_uses_aes256
from b2c_policy_keys.resources.certificate_key import CertificateKeyProvider
from b2c_policy_keys.resources.generated_key import GeneratedKeyProvider
from b2c_policy_keys.resources.pkcs12_key import AES256_ADVICE, Pkcs12KeyProvider, warn_pfx
from support.der import with_mac_iterations

from .conftest import MakeMaterial
from .material import PFX_PASSWORD


def failures_of(result: Any) -> dict[str, str]:
    return {f.property: f.reason for f in result.failures}


def test_a_valid_certificate_passes_and_records_its_thumbprint(make_material: MakeMaterial) -> None:
    material = make_material()
    for spelling in (material.pem, material.der_base64):
        result = CertificateKeyProvider().check({}, {"keyset_id": "Saml", "certificate": spelling})
        assert result.failures == []
        assert result.inputs["certificate_thumbprint"] == material.thumbprint


def test_garbage_fails_naming_the_certificate_property() -> None:
    result = CertificateKeyProvider().check({}, {"keyset_id": "Saml", "certificate": "hello"})
    reason = failures_of(result)["certificate"]
    assert reason.startswith("certificate is not a valid X.509 certificate")


def test_an_expired_certificate_fails(make_material: MakeMaterial) -> None:
    expired = make_material(days=-1, ago=30)
    reason = failures_of(CertificateKeyProvider().check({}, {"keyset_id": "S", "certificate": expired.pem}))
    assert "expired on" in reason["certificate"]


def test_an_expired_certificate_already_deployed_does_not_block_later_ups(make_material: MakeMaterial) -> None:
    expired = make_material(days=-1, ago=30)
    olds = {"keyset_id": "S", "certificate": expired.pem, "certificate_thumbprint": expired.thumbprint}
    assert CertificateKeyProvider().check(olds, dict(olds)).failures == []


def test_a_non_rsa_certificate_fails(ec_certificate_pem: str) -> None:
    reason = failures_of(CertificateKeyProvider().check({}, {"keyset_id": "S", "certificate": ec_certificate_pem}))
    assert "RSA" in reason["certificate"]


def test_unknown_certificate_in_preview_is_accepted() -> None:
    result = CertificateKeyProvider().check({}, {"keyset_id": "S", "certificate": Unknown()})
    assert result.failures == [] and "certificate_thumbprint" not in result.inputs


def test_a_pfx_opens_with_its_password(make_material: MakeMaterial) -> None:
    material = make_material()
    news = {"keyset_id": "S", "pfx": material.pfx(), "password": PFX_PASSWORD}
    result = Pkcs12KeyProvider().check({}, news)
    assert result.failures == [] and result.inputs["certificate_thumbprint"] == material.thumbprint


def test_a_wrong_pfx_password_fails_on_password_without_echoing_it(make_material: MakeMaterial) -> None:
    wrong = "not-the-Password-77"
    result = Pkcs12KeyProvider().check({}, {"keyset_id": "S", "pfx": make_material().pfx(), "password": wrong})
    reasons = failures_of(result)
    assert "does not open the PFX" in reasons["password"]
    assert wrong not in repr(reasons)


def test_a_pfx_without_private_key_fails_on_pfx(make_material: MakeMaterial) -> None:
    news = {"keyset_id": "S", "pfx": make_material().pfx(with_key=False), "password": PFX_PASSWORD}
    assert "no private key" in failures_of(Pkcs12KeyProvider().check({}, news))["pfx"]


def test_a_pfx_with_an_expired_certificate_fails(make_material: MakeMaterial) -> None:
    news = {"keyset_id": "S", "pfx": make_material(days=-2, ago=40).pfx(), "password": PFX_PASSWORD}
    assert "expired" in failures_of(Pkcs12KeyProvider().check({}, news))["pfx"]


def test_a_pfx_whose_kdf_is_absurdly_expensive_fails_on_pfx(make_material: MakeMaterial) -> None:
    """B13: refused from its DER parameters, before the open that would run 50 million iterations (seconds)."""
    pfx = with_mac_iterations(base64.b64decode(make_material().pfx()), 50_000_000)
    news = {"keyset_id": "S", "pfx": base64.b64encode(pfx).decode(), "password": PFX_PASSWORD}
    assert "50,000,000 iterations" in failures_of(Pkcs12KeyProvider().check({}, news))["pfx"]


def test_not_base64_pfx_fails_on_pfx() -> None:
    news = {"keyset_id": "S", "pfx": "%%%", "password": PFX_PASSWORD}
    assert "base64" in failures_of(Pkcs12KeyProvider().check({}, news))["pfx"]


def test_an_aes256_pfx_passes_check_but_the_program_warns_with_the_openssl_command(
    make_material: MakeMaterial, monkeypatch: Any
) -> None:
    pfx = make_material().pfx(aes256=True)
    assert pkcs12_uses_aes256(base64.b64decode(pfx))
    assert Pkcs12KeyProvider().check({}, {"keyset_id": "S", "pfx": pfx, "password": PFX_PASSWORD}).failures == []
    warned: list[str] = []
    monkeypatch.setattr("pulumi.warn", warned.append)
    warn_pfx("Pkcs12Key x", pfx, PFX_PASSWORD)
    assert warned == [f"Pkcs12Key x: {AES256_ADVICE}"]
    assert "-keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1" in warned[0]
    assert PFX_PASSWORD not in warned[0]


def test_a_certificate_expiring_within_30_days_warns(make_material: MakeMaterial, monkeypatch: Any) -> None:
    warned: list[str] = []
    monkeypatch.setattr("pulumi.warn", warned.append)
    material = make_material(days=10)
    warn_pfx("Pkcs12Key soon", material.pfx(), PFX_PASSWORD)
    assert len(warned) == 1 and "within 30 days" in warned[0]
    warned.clear()
    warn_pfx("Pkcs12Key later", make_material(days=90).pfx(), PFX_PASSWORD)
    assert warned == []


def test_generated_key_check_rejects_bad_type_and_use_and_normalises_oct() -> None:
    provider = GeneratedKeyProvider()
    reasons = failures_of(provider.check({}, {"keyset_id": "S", "kty": "EC", "use": "both"}))
    assert set(reasons) == {"kty", "use"}
    result = provider.check({}, {"keyset_id": "S", "kty": "OCT", "use": "enc", "version": 2.0})
    assert result.failures == [] and result.inputs["kty"] == "oct" and result.inputs["version"] == "2"


def test_der_ending_in_a_whitespace_byte_still_loads(make_material: MakeMaterial) -> None:
    """Regression: DER is binary, so stripping "whitespace" cut the last signature byte of ~1 certificate in 40."""
    from b2c_policy_keys.certificates import load_certificate

    for _ in range(2000):
        material = make_material()
        if material.der[-1:] in (b" ", b"\t", b"\n", b"\r", b"\x0b", b"\x0c"):
            break
    else:
        pytest.fail("no certificate ending in a whitespace byte was generated")
    assert load_certificate(material.der).serial_number == material.cert.serial_number
    assert load_certificate(material.der_base64).serial_number == material.cert.serial_number


_values = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | st.just(Unknown())
_inputs = st.dictionaries(
    st.sampled_from(
        ["keyset_id", "kty", "use", "not_before", "expires_at", "version", "enabled", "certificate", "pfx", "password"]
    ),
    _values,
)


@settings(max_examples=150, deadline=None)
@given(_inputs)
def test_check_never_raises_whatever_the_inputs(news: dict[str, Any]) -> None:
    """check() answers bad input with failures naming properties, never with an exception (a traceback to users)."""
    for provider in (GeneratedKeyProvider(), CertificateKeyProvider(), Pkcs12KeyProvider()):
        result = provider.check({}, news)
        assert all(f.reason.startswith(f.property) for f in result.failures)
