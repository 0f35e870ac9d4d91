"""Real certificates and PFX files for the key-kinds tests: every form a resource accepts."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from support.pki import pfx

PFX_PASSWORD = "pfx-Pa55-w0rd-9431"


@dataclass(frozen=True)
class Material:
    """One certificate and its key, in every form a test hands to a resource."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def der_base64(self) -> str:
        return base64.b64encode(self.der).decode("ascii")

    @property
    def thumbprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 (what the portal shows)

    def pfx(self, password: str = PFX_PASSWORD, *, aes256: bool = False, with_key: bool = True) -> str:
        """base64 of a PFX: TripleDES-SHA1 as B2C wants it, or AES-256 as modern tools export by default."""
        data = pfx(self.key if with_key else None, self.cert, password, algorithm="aes256" if aes256 else "3des")
        return base64.b64encode(data).decode("ascii")
