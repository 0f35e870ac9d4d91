"""The applications registered in the emulated tenant: how each may authenticate and which roles it holds."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from b2c_policy_keys.emulator.principal import READ_ROLE, READ_WRITE_ROLE
from b2c_policy_keys.emulator.signing import b64url

DEFAULT_TENANT_ID = "b2c00000-0000-4000-8000-000000000001"
DEFAULT_CLIENT_ID = "b2c00000-0000-4000-8000-0000000000a1"
DEFAULT_CLIENT_SECRET = "emulator-readwrite-secret"  # noqa: S105 - a documented, public emulator credential
READONLY_CLIENT_ID = "b2c00000-0000-4000-8000-0000000000a2"
READONLY_CLIENT_SECRET = "emulator-readonly-secret"  # noqa: S105 - a documented, public emulator credential
#: The App Service managed identity the emulator's ``/msi/token`` endpoint issues tokens to.
MANAGED_IDENTITY_CLIENT_ID = "b2c00000-0000-4000-8000-0000000000b1"

#: A federated credential matching every subject the emulator's external issuer signs.
ANY_SUBJECT = "*"
KNOWN_ROLES = frozenset({READ_ROLE, READ_WRITE_ROLE})


@dataclass
class Client:
    """One app registration. Certificates are indexed by their ``x5t`` and ``x5t#S256`` thumbprints."""

    client_id: str
    roles: frozenset[str]
    secret: str | None = field(default=None, repr=False)
    certificates: dict[str, rsa.RSAPublicKey] = field(default_factory=dict, repr=False)
    federated_subjects: set[str] = field(default_factory=set)

    def secret_matches(self, candidate: str) -> bool:
        return self.secret is not None and hmac.compare_digest(self.secret.encode(), candidate.encode())

    def add_certificate(self, certificate_pem: str | bytes) -> None:
        data = certificate_pem.encode() if isinstance(certificate_pem, str) else certificate_pem
        certificate = x509.load_pem_x509_certificate(data)
        public_key = certificate.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise ValueError("client certificates must carry an RSA public key")
        der = certificate.public_bytes(encoding=Encoding.DER)
        self.certificates[b64url(hashlib.sha1(der).digest())] = public_key  # noqa: S324 - x5t is SHA-1 by spec
        self.certificates[b64url(hashlib.sha256(der).digest())] = public_key


class ClientRegistry:
    """Thread-safe: the admin API adds clients while token requests read them."""

    def __init__(self) -> None:
        self._clients: dict[str, Client] = {}
        self._lock = threading.Lock()

    def get(self, client_id: str) -> Client | None:
        with self._lock:
            return self._clients.get(client_id.lower())

    def add(
        self,
        client_id: str,
        *,
        secret: str | None = None,
        certificate_pem: str | bytes | None = None,
        federated_subject: str | None = None,
        roles: Iterable[str] = (READ_WRITE_ROLE,),
    ) -> Client:
        """Register (or extend) a client: a second call for the same id adds credentials and replaces roles."""
        if not client_id or not isinstance(client_id, str):
            raise ValueError("'client_id' must be a non-empty string")
        role_set = frozenset(roles)
        unknown = role_set - KNOWN_ROLES
        if unknown:
            raise ValueError(f"unknown roles {sorted(unknown)}; known: {sorted(KNOWN_ROLES)}")
        with self._lock:
            client = self._clients.get(client_id.lower()) or Client(client_id=client_id, roles=role_set)
            client.roles = role_set
            if secret is not None:
                client.secret = secret
            if certificate_pem is not None:
                client.add_certificate(certificate_pem)
            if federated_subject is not None:
                client.federated_subjects.add(federated_subject)
            self._clients[client_id.lower()] = client
            return client

    def add_from_spec(self, spec: Mapping[str, Any]) -> Client:
        """A client from JSON (admin API, ``--clients`` file); ValueError names the problem."""
        allowed = {"client_id", "secret", "certificate_pem", "federated_subject", "roles"}
        extra = set(spec) - allowed
        if extra:
            raise ValueError(f"unknown client fields {sorted(extra)}; allowed: {sorted(allowed)}")
        roles = spec.get("roles", [READ_WRITE_ROLE])
        if not isinstance(roles, list | tuple) or not all(isinstance(role, str) for role in roles):
            raise ValueError("'roles' must be a list of role names")
        for name in ("secret", "certificate_pem", "federated_subject"):
            if spec.get(name) is not None and not isinstance(spec[name], str):
                raise ValueError(f"'{name}' must be a string")
        return self.add(
            str(spec.get("client_id") or ""),
            secret=spec.get("secret"),
            certificate_pem=spec.get("certificate_pem"),
            federated_subject=spec.get("federated_subject"),
            roles=roles,
        )


def default_registry() -> ClientRegistry:
    """The documented clients: one read-write (accepting any federated subject) and one read-only."""
    registry = ClientRegistry()
    registry.add(DEFAULT_CLIENT_ID, secret=DEFAULT_CLIENT_SECRET, federated_subject=ANY_SUBJECT)
    registry.add(READONLY_CLIENT_ID, secret=READONLY_CLIENT_SECRET, roles=(READ_ROLE,))
    return registry
