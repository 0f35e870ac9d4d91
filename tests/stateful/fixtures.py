"""Fixtures for the rotation tests: the program-level engine stand-in with a controllable clock, and a Graph client.

A module, not ``tests/safety/conftest.py`` (that one belongs to the lost-answer tests): the rotation test modules
import these fixtures by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys.emulator import Emulator
from stateful.engine import Engine, TestClock
from support.host import graph_client


@pytest.fixture
def clock(emulator: Emulator, tmp_path: Path) -> TestClock:
    return TestClock(emulator, tmp_path / "clock")


@pytest.fixture
def engine(emulator: Emulator, clock: TestClock) -> Engine:
    # A short retry budget: a fault that never clears fails the run in seconds, not in the default two minutes.
    return Engine(emulator, clock, config={"b2c:retryTimeout": "2"})


@pytest.fixture
def graph(emulator: Emulator) -> Any:
    """A Graph client in the test process, for what the tenant holds and for changes made out of band."""
    return graph_client(emulator)
