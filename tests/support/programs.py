"""Real programs for the engine: a root project (``Pulumi.yaml`` beside ``__main__.py``) from a program's source."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.testing.engine import Engine
from b2c_policy_keys.testing.fixtures import emulator_target


def root_program(root: Path, source: str, *, name: str = "app-infra") -> Path:
    """``root`` as a project whose program is ``source``, run with this virtualenv (no ``main``: a root program)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text(
        f"name: {name}\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {sys.prefix}\n"
    )
    (root / "__main__.py").write_text(textwrap.dedent(source))
    return root


def engine_for(emulator: Emulator, root: Path, stack: str = "dev", **kwargs: Any) -> Engine:
    """An engine whose program and provider host reach ``emulator`` through the environment, as the quickstart's."""
    return Engine(root, stack, environ=emulator_target(emulator).environ, **kwargs)
