"""Shared fixtures: a fresh in-memory emulator per test, and a factory for more (data directories, other tenants)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from b2c_policy_keys.emulator import Emulator

#: The fault-matrix summary table (issue 7) must print on the xdist controller, which loads only this conftest.
pytest_plugins = ("stress.matrix_report",)


@pytest.fixture(autouse=True)
def _trust_only_what_tests_choose(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override ``Session.verify`` (psf/requests#3829).

    Tests pass the emulator's CA explicitly; a CA bundle inherited from the machine would silently win over it.
    """
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh, in-memory, HTTPS emulator on a free port; stopped after the test."""
    with Emulator() as emu:
        yield emu


EmulatorFactory = Callable[..., Emulator]


@pytest.fixture
def emulator_factory() -> Iterator[EmulatorFactory]:
    """``emulator_factory(data=":memory:", **Emulator kwargs)`` starts another emulator; all stop at teardown."""
    started: list[Emulator] = []

    def make(data: Any = ":memory:", **kwargs: Any) -> Emulator:
        emu = Emulator(data, **kwargs).start()
        started.append(emu)
        return emu

    yield make
    for emu in reversed(started):
        emu.stop()


@pytest.fixture
def emulator_session(emulator: Emulator) -> Iterator[requests.Session]:
    """A requests session trusting the emulator's CA (and nothing else)."""
    with requests.Session() as session:
        session.verify = emulator.ca_bundle
        yield session
