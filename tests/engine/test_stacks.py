"""The repo's stack templates through the engine: promotion from dev to prod across two tenants, and adoption.

Each stack is filled in as its README steps say (`pulumi config set ...`); both engines point at their emulator
through the stack config, so nothing of one run can reach the other tenant through the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.testing.engine import Engine
from b2c_policy_keys.testing.fixtures import CREDENTIAL_PREFIXES, emulator_target
from b2c_policy_keys.testing.host import graph_client, graph_requests

REPO = Path(__file__).resolve().parents[2]
PROJECT = "b2c-policy-keys"
STARTER_SET = ["B2C_1A_FacebookSecret", "B2C_1A_TokenEncryptionKeyContainer", "B2C_1A_TokenSigningKeyContainer"]


def stack(name: str, emu: Emulator, facebook_secret: str) -> Engine:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_PREFIXES)}
    engine = Engine(REPO, name, environ=environ)
    assert engine.config["b2c:tenantId"][0] == f"REPLACE-WITH-{name.upper()}-TENANT-ID"
    for key, value in emulator_target(emu).config.items():
        engine.set_config(key, value, secret=key == "b2c:clientSecret")
    engine.set_config(f"{PROJECT}:facebookSecret", facebook_secret, secret=True)
    return engine


def keyset_ids(emu: Emulator) -> list[str]:
    return sorted(ks.id for ks in graph_client(emu).list_keysets())


def test_promotion_from_dev_to_prod_across_two_tenants(emulator_factory: Callable[..., Emulator]) -> None:
    dev_emu = emulator_factory(tenant_id="b2c00000-0000-4000-8000-00000000de01")
    prod_emu = emulator_factory(tenant_id="b2c00000-0000-4000-8000-00000000a0d1")
    dev, prod = stack("dev", dev_emu, "dev-facebook-secret-31c7"), stack("prod", prod_emu, "prod-facebook-secret-8e2a")

    dev.up()
    dev_emu.clear_requests()
    # `pulumi preview --stack prod`: the declaration checks out against prod, nothing is written anywhere.
    preview = prod.preview()
    assert {m for m, _ in preview.calls} == {"Configure", "Check"}
    assert keyset_ids(prod_emu) == []
    prod.up()
    assert graph_requests(dev_emu) == []

    dev_sets, prod_sets = dev.checkpoint.outputs["keySets"], prod.checkpoint.outputs["keySets"]
    assert keyset_ids(dev_emu) == keyset_ids(prod_emu) == STARTER_SET
    dev_kid, prod_kid = dev_sets["FacebookSecret"]["activeKid"], prod_sets["FacebookSecret"]["activeKid"]
    assert dev_emu.secret_matches("B2C_1A_FacebookSecret", dev_kid, "dev-facebook-secret-31c7")
    assert prod_emu.secret_matches("B2C_1A_FacebookSecret", prod_kid, "prod-facebook-secret-8e2a")
    assert not prod_emu.secret_matches("B2C_1A_FacebookSecret", prod_kid, "dev-facebook-secret-31c7")
    # prod protects its key sets (Pulumi.prod.yaml), dev does not.
    assert all(r.protect for r in prod.checkpoint.by_type("pulumi-python:dynamic/b2c:KeySet"))
    assert not any(r.protect for r in dev.checkpoint.by_type("pulumi-python:dynamic/b2c:KeySet"))


def test_a_tenant_that_already_holds_the_set_is_taken_over_with_adopt_existing(
    emulator_factory: Callable[..., Emulator],
) -> None:
    emu = emulator_factory(tenant_id="b2c00000-0000-4000-8000-00000000de03")
    stack("dev", emu, "facebook-secret-9d1c").up(skip_preview=True)  # e.g. the IEF setup made them
    # A new stack on that tenant (no state): with adoptExisting it takes the sets over.
    adopting = stack("dev", emu, "facebook-secret-9d1c")
    adopting.set_config(f"{PROJECT}:adoptExisting", "true")
    emu.clear_requests()
    adopting.up(skip_preview=True)
    assert sorted(v["keysetId"] for v in adopting.checkpoint.outputs["keySets"].values()) == STARTER_SET
    assert keyset_ids(emu) == STARTER_SET
    created = [r for r in graph_requests(emu) if r["method"] == "POST" and r["path"] == "/beta/trustFramework/keySets"]
    assert len(created) == len(STARTER_SET)  # each tried once, answered "exists", then adopted
