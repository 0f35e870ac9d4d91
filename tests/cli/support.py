"""Running the installed ``b2c-keys`` as a user would: a subprocess with only the environment a test gives it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

B2C_KEYS = str(Path(sys.executable).with_name("b2c-keys"))


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment minus every credential variable, so only what a test passes counts."""
    prefixes = ("ARM_", "AZURE_", "B2C_", "IDENTITY_", "MSI_", "ACTIONS_ID_TOKEN_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def b2c_keys(
    *args: str, emulator_line: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [B2C_KEYS, *args]
    if emulator_line is not None:
        argv += ["--emulator", str(emulator_line)]
    return subprocess.run(argv, capture_output=True, text=True, env=env or clean_env(), timeout=60, check=False)
