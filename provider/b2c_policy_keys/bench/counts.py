"""Graph requests per resource operation, counted from the emulator's request log, beside the least possible.

Every operation runs through the real provider host. The minimum is the fewest that are safe: a create reads the set
(or, for a key set, whether it exists) just before it writes, because what was there before is what proves, after a
lost answer, which key or set the write made (issue 11), so two per create; a key's delete reads the set too, so
its disable never leaves the set without a valid key while another waits for its not-before, so two per key delete
and four per rotation (read, add the new key; read, disable the old one; three here, where the old key is disabled
already); one per read or in-place update; none for a diff (outputs carry everything diff needs); nothing for a key
set's update (its flags act on create and delete only).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from b2c_policy_keys.testing.host import SECRET_CONFIG_KEYS, ProviderHost, emulator_config

EXPIRES = "2099-12-31T23:59:59Z"
PFX_PASSWORD = "bench-pfx-Pa55"  # noqa: S105 (protects a throwaway PFX made for this run)


@dataclass(frozen=True)
class Count:
    resource: str
    operation: str
    requests: int
    minimum: int

    @property
    def ok(self) -> bool:
        return self.requests <= self.minimum


def graph_requests(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in log if r["path"].startswith("/beta/")]


def token_requests(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in log if r["path"].endswith("/oauth2/v2.0/token")]


def discovery_requests(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """msal's look-up of the authority's endpoints (OpenID configuration), made before its first token."""
    return [r for r in log if r["path"].endswith("/.well-known/openid-configuration")]


class _Material:
    """Self-signed certificates on one RSA key, as PEM and as a TripleDES PFX (the form B2C accepts)."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def certificate(self, subject: str) -> x509.Certificate:
        now = datetime.now(tz=UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .sign(self._key, hashes.SHA256())
        )

    def pem(self, subject: str) -> str:
        return self.certificate(subject).public_bytes(serialization.Encoding.PEM).decode("ascii")

    def pfx(self, subject: str) -> str:
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2048)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())  # noqa: S303 (the MAC B2C requires)
            .build(PFX_PASSWORD.encode())
        )
        data = pkcs12.serialize_key_and_certificates(b"b2c", self._key, self.certificate(subject), None, encryption)
        return base64.b64encode(data).decode("ascii")


def measure_counts(emu: Any) -> tuple[list[Count], int]:
    """The counts, and how many OpenID discovery requests msal made in the same host process."""
    """Every operation of every resource through one host process; the log is cleared before each."""
    from b2c_policy_keys.resources.certificate_key import CertificateKeyProvider
    from b2c_policy_keys.resources.generated_key import GeneratedKeyProvider
    from b2c_policy_keys.resources.keyset import KeySetProvider
    from b2c_policy_keys.resources.pkcs12_key import Pkcs12KeyProvider
    from b2c_policy_keys.resources.secret_key import SecretKeyProvider

    counts: list[Count] = []
    tokens: list[dict[str, Any]] = []
    discoveries: list[dict[str, Any]] = []

    def measure(resource: str, operation: str, minimum: int, action: Callable[..., Any], *args: Any) -> Any:
        emu.clear_requests()
        result = action(*args)
        log = emu.requests_log()
        tokens.extend(token_requests(log))
        discoveries.extend(discovery_requests(log))
        counts.append(Count(resource, operation, len(graph_requests(log)), minimum))
        return result

    material = _Material()
    with ProviderHost(reuse_pickles=True) as host:
        host.configure(emulator_config(emu), SECRET_CONFIG_KEYS)
        ks_news = {"name": "BenchCounts"}
        ks = measure("KeySet", "create", 2, host.up, KeySetProvider(), "ks", ks_news)
        measure("KeySet", "read (refresh)", 1, host.read, ks)
        measure("KeySet", "diff (no-change preview)", 0, host.preview, KeySetProvider(), "ks", ks_news, ks)
        flipped = {**ks_news, "purge_backup_on_delete": True}
        ks_updated = measure("KeySet", "update (flags)", 0, host.up, KeySetProvider(), "ks", flipped, ks)

        def secret(keyset_id: str, n: int) -> dict[str, Any]:
            return {"keyset_id": keyset_id, "value": f"bench-secret-{n}"}

        def generated(keyset_id: str, n: int) -> dict[str, Any]:
            return {"keyset_id": keyset_id, "version": n}

        def certificate(keyset_id: str, n: int) -> dict[str, Any]:
            return {"keyset_id": keyset_id, "certificate": material.pem(f"bench-{n}")}

        def pfx(keyset_id: str, n: int) -> dict[str, Any]:
            return {"keyset_id": keyset_id, "pfx": material.pfx(f"bench-{n}"), "password": PFX_PASSWORD}

        kinds: list[tuple[str, Any, Callable[[str, int], dict[str, Any]]]] = [
            ("SecretKey", SecretKeyProvider(), secret),
            ("GeneratedKey", GeneratedKeyProvider(), generated),
            ("CertificateKey", CertificateKeyProvider(), certificate),
            ("Pkcs12Key", Pkcs12KeyProvider(), pfx),
        ]
        keysets = [ks_updated]
        for kind, provider, inputs in kinds:
            own = host.up(KeySetProvider(), f"ks-{kind}", {"name": f"BenchCounts{kind}"})  # one key family per set
            keysets.append(own)
            keyset_id = own.outputs["keyset_id"]
            news = inputs(keyset_id, 1)
            key = measure(kind, "create", 2, host.up, provider, "k", news)
            measure(kind, "read (refresh)", 1, host.read, key)
            measure(kind, "diff (no-change preview)", 0, host.preview, provider, "k", news, key)
            disabled = {**news, "enabled": False}
            key = measure(kind, "update (disable)", 1, host.up, provider, "k", disabled, key)
            rotated = inputs(keyset_id, 2)  # enabled again: read, add the new key; read (the old key is disabled)
            key = measure(kind, "rotation", 3, host.up, provider, "k", rotated, key)  # old key disabled: no PATCH
            measure(kind, "delete", 2, host.delete, key)
        # The first set purges its .bak on delete (a second request, by request): measure a plain one.
        for keyset in keysets[:-1]:
            host.delete(keyset)
        measure("KeySet", "delete", 1, host.delete, keysets[-1])
    counts.append(Count("(host process)", "token requests", len(tokens), 1))
    return counts, len(discoveries)
