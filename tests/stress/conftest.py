"""Fixtures for the stress tests: one emulator and one provider host per resource kind, reused across many cells."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.graph import GraphClient
from key_kinds.material import Material
from support.host import SECRET_CONFIG_KEYS, ProviderHost, emulator_config, graph_client
from support.pki import new_rsa_key, self_signed

#: The read timeout the latency cells go past, and the total retry budget: small, so that every cell is quick, yet
#: with room for one read timeout plus one back-off (or one Retry-After) even on a loaded machine.
REQUEST_TIMEOUT_S = 1.5
RETRY_TIMEOUT_S = 4.0
#: The budget of hosts that face a fault that never clears: they must give up, and giving up takes the budget.
SHORT_RETRY_TIMEOUT_S = 1.0
#: Injected latency beyond the read timeout: the client gives up while the emulator still does the work.
LATENCY_MS = 1800


def stress_config(emu: Emulator, **extra: str) -> dict[str, str]:
    """The stack config of a user pointing at ``emu`` with a short read timeout and retry budget."""
    return {
        **emulator_config(emu),
        "b2c:requestTimeout": str(REQUEST_TIMEOUT_S),
        "b2c:retryTimeout": str(RETRY_TIMEOUT_S),
        **extra,
    }


class Hosts:
    """Provider hosts started on first use, one per name (a resource kind), all configured for one emulator."""

    def __init__(self, emu: Emulator) -> None:
        self._emu = emu
        self._started: dict[str, ProviderHost] = {}

    def get(self, name: str, **config: str) -> ProviderHost:
        """The host called ``name``, started with ``config`` added to the stack config the first time."""
        if name not in self._started:
            host = ProviderHost().start()
            host.configure(stress_config(self._emu, **config), secrets=SECRET_CONFIG_KEYS)
            self._started[name] = host
        return self._started[name]

    def __getitem__(self, name: str) -> ProviderHost:
        return self.get(name)

    def close(self) -> None:
        for host in self._started.values():
            host.close()


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[Emulator]:
    """One emulator for a whole module; each test resets its tenant and faults first."""
    with Emulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def hosts(shared_emulator: Emulator) -> Iterator[Hosts]:
    started = Hosts(shared_emulator)
    yield started
    started.close()


@pytest.fixture
def emu(shared_emulator: Emulator) -> Emulator:
    """The module's emulator, emptied: no key sets, no faults, no logged requests."""
    shared_emulator.clear_faults()
    shared_emulator.reset()
    shared_emulator.clear_requests()
    return shared_emulator


def inspector(emu: Emulator) -> GraphClient:
    """A Graph client in the test process with default timeouts, to see what the emulator really holds."""
    return graph_client(emu)


@pytest.fixture(scope="session")
def material() -> Material:
    """One valid RSA certificate and key (the key kinds' test material), made once per session."""
    return make_material()


def make_material(subject: str = "b2c-stress") -> Material:
    """A self-signed RSA certificate valid for a year, with its key."""
    key = new_rsa_key()
    now = datetime.now(tz=UTC)
    cert = self_signed(key, subject=subject, not_before=now - timedelta(days=1), not_after=now + timedelta(days=365))
    return Material(cert, key)


def last_line(details: str) -> str:
    """What the user reads first of a failed provider call: the host's last traceback line."""
    lines = [line for line in details.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def is_clear_error(details: str) -> bool:
    """The failure ends in one of the package's errors with a message, not in a bare library exception."""
    line = last_line(details)
    kind, _, message = line.partition(": ")
    return kind.startswith("b2c_policy_keys.") and len(message.strip()) >= 20
