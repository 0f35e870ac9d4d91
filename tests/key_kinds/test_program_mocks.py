"""The program side: PolicyKey, the lookups and the program warnings, under set_mocks with the real providers."""

from __future__ import annotations

from typing import Any

import pytest

from b2c_policy_keys import CertificateKey, KeySet, PolicyKey, get_active_key, get_keyset
from b2c_policy_keys.model import now_epoch
from support.host import emulator_config
from support.mocks import ProviderMocks, run_program

from .conftest import MakeMaterial
from .material import PFX_PASSWORD


@pytest.mark.parametrize("option", ["generate", "secret", "certificate", "pkcs12"])
def test_policy_key_makes_a_key_set_and_its_first_key(
    option: str, emulator: Any, graph: Any, make_material: MakeMaterial
) -> None:
    material = make_material(days=200)
    extra: dict[str, Any] = {
        "generate": {"use": "enc"},
        "secret": {"value": "policy-key-secret-value"},
        "certificate": {"certificate": material.pem},
        "pkcs12": {"pfx": material.pfx(), "password": PFX_PASSWORD},
    }[option]
    mocks = ProviderMocks(emulator_config(emulator))

    def program() -> dict[str, Any]:
        key = PolicyKey("pk", name=f"Added{option}", options=option, **extra)  # type: ignore[arg-type]
        return {"keyset_id": key.keyset_id, "kid": key.kid}

    result = run_program(program, mocks)
    assert result["keyset_id"].value == f"B2C_1A_Added{option}"
    live = graph.get_keyset(f"B2C_1A_Added{option}")
    assert [k.kid for k in live.keys] == [result["kid"].value]
    assert live.keys[0].use == ("enc" if option == "generate" else "sig")
    if option == "pkcs12":
        assert {"pfx", "password"} <= mocks.secret_inputs["pk-key"]
        assert all(PFX_PASSWORD not in p for p in mocks.pickles)
    if option == "secret":
        assert "value" in mocks.secret_inputs["pk-key"]


def test_policy_key_names_the_missing_argument() -> None:
    with pytest.raises(ValueError, match=r"options='pkcs12' needs pfx and password"):
        PolicyKey("pk", name="X", options="pkcs12")
    with pytest.raises(ValueError, match="options must be one of"):
        PolicyKey("pk", name="X", options="upload")  # type: ignore[arg-type]


def test_lookups_read_live_state_with_the_stack_config(emulator: Any, graph: Any) -> None:
    keyset_id = graph.create_keyset("Signing").id
    graph.generate_key(keyset_id, use="sig", kty="RSA", nbf=1_700_000_000)
    newest = graph.generate_key(keyset_id, use="sig", kty="RSA", nbf=now_epoch() - 60)
    emulator.clear_requests()

    def program() -> dict[str, Any]:
        return {"keyset": get_keyset("Signing"), "active": get_active_key("B2C_1A_Signing")}

    mocks = ProviderMocks({})
    result = run_program(program, mocks, program_config=emulator_config(emulator), secret_config=frozenset())
    keyset = result["keyset"].value
    assert keyset["keyset_id"] == "B2C_1A_Signing" and len(keyset["keys"]) == 2
    assert keyset["active_kid"] == newest.kid
    assert result["active"].value["kid"] == newest.kid and result["active"].value["kty"] == "RSA"
    graph_paths = [r["path"] for r in emulator.requests_log() if r["path"].startswith("/beta/")]
    assert len(graph_paths) == 2  # one GET each


def test_certificate_expiring_within_30_days_warns_in_the_program(emulator: Any, make_material: MakeMaterial) -> None:
    soon = make_material(days=10)
    mocks = ProviderMocks(emulator_config(emulator))

    def program() -> dict[str, Any]:
        keyset = KeySet("saml-set", name="Saml")
        key = CertificateKey("saml", keyset_id=keyset.keyset_id, certificate=soon.der)
        return {"thumbprint": key.thumbprint}

    result = run_program(program, mocks)
    assert result["thumbprint"].value == soon.thumbprint
    assert any("expires on" in m and "within 30 days" in m for m in mocks.messages)
