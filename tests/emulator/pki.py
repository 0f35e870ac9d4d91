"""Real certificates and PFX files, made with cryptography, for the emulator's Graph-semantics tests."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Pki:
    """A signing key and its self-signed certificate, plus ways to package them as B2C uploads take them."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def cer_b64(self, *, pem: bool = False) -> str:
        return base64.b64encode(self.pem if pem else self.der).decode()

    def pfx(self, password: str, *, algorithm: str = "3des") -> bytes:
        if algorithm == "aes256":
            encryption: serialization.KeySerializationEncryption = serialization.BestAvailableEncryption(
                password.encode()
            )
        elif algorithm == "3des":
            encryption = (
                serialization.PrivateFormat.PKCS12.encryption_builder()
                .kdf_rounds(2048)
                .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
                .hmac_hash(hashes.SHA1())  # noqa: S303  (what B2C accepts: TripleDES-SHA1)
                .build(password.encode())
            )
        else:
            encryption = serialization.NoEncryption()
        return pkcs12.serialize_key_and_certificates(b"b2c", self.key, self.cert, None, encryption)

    def pfx_b64(self, password: str, *, algorithm: str = "3des") -> str:
        return base64.b64encode(self.pfx(password, algorithm=algorithm)).decode()


_KEY: list[rsa.RSAPrivateKey] = []


def make_pki(*, not_before: datetime | None = None, days: int = 365) -> Pki:
    """A self-signed RSA-2048 certificate; one private key is shared across the session to keep tests fast."""
    if not _KEY:
        _KEY.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    key = _KEY[0]
    start = (not_before or datetime.now(tz=UTC) - timedelta(days=1)).replace(microsecond=0)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "b2c-policy-keys test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return Pki(key, cert)
