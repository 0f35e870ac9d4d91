"""The emulator's own CA and server certificate: generated once by trustme, kept in the data directory.

msal refuses non-https authorities and clients must verify TLS for real, so the emulator is its own small PKI.
The CA persists so that a trust decision (``REQUESTS_CA_BUNDLE``, ``B2C_CA_BUNDLE``, a system store) survives
restarts; the leaf is re-issued from the same CA when missing.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

#: Names the server certificate is valid for: the emulator only listens on loopback by default.
SERVER_IDENTITIES = ("127.0.0.1", "localhost", "::1")

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"


@dataclass(frozen=True)
class TlsFiles:
    """Where the PEM files live; ``ca_bundle`` is what clients trust."""

    ca_bundle: Path
    server_chain: Path
    server_key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_chain, self.server_key)
        return context


def _write_private(path: Path, data: bytes) -> None:
    """Private keys are readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def ensure_tls_files(directory: Path) -> TlsFiles:
    """Load the CA and server certificate from ``directory``, generating whatever is missing."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / CA_CERT, directory / SERVER_CERT, directory / SERVER_KEY)
    ca_key = directory / CA_KEY
    if files.ca_bundle.exists() and ca_key.exists():
        ca = trustme.CA.from_pem(files.ca_bundle.read_bytes(), ca_key.read_bytes())
    else:
        ca = trustme.CA(organization_name="b2c-policy-keys emulator")
        _write_private(ca_key, ca.private_key_pem.bytes())
        files.ca_bundle.write_bytes(ca.cert_pem.bytes())
    if not (files.server_chain.exists() and files.server_key.exists()):
        leaf = ca.issue_cert(*SERVER_IDENTITIES, common_name="b2c-policy-keys emulator")
        _write_private(files.server_key, leaf.private_key_pem.bytes())
        files.server_chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    return files
