"""The pytest fixtures of the ``b2c_policy_keys.testing`` plugin: an emulator to target, and engines for a project.

def test_up(b2c_engine):
    engine = b2c_engine(Path(__file__).parents[1], "local", passphrase="...")
    engine.up()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.testing.target import CREDENTIAL_ENV_PREFIXES, emulator_config, emulator_environ

if TYPE_CHECKING:  # the engine (grpc, pulumi) is imported when a test asks for it, not when the plugin loads
    from b2c_policy_keys.testing.engine import Engine

#: Variables that would point the provider at a real tenant or credential: left out of the engines' environment.
CREDENTIAL_PREFIXES = CREDENTIAL_ENV_PREFIXES


@dataclass(frozen=True)
class B2CEmulator:
    """A running emulator, and what a program's provider needs to target it: ``environ`` (as ``bin/quickstart``
    exports it) or ``config`` (as ``pulumi config set b2c:...`` would)."""

    emulator: Emulator
    environ: dict[str, str]
    config: dict[str, str]


def emulator_target(emu: Emulator) -> B2CEmulator:
    return B2CEmulator(emu, emulator_environ(emu), emulator_config(emu))


@pytest.fixture
def b2c_emulator() -> Iterator[B2CEmulator]:
    """A fresh in-memory Graph emulator (HTTPS, real OAuth), stopped after the test."""
    with Emulator() as emu:
        yield emulator_target(emu)


EngineFactory = Callable[..., "Engine"]


@pytest.fixture
def b2c_engine(b2c_emulator: B2CEmulator) -> EngineFactory:
    """``b2c_engine(project_root, stack, passphrase=None, **kw)``: an ``Engine`` whose program and provider host
    target ``b2c_emulator`` through the environment (nothing from the machine's credentials)."""

    def make(project_root: Path, stack: str, *, passphrase: str | None = None, **kwargs: Any) -> Engine:
        from b2c_policy_keys.testing.engine import Engine

        return Engine(Path(project_root), stack, environ=b2c_emulator.environ, passphrase=passphrase, **kwargs)

    return make
