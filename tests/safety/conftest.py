"""Fixtures for the safety tests (issue 11): provider hosts as separate `pulumi up` runs or stacks, one emulator."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from b2c_policy_keys.emulator import Emulator
from key_kinds.material import Material
from support.host import SECRET_CONFIG_KEYS, ProviderHost, emulator_config, graph_client
from support.pki import new_rsa_key, self_signed

#: Another `pulumi up`, or another stack's: a provider process of its own, configured like a stack (``b2c:`` extras).
Hosts = Callable[..., ProviderHost]


@pytest.fixture
def hosts(emulator: Emulator) -> Iterator[Hosts]:
    started: list[ProviderHost] = []

    def make(**config: str) -> ProviderHost:
        host = ProviderHost().start()
        started.append(host)
        host.configure({**emulator_config(emulator), **config}, secrets=SECRET_CONFIG_KEYS)
        return host

    yield make
    for host in started:
        host.close()


@pytest.fixture
def graph(emulator: Emulator) -> Any:
    """The tenant as an admin sees it (a client in the test process)."""
    return graph_client(emulator)


@pytest.fixture
def material() -> Material:
    """A valid self-signed RSA certificate and its key: a certificate, or a PFX with ``material.pfx()``."""
    key, now = new_rsa_key(), datetime.now(tz=UTC)
    cert = self_signed(
        key, subject="b2c-safety", not_before=now - timedelta(days=1), not_after=now + timedelta(days=90)
    )
    return Material(cert, key)


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Poll a condition of the emulator (never a clock as synchronisation)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def fault_taken(emulator: Emulator, fault: dict[str, Any]) -> Callable[[], bool]:
    """True once a ``count=1`` fault met its request (the emulator drops it from its list as the request arrives)."""
    return lambda: all(f["id"] != fault["id"] for f in emulator.list_faults())
