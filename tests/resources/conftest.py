"""Fixtures for resource tests: a provider host configured for the test's emulator, and an out-of-band client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from b2c_policy_keys.emulator import Emulator
from support.host import SECRET_CONFIG_KEYS, ProviderHost, emulator_config, graph_client


@pytest.fixture
def host_factory(emulator: Emulator) -> Iterator[Callable[[], ProviderHost]]:
    """``host_factory()`` starts another provider process (as another `pulumi up` would), configured like a stack."""
    started: list[ProviderHost] = []

    def make() -> ProviderHost:
        host = ProviderHost().start()
        started.append(host)
        # The whole stack config, as the engine sends it: the b2c: keys plus the program's own (one of them secret).
        config = {**emulator_config(emulator), "b2c-test:environment": "local", "app:clientSecret": "program-secret"}
        host.configure(config, secrets={*SECRET_CONFIG_KEYS, "app:clientSecret"})
        return host

    yield make
    for host in started:
        host.close()


@pytest.fixture
def host(host_factory: Callable[[], ProviderHost]) -> ProviderHost:
    return host_factory()


@pytest.fixture
def graph(emulator: Emulator) -> Any:
    """A Graph client in the test process, for changes made "out of band" (another admin, the portal)."""
    return graph_client(emulator)
