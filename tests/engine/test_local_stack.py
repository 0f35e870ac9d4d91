"""The repo's ``local`` stack through the engine: preview, up, a second up, a rotation, refresh, destroy.

The project is the repo itself (a root program): its ``Pulumi.yaml``, program, declaration and committed stack file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.testing.engine import DeploymentFailed, Engine
from b2c_policy_keys.testing.fixtures import B2CEmulator, EngineFactory
from b2c_policy_keys.testing.host import graph_client, graph_requests

REPO = Path(__file__).resolve().parents[2]
LOCAL_PASSPHRASE = "b2c-policy-keys-local"  # documented in README and stacks/Pulumi.local.yaml
PROJECT = "b2c-policy-keys"
KEY_SETS = ["TokenSigningKeyContainer", "TokenEncryptionKeyContainer", "FacebookSecret"]
RESOURCES = {name for ks in KEY_SETS for name in (ks, f"{ks}-key")}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def local(b2c_engine: EngineFactory) -> Engine:
    return b2c_engine(REPO, "local", passphrase=LOCAL_PASSPHRASE)


def test_the_local_stack_file_targets_the_emulator_defaults_with_no_secret_in_clear() -> None:
    text = (REPO / "stacks" / "Pulumi.local.yaml").read_text()
    assert "local-emulator-facebook-secret" not in text and "emulator-readwrite-secret" not in text
    config = Engine(REPO, "local", environ={}, passphrase=LOCAL_PASSPHRASE).config
    assert config["b2c:tenantId"] == (Emulator.__init__.__kwdefaults__["tenant_id"], False)
    assert config["b2c:clientId"] == ("b2c00000-0000-4000-8000-0000000000a1", False)
    assert config[f"{PROJECT}:facebookSecret"] == ("local-emulator-facebook-secret", True)
    assert [k for k, (_, secret) in config.items() if secret] == [f"{PROJECT}:facebookSecret"]
    with pytest.raises(ValueError, match="incorrect passphrase"):
        Engine(REPO, "local", environ={}, passphrase="not-the-local-passphrase")


def writes(b2c: B2CEmulator) -> list[dict[str, object]]:
    return [r for r in graph_requests(b2c.emulator) if r["method"] in WRITES]


def test_the_local_stack_lifecycle(local: Engine, b2c_emulator: B2CEmulator) -> None:
    emu = b2c_emulator.emulator
    # preview: no Graph request at all.
    preview = local.preview()
    assert {n for n, op in preview.ops().items() if op == "create"} >= RESOURCES
    assert graph_requests(emu) == []

    # up: the starter set.
    first = local.up()
    exported = local.checkpoint.outputs["keySets"]
    assert sorted(v["keysetId"] for v in exported.values()) == sorted(f"B2C_1A_{ks}" for ks in KEY_SETS)
    facebook_kid = exported["FacebookSecret"]["activeKid"]
    assert emu.secret_matches("B2C_1A_FacebookSecret", facebook_kid, "local-emulator-facebook-secret")
    assert "local-emulator-facebook-secret" not in first.text

    # a second up: nothing changes, nothing is written.
    emu.clear_requests()
    second = local.up()
    assert {second.ops()[n] for n in RESOURCES} == {"same"}
    assert writes(b2c_emulator) == []

    # a secret rotation: the preview shows the replace; the old key is disabled only after every create.
    local.set_config(f"{PROJECT}:facebookSecret", "rotated-local-facebook-secret", secret=True)
    rotation = local.up()
    assert rotation.preview is not None and rotation.preview.ops()["FacebookSecret-key"] == "replace"
    assert {rotation.preview.ops()[n] for n in RESOURCES - {"FacebookSecret-key"}} == {"same"}  # only that key
    summary = [(r["method"], str(r["path"]).rsplit("/", 1)[-1]) for r in writes(b2c_emulator)]
    assert summary[-1][0] == "PATCH"  # the old key disabled (Delete), last
    assert all(method == "POST" for method, _ in summary[:-1])
    assert [m for m, u in rotation.calls if u.endswith("::FacebookSecret-key")][-1] == "Delete"
    new_kid = local.checkpoint.outputs["keySets"]["FacebookSecret"]["activeKid"]
    live = {k.kid: k.status for k in graph_client(emu).get_keyset("B2C_1A_FacebookSecret").keys}
    assert live == {facebook_kid: "disabled", new_kid: "enabled"}

    # refresh after out-of-band changes: the drift is shown, the next up repairs it.
    graph_client(emu).delete_keyset("B2C_1A_TokenEncryptionKeyContainer")
    refreshed = local.refresh()
    assert refreshed.ops()["TokenEncryptionKeyContainer"] == "refresh-deleted"
    assert local.checkpoint.get("TokenEncryptionKeyContainer") is None
    repaired = local.up()
    assert repaired.ops()["TokenEncryptionKeyContainer"] == "create"
    assert "B2C_1A_TokenEncryptionKeyContainer" in {ks.id for ks in graph_client(emu).list_keysets()}

    # destroy with protect honoured: keys go, the protected key sets stay.
    local.set_config(f"{PROJECT}:protectKeySets", "true")
    local.up()
    before = sorted(ks.id for ks in graph_client(emu).list_keysets())
    with pytest.raises(DeploymentFailed, match="protected"):
        local.destroy()
    assert sorted(ks.id for ks in graph_client(emu).list_keysets()) == before
    with pytest.raises(DeploymentFailed, match="protected"):
        local.destroy(skip_preview=True)
    assert {r.name for r in local.checkpoint.live() if r.custom and "dynamic" in r.type} == set(KEY_SETS)
    local.set_config(f"{PROJECT}:protectKeySets", "false")
    local.up()
    local.destroy()
    assert [r for r in local.checkpoint.live() if "dynamic" in r.type] == []


def test_a_stack_missing_a_secret_fails_in_the_program_before_any_resource(
    local: Engine, b2c_emulator: B2CEmulator
) -> None:
    del local.config[f"{PROJECT}:facebookSecret"]  # as a user who forgot `pulumi config set --secret`
    with pytest.raises(DeploymentFailed) as failed:
        local.preview()
    result = failed.value.result
    assert "FacebookSecret: the secret value is not set for this stack (config key 'facebookSecret')" in result.text
    assert "pulumi config set --secret facebookSecret <value> --stack local" in result.text
    assert [m for m, _ in result.calls] == ["Configure"]
    assert graph_requests(b2c_emulator.emulator) == []
