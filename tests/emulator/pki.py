"""Real certificates and PFX files, made with cryptography, for the emulator's Graph-semantics tests."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from support.pki import pfx, self_signed, shared_rsa_key


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
        return pfx(self.key, self.cert, password, algorithm=algorithm)

    def pfx_b64(self, password: str, *, algorithm: str = "3des") -> str:
        return base64.b64encode(self.pfx(password, algorithm=algorithm)).decode()


def make_pki(*, not_before: datetime | None = None, days: int = 365) -> Pki:
    """A self-signed RSA-2048 certificate; one private key is shared across the session to keep tests fast."""
    key = shared_rsa_key()
    start = (not_before or datetime.now(tz=UTC) - timedelta(days=1)).replace(microsecond=0)
    cert = self_signed(key, subject="b2c-policy-keys test", not_before=start, not_after=start + timedelta(days=days))
    return Pki(key, cert)
