"""The shared certificate helpers, on real certificates and PFX files made with cryptography."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from b2c_policy_keys.certificates import (
    MAX_PKCS12_ITERATIONS,
    Pkcs12CostError,
    Pkcs12NoKeyError,
    Pkcs12PasswordError,
    certificate_facts,
    holds_private_key,
    load_certificate,
    open_pkcs12,
    pkcs12_iterations,
    pkcs12_uses_aes256,
)
from support.der import with_mac_iterations
from support.pki import pfx, self_signed

NOT_BEFORE = datetime(2026, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime(2036, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, serial: int = 1) -> x509.Certificate:
    return self_signed(key, subject="unit test", not_before=NOT_BEFORE, not_after=NOT_AFTER, serial=serial)


@pytest.fixture(scope="module")
def cert(rsa_key: rsa.RSAPrivateKey) -> x509.Certificate:
    return _cert(rsa_key)


def _pfx(key: rsa.RSAPrivateKey | None, cert: x509.Certificate, password: str, algorithm: str) -> bytes:
    return pfx(key, cert, password, algorithm=algorithm)


def test_load_certificate_reads_every_encoding_an_upload_may_carry(cert: x509.Certificate) -> None:
    der = cert.public_bytes(serialization.Encoding.DER)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    forms: list[str | bytes] = [der, pem, pem.decode(), base64.b64encode(der).decode(), base64.b64encode(pem)]
    forms.append(base64.urlsafe_b64encode(der).rstrip(b"=").decode())
    for form in forms:
        assert load_certificate(form) == cert


@pytest.mark.parametrize("bad", ["", "hello", b"\x30\x03\x02\x01\x01", "-----BEGIN CERTIFICATE-----\nAAAA\n"])
def test_load_certificate_gives_a_reason(bad: str | bytes) -> None:
    with pytest.raises(ValueError, match=r"certificate|X\.509"):
        load_certificate(bad)


def test_certificate_facts(cert: x509.Certificate, rsa_key: rsa.RSAPrivateKey) -> None:
    der = cert.public_bytes(serialization.Encoding.DER)
    facts = certificate_facts(cert)
    sha1 = hashlib.sha1(der).digest()
    assert facts.x5c == [base64.b64encode(der).decode()]
    assert facts.x5t == base64.urlsafe_b64encode(sha1).rstrip(b"=").decode()
    assert facts.thumbprint == sha1.hex().upper()
    assert (facts.nbf, facts.exp) == (int(NOT_BEFORE.timestamp()), int(NOT_AFTER.timestamp()))
    assert facts.e == "AQAB" and facts.subject == "CN=unit test" and facts.key_size == 2048
    n = int.from_bytes(base64.urlsafe_b64decode(facts.n + "=" * (-len(facts.n) % 4)), "big")  # type: ignore[operator]
    assert n == rsa_key.public_key().public_numbers().n


def test_certificate_facts_of_a_non_rsa_certificate_have_no_modulus() -> None:
    facts = certificate_facts(_cert(ec.generate_private_key(ec.SECP256R1())))
    assert facts.n is None and facts.e is None and facts.key_size is None


@pytest.mark.parametrize("algorithm", ["3des", "aes256"])
def test_open_pkcs12_with_the_right_password(
    rsa_key: rsa.RSAPrivateKey, cert: x509.Certificate, algorithm: str
) -> None:
    key, opened = open_pkcs12(_pfx(rsa_key, cert, "s3cret-pw", algorithm), "s3cret-pw")
    assert opened == cert and key.private_numbers() == rsa_key.private_numbers()


def test_open_pkcs12_without_a_password(rsa_key: rsa.RSAPrivateKey, cert: x509.Certificate) -> None:
    _key, opened = open_pkcs12(_pfx(rsa_key, cert, "", "none"), "")
    assert opened == cert


def test_open_pkcs12_refusals_never_echo_the_password(rsa_key: rsa.RSAPrivateKey, cert: x509.Certificate) -> None:
    with pytest.raises(Pkcs12PasswordError) as caught:
        open_pkcs12(_pfx(rsa_key, cert, "s3cret-pw", "3des"), "wrong-pw-42")
    assert "wrong-pw-42" not in str(caught.value) and "s3cret-pw" not in str(caught.value)
    with pytest.raises(Pkcs12NoKeyError):
        open_pkcs12(_pfx(None, cert, "pw", "3des"), "pw")
    with pytest.raises(ValueError, match="not a PKCS#12") as not_pfx:
        open_pkcs12(b"definitely not a pfx", "pw")
    assert not isinstance(not_pfx.value, Pkcs12PasswordError)


def test_pkcs12_uses_aes256_tells_aes_from_tripledes(rsa_key: rsa.RSAPrivateKey, cert: x509.Certificate) -> None:
    assert pkcs12_uses_aes256(_pfx(rsa_key, cert, "pw", "aes256"))
    assert not pkcs12_uses_aes256(_pfx(rsa_key, cert, "pw", "3des"))
    assert not pkcs12_uses_aes256(_pfx(rsa_key, cert, "", "none"))


def test_load_certificate_never_strips_der_bytes(rsa_key: rsa.RSAPrivateKey) -> None:
    """DER whose last byte is a whitespace value (0x0a, 0x20, ...) must survive: found as a flaky upload."""
    for serial in range(1, 2000):  # about 2% of signatures end in one; 2000 tries miss with odds below 10^-19
        cert = _cert(rsa_key, serial)
        der = cert.public_bytes(serialization.Encoding.DER)
        if der[-1:].isspace():
            assert load_certificate(der) == cert
            assert load_certificate(base64.b64encode(der).decode()) == cert
            return
    pytest.fail("no certificate ending in a whitespace byte was produced")


@pytest.mark.parametrize("algorithm", ["3des", "aes256"])
def test_every_kdf_iteration_count_of_a_pfx_is_read_before_opening(
    rsa_key: rsa.RSAPrivateKey, cert: x509.Certificate, algorithm: str
) -> None:
    data = pfx(rsa_key, cert, "pw", algorithm=algorithm)
    assert pkcs12_iterations(data) == [2048, 2048, 2048]  # the MAC, the certificate bag, the key bag
    assert with_mac_iterations(data, 2048) == data  # the test helper re-encodes faithfully


def test_a_pfx_with_an_absurd_iteration_count_is_refused_before_the_open(
    rsa_key: rsa.RSAPrivateKey, cert: x509.Certificate
) -> None:
    """B13: opening this file would run its MAC's KDF 2^31-1 times (minutes) before the password could be told."""
    data = with_mac_iterations(pfx(rsa_key, cert, "pw"), 2**31 - 1)
    with pytest.raises(Pkcs12CostError, match="2,147,483,647 iterations") as refused:
        open_pkcs12(data, "pw")
    assert "pw" not in str(refused.value).replace("pkcs12", "")
    # At the bound the file is opened (and its rewritten MAC then fails like a wrong password).
    with pytest.raises(Pkcs12PasswordError):
        open_pkcs12(with_mac_iterations(pfx(rsa_key, cert, "pw"), MAX_PKCS12_ITERATIONS), "pw")


def test_a_pfx_that_cannot_be_walked_is_left_to_the_open() -> None:
    with pytest.raises(ValueError, match="not a PKCS#12"):
        open_pkcs12(b"\x30\x80" + b"x" * 40, "pw")


def test_a_pem_carrying_a_private_key_is_recognised_in_every_spelling(
    rsa_key: rsa.RSAPrivateKey, cert: x509.Certificate
) -> None:
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        key_pem = rsa_key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
        bundle = b"Bag Attributes\n" + key_pem + cert_pem
        assert holds_private_key(bundle) and holds_private_key(bundle.decode())
        assert holds_private_key(base64.b64encode(bundle).decode())
    assert not holds_private_key(cert_pem)
    assert not holds_private_key(cert.public_bytes(serialization.Encoding.DER))
    assert not holds_private_key(base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode())
