"""Helpers for the Graph client's integration tests: settings for an emulator, a delay recorder, certificates."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.graph import GraphClient, Settings, resolve_settings
from b2c_policy_keys.graph.retry import RetryPolicy
from b2c_policy_keys.graph.transport import Transport
from support.pki import pfx, self_signed, shared_rsa_key

TOKEN_PATH_SUFFIX = "/oauth2/v2.0/token"


def emulator_config(emu: Emulator, **overrides: str | None) -> dict[str, str]:
    values: dict[str, str | None] = {
        "b2c:tenantId": emu.tenant_id,
        "b2c:clientId": emu.client_id,
        "b2c:clientSecret": emu.client_secret,
        "b2c:graphUrl": emu.graph_url,
        "b2c:authorityHost": emu.authority_host,
        "b2c:caBundle": emu.ca_bundle,
        "b2c:retryTimeout": "20",
        "b2c:requestTimeout": "10",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def emulator_settings(emu: Emulator, **overrides: str | None) -> Settings:
    return resolve_settings(emulator_config(emu, **overrides).get, env={})


@dataclass
class SleepRecorder:
    """Records each delay the retry policy chose, then really sleeps it (never a mock of time)."""

    delays: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, seconds: float) -> None:
        with self.lock:
            self.delays.append(seconds)
        time.sleep(seconds)


def recorded_client(settings: Settings, **transport: Any) -> tuple[GraphClient, SleepRecorder]:
    recorder = SleepRecorder()
    policy = RetryPolicy(settings.retry_timeout, sleep=recorder)
    return GraphClient(settings, Transport(settings, policy=policy, **transport)), recorder


def token_requests(emu: Emulator) -> int:
    return sum(1 for entry in emu.requests_log() if entry["path"].endswith(TOKEN_PATH_SUFFIX))


def graph_requests(emu: Emulator, method: str, path_suffix: str) -> int:
    return sum(
        1
        for entry in emu.requests_log()
        if entry["method"] == method and entry["path"].startswith("/beta/") and entry["path"].endswith(path_suffix)
    )


def closed_port() -> int:
    """A local port nothing listens on (bound, then released), for connection-refused cases."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class AppCertificate:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def key_pem(self, password: str | None = None) -> str:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        ).decode()

    def pfx(self, password: str) -> bytes:
        return pfx(self.key, self.cert, password, algorithm="aes256")


def app_certificate(common_name: str = "b2c-policy-keys client") -> AppCertificate:
    """A self-signed certificate for a client credential; one RSA key per session keeps the suite fast."""
    key = shared_rsa_key()
    now = datetime.now(tz=UTC)
    cert = self_signed(key, subject=common_name, not_before=now - timedelta(days=1), not_after=now + timedelta(days=30))
    return AppCertificate(key, cert)
