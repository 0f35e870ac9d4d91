"""The program side of the key kinds through the engine: PolicyKey, the lookups and the program's warnings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys import PolicyKey
from b2c_policy_keys.model import now_epoch
from b2c_policy_keys.testing.engine import Engine
from b2c_policy_keys.testing.fixtures import CREDENTIAL_PREFIXES
from support.host import emulator_config, graph_requests
from support.programs import engine_for, root_program

from .conftest import MakeMaterial
from .material import PFX_PASSWORD

POLICY_KEY = """
import pulumi
from b2c_policy_keys import PolicyKey

app = pulumi.Config("app")
option = app.require("option")
extra = {
    "generate": lambda: {"use": "enc"},
    "secret": lambda: {"value": app.require_secret("value")},
    "certificate": lambda: {"certificate": app.require("certificate")},
    "pkcs12": lambda: {"pfx": app.require_secret("pfx"), "password": app.require_secret("password")},
}[option]()
key = PolicyKey("pk", name=f"Added{option}", options=option, **extra)
pulumi.export("keyset_id", key.keyset_id)
pulumi.export("kid", key.kid)
"""


@pytest.mark.parametrize("option", ["generate", "secret", "certificate", "pkcs12"])
def test_policy_key_makes_a_key_set_and_its_first_key(
    option: str, emulator: Any, graph: Any, make_material: MakeMaterial, tmp_path: Path
) -> None:
    material = make_material(days=200)
    engine = engine_for(emulator, root_program(tmp_path / "infra", POLICY_KEY))
    engine.set_config("app:option", option)
    engine.set_config("app:value", "policy-key-secret-value", secret=True)
    engine.set_config("app:certificate", material.pem)
    engine.set_config("app:pfx", material.pfx(), secret=True)
    engine.set_config("app:password", PFX_PASSWORD, secret=True)
    result = engine.up()
    outputs = engine.checkpoint.outputs
    assert outputs["keyset_id"] == f"B2C_1A_Added{option}"
    live = graph.get_keyset(f"B2C_1A_Added{option}")
    assert [k.kid for k in live.keys] == [outputs["kid"]]
    assert live.keys[0].use == ("enc" if option == "generate" else "sig")
    key = engine.checkpoint.get("pk-key")
    assert key is not None
    if option == "pkcs12":
        assert {"pfx", "password"} <= key.secret_inputs
        assert PFX_PASSWORD not in key.inputs["__provider"] and PFX_PASSWORD not in result.text
    if option == "secret":
        assert "value" in key.secret_inputs


def test_policy_key_names_the_missing_argument() -> None:
    with pytest.raises(ValueError, match=r"options='pkcs12' needs pfx and password"):
        PolicyKey("pk", name="X", options="pkcs12")
    with pytest.raises(ValueError, match="options must be one of"):
        PolicyKey("pk", name="X", options="upload")  # type: ignore[arg-type]


LOOKUPS = """
import pulumi
from b2c_policy_keys import get_active_key, get_keyset

pulumi.export("keyset", get_keyset("Signing"))
pulumi.export("active", get_active_key("B2C_1A_Signing"))
"""


def test_lookups_read_live_state_with_the_stack_config(emulator: Any, graph: Any, tmp_path: Path) -> None:
    keyset_id = graph.create_keyset("Signing").id
    graph.generate_key(keyset_id, use="sig", kty="RSA", nbf=1_700_000_000)
    newest = graph.generate_key(keyset_id, use="sig", kty="RSA", nbf=now_epoch() - 60)
    emulator.clear_requests()
    # The stack config, not the environment, points the program at the tenant.
    environ = {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_PREFIXES)}
    engine = Engine(root_program(tmp_path / "infra", LOOKUPS), "dev", environ=environ)
    for key, value in emulator_config(emulator).items():
        engine.set_config(key, value, secret=key == "b2c:clientSecret")
    engine.up(skip_preview=True)
    keyset, active = engine.checkpoint.outputs["keyset"], engine.checkpoint.outputs["active"]
    assert keyset["keyset_id"] == "B2C_1A_Signing" and len(keyset["keys"]) == 2
    assert keyset["active_kid"] == newest.kid
    assert active["kid"] == newest.kid and active["kty"] == "RSA"
    assert len(graph_requests(emulator)) == 2  # one GET each


EXPIRING = """
import pulumi
from b2c_policy_keys import CertificateKey, KeySet

keyset = KeySet("saml-set", name="Saml")
key = CertificateKey("saml", keyset_id=keyset.keyset_id, certificate=pulumi.Config("app").require("certificate"))
pulumi.export("thumbprint", key.thumbprint)
"""


def test_certificate_expiring_within_30_days_warns_in_the_program(
    emulator: Any, make_material: MakeMaterial, tmp_path: Path
) -> None:
    soon = make_material(days=10)
    engine = engine_for(emulator, root_program(tmp_path / "infra", EXPIRING))
    engine.set_config("app:certificate", soon.pem)
    result = engine.up(skip_preview=True)
    assert engine.checkpoint.outputs["thumbprint"] == soon.thumbprint
    assert any("expires on" in d.message and "within 30 days" in d.message for d in result.diagnostics)
