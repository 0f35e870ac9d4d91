"""Real certificates and PFX files, generated per test session: valid, expiring soon, expired, AES-256, keyless."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from support.host import SECRET_CONFIG_KEYS, ProviderHost, emulator_config, graph_client
from support.pki import new_rsa_key, self_signed

from .material import Material


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


MakeMaterial = Callable[..., Material]


@pytest.fixture(scope="session")
def make_material(rsa_key: rsa.RSAPrivateKey) -> MakeMaterial:
    """``make_material(days=365, subject="CN=...", ago=1)``: a self-signed certificate valid ``ago`` days back."""

    def make(days: float = 365, *, subject: str = "b2c-test", ago: float = 1) -> Material:
        now = datetime.now(tz=UTC)
        valid = {"not_before": now - timedelta(days=ago), "not_after": now + timedelta(days=days)}
        return Material(self_signed(rsa_key, subject=subject, **valid), rsa_key)

    return make


@pytest.fixture(scope="session")
def ec_certificate_pem() -> str:
    """A valid certificate whose key is not RSA: B2C cannot use it."""
    now = datetime.now(tz=UTC)
    valid = {"not_before": now - timedelta(days=1), "not_after": now + timedelta(days=100)}
    cert = self_signed(ec.generate_private_key(ec.SECP256R1()), subject="ec", serial=1, **valid)
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


@pytest.fixture
def host(emulator: Any) -> Iterator[ProviderHost]:
    """The real dynamic-provider host, configured like a stack pointing at the test's emulator."""
    with ProviderHost() as started:
        started.configure(emulator_config(emulator), secrets=SECRET_CONFIG_KEYS)
        yield started


@pytest.fixture
def graph(emulator: Any) -> Any:
    """A Graph client in the test process, for checks and for changes made out of band (the portal, another admin)."""
    return graph_client(emulator)


def graph_calls(emu: Any) -> list[str]:
    """``["POST generateKey", "PATCH keys_v2", ...]``: Graph requests in the emulator's log, token calls left out."""
    calls = []
    for entry in emu.requests_log():
        if entry["path"].startswith("/beta/"):
            tail = entry["path"].rstrip("/").split("/")[-1]
            calls.append(f"{entry['method']} {'keys_v2' if '/keys_v2/' in entry['path'] else tail}")
    return calls
