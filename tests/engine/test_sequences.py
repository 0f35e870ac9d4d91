"""Each row of the engine's sequence table (``shared/reference/pulumi-engine-semantics.md``), through the real host.

Calls are ``(method, urn)`` in the order the host received them; the program and the host are the real ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.testing.checkpoint import SECRET_SIG, SIG_KEY
from b2c_policy_keys.testing.engine import DeploymentFailed, Engine, EngineKilledMidRun
from b2c_policy_keys.testing.fixtures import B2CEmulator, EngineFactory, emulator_target
from b2c_policy_keys.testing.host import graph_client
from b2c_policy_keys.testing.passphrase import Crypter

from .conftest import MakeProject

SECRET = "first-secret-value-7c1d"
ROTATED = "rotated-secret-value-3e9f"


def names(calls: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(method, urn.rsplit("::", 1)[-1]) for method, urn in calls]


@pytest.fixture
def engine(make_project: MakeProject, b2c_engine: EngineFactory) -> Engine:
    engine = b2c_engine(make_project(), "dev")
    engine.set_config("app:secret", SECRET, secret=True)
    return engine


def test_preview_has_its_own_host_and_sends_only_check_and_diff(engine: Engine, b2c_emulator: B2CEmulator) -> None:
    created = engine.up(skip_preview=True)
    assert created.preview is None
    engine.set_config("app:secret", ROTATED, secret=True)
    b2c_emulator.emulator.clear_requests()
    preview = engine.preview()
    # step_generator.go: Check, Diff; on a replace a second Check with no olds. Never Create/Update/Delete.
    assert names(preview.calls) == [
        ("Configure", ""),
        ("Check", "signing"),
        ("Diff", "signing"),
        ("Check", "signing-key"),
        ("Diff", "signing-key"),
        ("Check", "signing-key"),
    ]
    assert preview.ops()["signing-key"] == "replace"
    assert [r for r in b2c_emulator.emulator.requests_log() if r["path"].startswith("/beta/")] == []


def test_up_previews_in_a_host_of_its_own_then_updates_in_a_second(engine: Engine) -> None:
    result = engine.up()
    assert result.preview is not None
    assert names(result.preview.calls) == [("Configure", ""), ("Check", "signing"), ("Check", "signing-key")]
    assert names(result.calls) == [
        ("Configure", ""),
        ("Check", "signing"),
        ("Create", "signing"),
        ("Check", "signing-key"),
        ("Create", "signing-key"),
    ]
    # Unknown in the preview, known after the update.
    assert engine.checkpoint.get("signing-key") is not None
    again = engine.up()
    assert set(again.ops().values()) == {"same"}
    assert [m for m, _ in again.calls] == ["Configure", "Check", "Diff", "Check", "Diff"]


def test_replace_checks_again_creates_and_deletes_the_old_key_after_every_create(engine: Engine) -> None:
    engine.up(skip_preview=True)
    old_id = engine.checkpoint.get("signing-key").id  # type: ignore[union-attr]
    engine.set_config("app:secret", ROTATED, secret=True)
    engine.set_config("app:extra", "true")
    result = engine.up(skip_preview=True)
    calls = names(result.calls)
    key_calls = [m for m, n in calls if n == "signing-key"]
    assert key_calls == ["Check", "Diff", "Check", "Create", "Delete"]
    last_create = max(i for i, (m, _) in enumerate(calls) if m == "Create")
    assert calls.index(("Delete", "signing-key")) > last_create
    assert {n for m, n in calls if m == "Create"} == {"signing-key", "other", "extra"}
    assert engine.checkpoint.get("signing-key").id != old_id  # type: ignore[union-attr]
    assert not any(r.delete for r in engine.checkpoint.resources)


def test_a_failed_step_leaves_the_replaced_key_marked_for_the_next_up(engine: Engine) -> None:
    engine.up(skip_preview=True)
    engine.set_config("app:secret", ROTATED, secret=True)
    engine.set_config("app:broken", "true")
    with pytest.raises(DeploymentFailed) as failed:
        engine.up()
    calls = names(failed.value.result.calls)
    assert ("Create", "broken") in calls and ("Delete", "signing-key") not in calls
    marked = [r for r in engine.checkpoint.resources if r.delete]
    assert [r.name for r in marked] == ["signing-key"]
    engine.set_config("app:broken", "false")
    repaired = engine.up(skip_preview=True)
    assert names(repaired.calls)[-1] == ("Delete", "signing-key")
    assert not any(r.delete for r in engine.checkpoint.resources)


def test_refresh_reads_then_diffs_and_shows_drift(engine: Engine, b2c_emulator: B2CEmulator) -> None:
    engine.up(skip_preview=True)
    unchanged = engine.refresh()
    calls = names(unchanged.calls)
    assert calls[0] == ("Configure", "")
    # step.go RefreshStep.Apply: Read, then Diff(olds = refreshed outputs, news = old inputs), per resource.
    for name in ("signing", "signing-key"):
        assert calls.index(("Read", name)) < calls.index(("Diff", name))
    assert unchanged.drift == {"signing": "same", "signing-key": "same"}
    graph_client(b2c_emulator.emulator).delete_keyset("B2C_1A_Signing")
    gone = engine.refresh()
    assert ("Diff", "signing") not in names(gone.calls)  # read as gone: removed from state, nothing to diff
    assert engine.checkpoint.get("signing") is None
    repaired = engine.up(skip_preview=True)
    assert repaired.ops()["signing"] == "create"


def test_destroy_in_reverse_dependency_order_and_protect(engine: Engine) -> None:
    engine.set_config("app:protect", "true")
    engine.up(skip_preview=True)
    # With its preview (the default), the protected set fails the preview: nothing is deleted.
    with pytest.raises(DeploymentFailed, match="protected") as previewed:
        engine.destroy()
    assert [m for m, _ in previewed.value.result.calls] == ["Configure"]
    assert engine.checkpoint.get("signing-key") is not None
    # --skip-preview (the Automation API): the child goes first, then the protected parent fails.
    with pytest.raises(DeploymentFailed, match="pulumi state unprotect") as skipped:
        engine.destroy(skip_preview=True)
    assert names(skipped.value.result.calls) == [("Configure", ""), ("Delete", "signing-key")]
    assert engine.checkpoint.get("signing-key") is None and engine.checkpoint.get("signing") is not None
    engine.set_config("app:protect", "false")
    engine.up(skip_preview=True)
    destroyed = engine.destroy()
    assert names(destroyed.calls) == [("Configure", ""), ("Delete", "signing-key"), ("Delete", "signing")]
    assert list(engine.checkpoint.live()) == []


def test_refresh_and_destroy_use_the_config_stored_at_the_last_up(
    make_project: MakeProject, b2c_engine: EngineFactory, b2c_emulator: B2CEmulator
) -> None:
    engine = b2c_engine(make_project(), "dev")
    engine.set_config("app:secret", SECRET, secret=True)
    engine.set_config("b2c:clientSecret", b2c_emulator.emulator.client_secret, secret=True)
    engine.up(skip_preview=True)
    engine.set_config("b2c:clientSecret", "a-new-client-secret-not-yet-valid", secret=True)
    # Deployment.EnsureProvider: refresh configures the provider from the checkpoint, so the old secret still works.
    engine.refresh()
    stored = engine.checkpoint.provider
    assert stored is not None and stored.inputs["b2c:clientSecret"] == b2c_emulator.emulator.client_secret
    engine.destroy(skip_preview=True)
    assert engine.checkpoint.by_type("pulumi-python:dynamic/b2c:KeySet") == []
    # A plain up uses the stack's config: its first write fails (that secret is not valid at the tenant).
    with pytest.raises(DeploymentFailed, match="signing"):
        engine.up(skip_preview=True)


def test_a_run_killed_mid_create_keeps_a_pending_operation(engine: Engine) -> None:
    with pytest.raises(EngineKilledMidRun):
        engine.up(skip_preview=True, kill_on_create="signing-key")
    pending = engine.checkpoint.pending_operations
    assert [(p.kind, p.urn.rsplit("::", 1)[-1]) for p in pending] == [("creating", "signing-key")]
    assert engine.checkpoint.get("signing") is not None and engine.checkpoint.get("signing-key") is None
    assert json.dumps(engine.checkpoint.to_json()).count('"creating"') == 1
    with pytest.raises(DeploymentFailed, match="clear-pending-creates"):
        engine.refresh()
    engine.refresh(clear_pending_creates=True)
    assert engine.checkpoint.pending_operations == []
    again = engine.up(skip_preview=True)
    assert again.ops()["signing-key"] == "create"


def test_the_checkpoint_never_holds_a_secret_in_clear(
    engine: Engine, b2c_emulator: B2CEmulator, tmp_path: Path
) -> None:
    client_secret = b2c_emulator.emulator.client_secret
    engine.set_config("b2c:clientSecret", client_secret, secret=True)
    engine.up(skip_preview=True)
    key, provider = engine.checkpoint.get("signing-key"), engine.checkpoint.provider
    assert key is not None and "value" in key.secret_inputs and key.inputs["value"] == SECRET
    assert provider is not None and "b2c:clientSecret" in provider.secret_inputs
    path = tmp_path / "stack.json"
    engine.checkpoint.save(path)
    text = path.read_text()
    assert SECRET not in text and client_secret not in text
    assert text.count(SECRET_SIG) >= 3  # the key's value input, the provider's client secret input and output


def test_an_export_encrypts_secrets_with_the_stack_passphrase(
    make_project: MakeProject, b2c_engine: EngineFactory, tmp_path: Path
) -> None:
    engine = b2c_engine(make_project(), "dev", passphrase="export-passphrase")
    engine.set_config("app:secret", SECRET, secret=True)
    engine.up(skip_preview=True)
    path = tmp_path / "export.json"
    engine.export(path)
    assert SECRET not in path.read_text()
    deployment = json.loads(path.read_text())["deployment"]
    crypter = Crypter("export-passphrase", deployment["secrets_providers"]["state"]["salt"])
    key = next(r for r in deployment["resources"] if r["urn"].endswith("::signing-key"))
    assert json.loads(crypter.decrypt(key["inputs"]["value"]["ciphertext"])) == SECRET


def test_up_with_refresh_reads_every_resource_first_in_the_preview_and_the_update(
    engine: Engine, b2c_emulator: B2CEmulator
) -> None:
    engine.up(skip_preview=True)
    graph_client(b2c_emulator.emulator).delete_keyset("B2C_1A_Signing")
    result = engine.up(refresh=True)
    assert result.preview is not None
    for calls in (names(result.preview.calls), names(result.calls)):
        # Without --run-program: Read (+ Diff) of every resource of the checkpoint, then the program.
        assert {calls[1][0], calls[2][0]} == {"Read"}
        assert calls.index(("Check", "signing")) > calls.index(("Read", "signing"))
    assert result.ops()["signing"] == "create"
    assert engine.checkpoint.get("signing") is not None


PARALLEL = """
from b2c_policy_keys import KeySet

for i in range(6):
    KeySet(f"set-{i}", name=f"Parallel{i}")
"""


def test_check_and_diff_run_one_at_a_time_creates_and_deletes_in_parallel(
    make_project: MakeProject, emulator_factory: Callable[..., Emulator]
) -> None:
    # Each Graph request takes 300 ms, so six independent creates handed to the workers overlap.
    emu = emulator_factory(latency_ms=300)
    engine = Engine(make_project(PARALLEL), "dev", environ=emulator_target(emu).environ)
    created = engine.up(skip_preview=True)
    assert created.peak_concurrency["Check"] == 1 and created.peak_concurrency["Create"] > 1
    again = engine.up(skip_preview=True)
    assert again.peak_concurrency["Check"] == again.peak_concurrency["Diff"] == 1
    destroyed = engine.destroy(skip_preview=True)
    assert destroyed.peak_concurrency["Delete"] > 1


RETAINED = """
import pulumi
from b2c_policy_keys import KeySet

KeySet("kept", name="Kept", opts=pulumi.ResourceOptions(retain_on_delete=True))
KeySet("dropped", name="Dropped")
"""


def test_retain_on_delete_leaves_state_without_a_delete_call(
    make_project: MakeProject, b2c_engine: EngineFactory, b2c_emulator: B2CEmulator
) -> None:
    engine = b2c_engine(make_project(RETAINED), "dev")
    engine.up(skip_preview=True)
    destroyed = engine.destroy(skip_preview=True)
    assert names(destroyed.calls) == [("Configure", ""), ("Delete", "dropped")]
    assert list(engine.checkpoint.live()) == []
    assert "B2C_1A_Kept" in {ks.id for ks in graph_client(b2c_emulator.emulator).list_keysets()}


OPTIONS = """
import pulumi
from b2c_policy_keys import KeySet, SecretKey

app = pulumi.Config("app")
keyset = KeySet("signing", name="Signing")
SecretKey(
    "signing-key",
    keyset_id=keyset.keyset_id,
    value=app.require_secret("secret"),
    opts=pulumi.ResourceOptions(additional_secret_outputs=["kid"], ignore_changes=["value"]),
)
"""


def test_additional_secret_outputs_and_ignore_changes(
    make_project: MakeProject, b2c_engine: EngineFactory, tmp_path: Path
) -> None:
    engine = b2c_engine(make_project(OPTIONS), "dev")
    engine.set_config("app:secret", SECRET, secret=True)
    engine.up(skip_preview=True)
    key = engine.checkpoint.get("signing-key")
    assert key is not None and "kid" in key.secret_outputs  # annotateSecrets: additionalSecretOutputs
    engine.export(tmp_path / "state.json")
    exported = json.loads((tmp_path / "state.json").read_text())["deployment"]["resources"]
    outputs = next(r["outputs"] for r in exported if r["urn"] == key.urn)
    assert set(outputs["kid"]) == {SIG_KEY, "ciphertext"}  # the id still names the kid, as in Pulumi's state
    # processIgnoreChanges: the old value is kept before Check, so a new one is no change.
    engine.set_config("app:secret", ROTATED, secret=True)
    assert engine.up().ops()["signing-key"] == "same"
