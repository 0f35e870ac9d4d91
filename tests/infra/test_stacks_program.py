"""The real program (the root ``__main__.py``), run under ``pulumi.runtime.set_mocks`` with the committed stack files.

The mocks (``support.mocks``) delegate to the unpickled providers, which talk to emulators over HTTPS: what lands in
the emulated tenant is what ``pulumi up`` would put in a real one. A second run on the same mocks carries the state
over, like a second ``pulumi up``.
"""

from __future__ import annotations

import gc
import os
import runpy
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.settings import get_root_resource

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.graph import client_for, resolve_settings
from b2c_policy_keys.testing.project import load_project, load_stack_config
from support.host import emulator_config, graph_requests
from support.mocks import ProviderMocks, run_program

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"
PROJECT = "b2c-policy-keys"
LOCAL_PASSPHRASE = "b2c-policy-keys-local"  # documented in README and stacks/Pulumi.local.yaml
LOCAL_FACEBOOK_SECRET = "local-emulator-facebook-secret"
STARTER_SET = ["B2C_1A_TokenSigningKeyContainer", "B2C_1A_TokenEncryptionKeyContainer", "B2C_1A_FacebookSecret"]
WRITES = ("POST", "PUT", "PATCH", "DELETE")
RESOURCES = sorted(
    name
    for keyset in ("TokenSigningKeyContainer", "TokenEncryptionKeyContainer", "FacebookSecret")
    for name in (keyset, f"{keyset}-key")
)


def read_stack_file(path: Path, passphrase: str | None = None) -> tuple[dict[str, str], list[str]]:
    """The stack file at ``path`` as the CLI hands it to the program: plain values, and which keys are secret."""
    project = replace(load_project(ROOT), stack_config_dir=path.parent)
    values = load_stack_config(project, path.name.removeprefix("Pulumi.").removesuffix(".yaml"), passphrase)
    return {k: v for k, (v, _) in values.items()}, sorted(k for k, (_, secret) in values.items() if secret)


def calls_per_resource(mocks: ProviderMocks) -> dict[str, list[str]]:
    """Provider methods called per resource, in order (resources of one run register concurrently)."""
    calls: dict[str, list[str]] = {}
    for method, name in mocks.provider_calls:
        calls.setdefault(name, []).append(method)
    return dict(sorted(calls.items()))


class StackRunFailed(Exception):
    """The program (or a provider it drove) failed; the message is what ``pulumi up`` would print."""


def stacks_program() -> Mapping[str, Any]:
    """Run the root ``__main__.py`` as the language host would (cwd = program directory); hand back its exports."""
    previous = Path.cwd()
    os.chdir(ROOT)  # getPwdMain (pkg/engine/project.go): the program runs in the program directory
    try:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
    finally:
        os.chdir(previous)
    root = get_root_resource()
    assert root is not None
    return dict(root.outputs)  # type: ignore[attr-defined]


def run_stack(mocks: ProviderMocks, stack: str, config: Mapping[str, str], secret_keys: list[str]) -> dict[str, Any]:
    failure: str | None = None
    try:
        results = run_program(
            stacks_program,
            mocks,
            program_config=config,
            secret_config=frozenset(secret_keys),
            project=PROJECT,
            stack=stack,
        )
    except Exception as error:
        failure = str(error)
    if failure is not None:
        # Keep only the message (what `pulumi up` prints) and collect the failed run's futures and frames now:
        # left to a later collection, in the middle of a compile() in another test, they have tripped CPython
        # 3.11's "AST constructor recursion depth mismatch".
        gc.collect()
        raise StackRunFailed(failure)
    return {name: resolved.value for name, resolved in results.items()}


@pytest.fixture
def local_environment(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """What bin/quickstart exports: the emulator's endpoints and client secret, nothing from a real tenant."""
    for name in (
        "ARM_TENANT_ID",
        "ARM_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "ARM_USE_MSI",
        "ARM_USE_OIDC",
        "ARM_CLIENT_CERTIFICATE_PATH",
        "IDENTITY_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ARM_CLIENT_SECRET", emulator.client_secret)
    monkeypatch.setenv("B2C_GRAPH_URL", emulator.graph_url)
    monkeypatch.setenv("B2C_AUTHORITY_HOST", emulator.authority_host)
    monkeypatch.setenv("B2C_CA_BUNDLE", str(emulator.ca_bundle))
    return emulator


def keyset_ids(config: Mapping[str, str]) -> list[str]:
    return sorted(ks.id for ks in client_for(resolve_settings(config.get)).list_keysets())


# --- the committed local stack ------------------------------------------------------------------------------


def test_the_local_stack_file_targets_the_emulator_defaults_with_no_secret_in_clear() -> None:
    text = (STACKS / "Pulumi.local.yaml").read_text()
    assert LOCAL_FACEBOOK_SECRET not in text and "emulator-readwrite-secret" not in text
    config, secret_keys = read_stack_file(STACKS / "Pulumi.local.yaml", LOCAL_PASSPHRASE)
    assert config["b2c:tenantId"] == Emulator.__init__.__kwdefaults__["tenant_id"]
    assert config["b2c:clientId"] == "b2c00000-0000-4000-8000-0000000000a1"
    assert secret_keys == [f"{PROJECT}:facebookSecret"]
    assert config[f"{PROJECT}:facebookSecret"] == LOCAL_FACEBOOK_SECRET
    with pytest.raises(ValueError, match="incorrect passphrase"):
        read_stack_file(STACKS / "Pulumi.local.yaml", "not-the-local-passphrase")


@pytest.mark.slow
def test_local_stack_creates_the_starter_set_then_a_second_run_creates_nothing(local_environment: Emulator) -> None:
    emu = local_environment
    config, secret_keys = read_stack_file(STACKS / "Pulumi.local.yaml", LOCAL_PASSPHRASE)
    mocks = ProviderMocks(config=config)

    first = run_stack(mocks, "local", config, secret_keys)
    exported = first["keySets"]
    assert list(exported) == ["TokenSigningKeyContainer", "TokenEncryptionKeyContainer", "FacebookSecret"]
    assert [v["keysetId"] for v in exported.values()] == STARTER_SET
    assert all(v["activeKid"] for v in exported.values())
    assert keyset_ids(config) == sorted(STARTER_SET)
    assert calls_per_resource(mocks) == {key: ["check", "create"] for key in RESOURCES}
    facebook_kid = exported["FacebookSecret"]["activeKid"]
    assert emu.secret_matches("B2C_1A_FacebookSecret", facebook_kid, LOCAL_FACEBOOK_SECRET)
    # The secret is nowhere but in the encrypted input: not in outputs, not in the pickled providers.
    assert LOCAL_FACEBOOK_SECRET not in repr(first)
    assert all(LOCAL_FACEBOOK_SECRET not in p for p in mocks.pickles)
    assert "value" in mocks.secret_inputs["FacebookSecret-key"]

    emu.clear_requests()
    mocks.provider_calls.clear()
    second = run_stack(mocks, "local", config, secret_keys)
    assert calls_per_resource(mocks) == {key: ["check", "diff"] for key in RESOURCES}
    assert [r for r in graph_requests(emu) if r["method"] in WRITES] == []
    assert second == first
    assert keyset_ids(config) == sorted(STARTER_SET)


def test_a_stack_missing_a_secret_fails_before_anything_is_registered(
    local_environment: Emulator, tmp_path: Path
) -> None:
    emu = local_environment
    # The committed local stack file, minus its facebookSecret: as a user who forgot `pulumi config set --secret`.
    lines = (STACKS / "Pulumi.local.yaml").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"  {PROJECT}:facebookSecret:"))
    missing = tmp_path / "Pulumi.local.yaml"
    missing.write_text("\n".join(lines[:at] + lines[at + 2 :]) + "\n")
    config, secret_keys = read_stack_file(missing, LOCAL_PASSPHRASE)
    assert f"{PROJECT}:facebookSecret" not in config
    mocks = ProviderMocks(config=config)

    with pytest.raises(StackRunFailed) as caught:
        run_stack(mocks, "local", config, secret_keys)
    message = str(caught.value)
    assert message == (
        "stack 'local': the key set declaration (stacks/keysets.yaml) cannot be deployed, 1 problem:\n"
        "  - FacebookSecret: the secret value is not set for this stack (config key 'facebookSecret'): "
        "pulumi config set --secret facebookSecret <value> --stack local"
    )
    assert mocks.provider_calls == []
    assert graph_requests(emu) == []


# --- promotion: dev, then prod, two tenants ---------------------------------------------------------------------


def template_stack(stack: str, emu: Emulator, facebook_secret: str) -> tuple[dict[str, str], list[str]]:
    """The committed template for ``stack``, filled in as its README steps say (`pulumi config set ...`)."""
    config, secret_keys = read_stack_file(STACKS / f"Pulumi.{stack}.yaml")
    assert config["b2c:tenantId"] == f"REPLACE-WITH-{stack.upper()}-TENANT-ID"
    # One process runs both stacks here, so each stack points at its emulator through config, not env.
    config.update({**emulator_config(emu), f"{PROJECT}:facebookSecret": facebook_secret})
    return config, [*secret_keys, "b2c:clientSecret", f"{PROJECT}:facebookSecret"]


@pytest.mark.slow
def test_promotion_from_dev_to_prod_across_two_tenants(emulator_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ARM_CLIENT_SECRET", "B2C_GRAPH_URL", "B2C_AUTHORITY_HOST", "B2C_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    dev_emu = emulator_factory(tenant_id="b2c00000-0000-4000-8000-00000000de01")
    prod_emu = emulator_factory(tenant_id="b2c00000-0000-4000-8000-00000000a0d1")
    dev_secret, prod_secret = "dev-facebook-secret-31c7", "prod-facebook-secret-8e2a"
    dev_config, dev_secrets = template_stack("dev", dev_emu, dev_secret)
    prod_config, prod_secrets = template_stack("prod", prod_emu, prod_secret)

    dev = run_stack(ProviderMocks(config=dev_config), "dev", dev_config, dev_secrets)["keySets"]

    # `pulumi preview --stack prod`: the declaration checks out against prod, nothing is written anywhere.
    dev_emu.clear_requests()
    preview = ProviderMocks(config=prod_config, preview=True)
    run_stack(preview, "prod", prod_config, prod_secrets)
    assert {m for m, _ in preview.provider_calls} == {"check"}
    assert keyset_ids(prod_config) == []

    prod = run_stack(ProviderMocks(config=prod_config), "prod", prod_config, prod_secrets)["keySets"]
    # Nothing of prod's preview or up reached the dev tenant.
    assert graph_requests(dev_emu) == []

    # Same key set names in both tenants...
    assert keyset_ids(dev_config) == keyset_ids(prod_config) == sorted(STARTER_SET)
    assert [v["keysetId"] for v in dev.values()] == [v["keysetId"] for v in prod.values()] == STARTER_SET
    # ...each with its own keys and its own secret value...
    dev_kid, prod_kid = dev["FacebookSecret"]["activeKid"], prod["FacebookSecret"]["activeKid"]
    assert dev_emu.secret_matches("B2C_1A_FacebookSecret", dev_kid, dev_secret)
    assert prod_emu.secret_matches("B2C_1A_FacebookSecret", prod_kid, prod_secret)
    assert not dev_emu.secret_matches("B2C_1A_FacebookSecret", dev_kid, prod_secret)
    assert not prod_emu.secret_matches("B2C_1A_FacebookSecret", prod_kid, dev_secret)
    assert {v["activeKid"] for v in dev.values()}.isdisjoint(v["activeKid"] for v in prod.values())
    # ...and exactly the one key each: no key of one stack landed in the other's tenant.
    for config in (dev_config, prod_config):
        client = client_for(resolve_settings(config.get))
        assert [len(client.get_keyset(ks).keys) for ks in STARTER_SET] == [1, 1, 1]


@pytest.mark.slow
def test_a_tenant_that_already_holds_the_set_is_taken_over_with_adopt_existing(
    local_environment: Emulator,
) -> None:
    emu = local_environment
    config, secret_keys = read_stack_file(STACKS / "Pulumi.local.yaml", LOCAL_PASSPHRASE)
    run_stack(ProviderMocks(config=config), "local", config, secret_keys)  # e.g. the IEF setup made them

    # A new stack (no state) on that tenant. Without adoptExisting, creating the sets fails with "already exists"
    # and the way out (the resources' own tests cover that); with it, the stack takes them over.
    adopting = {**config, f"{PROJECT}:adoptExisting": "true"}
    emu.clear_requests()
    mocks = ProviderMocks(config=adopting)
    adopted = run_stack(mocks, "local", adopting, secret_keys)["keySets"]
    assert [v["keysetId"] for v in adopted.values()] == STARTER_SET
    assert keyset_ids(config) == sorted(STARTER_SET)
    created_sets = [
        r for r in graph_requests(emu) if r["method"] == "POST" and r["path"] == "/beta/trustFramework/keySets"
    ]
    assert len(created_sets) == len(STARTER_SET)  # each tried once, answered "exists", then adopted by one GET
    assert emu.secret_matches("B2C_1A_FacebookSecret", adopted["FacebookSecret"]["activeKid"], LOCAL_FACEBOOK_SECRET)


@pytest.mark.slow
def test_rotating_a_stack_secret_replaces_only_that_key_and_disables_the_old_one(
    emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ARM_CLIENT_SECRET", "B2C_GRAPH_URL", "B2C_AUTHORITY_HOST", "B2C_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    emu = emulator_factory(tenant_id="b2c00000-0000-4000-8000-00000000de02")
    config, secret_keys = template_stack("dev", emu, "facebook-secret-before-5d0e")
    mocks = ProviderMocks(config=config)
    before = run_stack(mocks, "dev", config, secret_keys)["keySets"]
    rotated = {**config, f"{PROJECT}:facebookSecret": "facebook-secret-after-77a9"}

    # `pulumi preview`: only FacebookSecret-key differs (its diff replaces it); nothing is written.
    emu.clear_requests()
    mocks.provider_calls.clear()
    mocks.preview = True
    run_stack(mocks, "dev", rotated, secret_keys)
    assert calls_per_resource(mocks) == {name: ["check", "diff"] for name in RESOURCES}
    assert [r for r in graph_requests(emu) if r["method"] in WRITES] == []

    # `pulumi up`: the new key is uploaded first and becomes active, then the old one is disabled.
    mocks.provider_calls.clear()
    mocks.preview = False
    after = run_stack(mocks, "dev", rotated, secret_keys)["keySets"]
    calls = calls_per_resource(mocks)
    assert calls.pop("FacebookSecret-key") == ["check", "diff", "create", "delete"]
    assert calls == {name: ["check", "diff"] for name in RESOURCES if name != "FacebookSecret-key"}
    old_kid, new_kid = before["FacebookSecret"]["activeKid"], after["FacebookSecret"]["activeKid"]
    assert new_kid != old_kid
    keyset = client_for(resolve_settings(config.get)).get_keyset("B2C_1A_FacebookSecret")
    assert {k.kid: k.status for k in keyset.keys} == {old_kid: "disabled", new_kid: "enabled"}
    assert keyset.active_key() is not None and keyset.active_key().kid == new_kid  # type: ignore[union-attr]
    assert emu.secret_matches("B2C_1A_FacebookSecret", new_kid, "facebook-secret-after-77a9")
    assert {k: v for k, v in after.items() if k != "FacebookSecret"} == {
        k: v for k, v in before.items() if k != "FacebookSecret"
    }
