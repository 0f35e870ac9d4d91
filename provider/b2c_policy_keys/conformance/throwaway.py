"""Key material the probe uploads: random, made for this run, never a user's secret."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from b2c_policy_keys.certificates import b64url


def random_secret() -> str:
    """A throwaway uploadSecret value (plain text, as uploadSecret takes it)."""
    return secrets.token_urlsafe(32)


def random_jwk_k() -> str:
    """A throwaway oct ``k`` for a PUT payload: base64url of 32 random bytes."""
    return b64url(secrets.token_bytes(32))


@dataclass(frozen=True)
class ThrowawayCertificate:
    """A self-signed RSA-2048 certificate valid for a day, and a PFX of it under a random password."""

    cer_b64: str
    pfx_b64: str
    password: str


def throwaway_certificate() -> ThrowawayCertificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "b2c-keys conformance probe (throwaway)")])
    start = datetime.now(tz=UTC).replace(microsecond=0) - timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    password = secrets.token_urlsafe(18)
    # TripleDES-SHA1: B2C refuses AES-256 PFX files with AADB2C90213 (reference, "Errors").
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())  # noqa: S303 - the PFX format B2C accepts, for a throwaway key
        .build(password.encode())
    )
    pfx = pkcs12.serialize_key_and_certificates(b"conformance", key, cert, None, encryption)
    der = cert.public_bytes(serialization.Encoding.DER)
    return ThrowawayCertificate(base64.b64encode(der).decode(), base64.b64encode(pfx).decode(), password)
