"""Real certificates and PFX files for every test folder, made with cryptography: one builder, not one per folder.

Each folder keeps its own thin wrapper (``emulator/pki.py``, ``key_kinds/material.py``, ``graph/support.py``)
shaped for its tests; what makes the certificate and the PFX is here.
"""

from __future__ import annotations

import functools
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


@functools.cache
def shared_rsa_key() -> rsa.RSAPrivateKey:
    """One RSA-2048 key per test process: generating one is slow, and most tests need only a certificate."""
    return new_rsa_key()


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def self_signed(
    key: CertificateIssuerPrivateKeyTypes,
    *,
    subject: str,
    not_before: datetime,
    not_after: datetime,
    serial: int | None = None,
) -> x509.Certificate:
    """A self-signed SHA-256 certificate for ``key`` (CN ``subject``), valid from ``not_before`` to ``not_after``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number() if serial is None else serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )


def pfx(key: rsa.RSAPrivateKey | None, cert: x509.Certificate, password: str, *, algorithm: str = "3des") -> bytes:
    """A PKCS#12 file holding ``cert`` and (unless None) ``key``.

    ``algorithm``: ``3des`` (TripleDES-SHA1, what B2C takes), ``aes256`` (what modern tools export by default, which
    B2C refuses) or ``none``.
    """
    encryption: serialization.KeySerializationEncryption
    if algorithm == "none":
        encryption = serialization.NoEncryption()
    else:
        builder = serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(2048)
        if algorithm == "aes256":
            builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        else:
            builder = builder.key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            builder = builder.hmac_hash(hashes.SHA1())  # noqa: S303 (the MAC B2C requires)
        encryption = builder.build(password.encode())
    return pkcs12.serialize_key_and_certificates(b"b2c", key, cert, None, encryption)
