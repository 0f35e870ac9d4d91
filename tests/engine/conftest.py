"""Engine tests: the real program in a project root, the real provider host, the emulator over HTTPS."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from b2c_policy_keys.testing import b2c_emulator, b2c_engine  # noqa: F401  (the plugin's fixtures)
from support.programs import root_program

#: A program that every sequence test drives: a key set and a secret key in it, knobs in the stack config.
PROGRAM = """
import pulumi
from b2c_policy_keys import KeySet, SecretKey

app = pulumi.Config("app")
protect = app.get_bool("protect") or False
keyset = KeySet("signing", name="Signing", opts=pulumi.ResourceOptions(protect=protect))
key = SecretKey(
    "signing-key",
    keyset_id=keyset.keyset_id,
    value=app.require_secret("secret"),
    expires_at=app.get("expiresAt") or "2099-01-01T00:00:00Z",
    opts=pulumi.ResourceOptions(parent=keyset, protect=False),
)
if app.get_bool("extra"):
    SecretKey("extra", keyset_id=KeySet("other", name="Other").keyset_id, value="extra-value-1f2e")
if app.get_bool("broken"):
    # Registered once the key's outputs are known (after its replacement exists); its Create fails (no such set).
    SecretKey("broken", keyset_id=key.kid.apply(lambda _: "B2C_1A_DoesNotExist"), value="broken-value-9a8b")
pulumi.export("kid", key.kid)
"""

MakeProject = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path) -> MakeProject:
    """A root program (``Pulumi.yaml`` and ``__main__.py`` side by side, no ``main``) with this virtualenv."""

    def make(program: str = PROGRAM, *, name: str = "app-infra") -> Path:
        return root_program(tmp_path / name, program, name=name)

    return make
