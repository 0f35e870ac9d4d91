"""Programs with KeySet and SecretKey run through the engine stand-in: the real program file, the real host."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.testing.engine import Engine
from support.host import graph_requests
from support.programs import engine_for, root_program

VALUE = "program-side-secret-4b1d"
PROGRAM = f"""
import pulumi
from b2c_policy_keys import KeySet, SecretKey

app = pulumi.Config("app")
expires_at = app.get("expiresAt") or "2099-01-01T00:00:00Z"
signing = KeySet("signing", name="TokenSigning")
client = SecretKey(
    "client-secret", keyset_id=signing.keyset_id, value=app.require_secret("clientSecret"), expires_at=expires_at
)
plain = SecretKey("plain", keyset_id=signing.keyset_id, value="{VALUE}", use="sig", expires_at=expires_at)
pulumi.export("keyset_id", signing.keyset_id)
pulumi.export("kid", client.kid)
pulumi.export("plain_kid", plain.kid)
pulumi.export("fingerprint", plain.value_fingerprint)
pulumi.export("status", plain.status)
"""
RESOURCES = ("signing", "client-secret", "plain")


def _engine(emulator: Emulator, tmp_path: Path, secret: str = "from-pulumi-config-secret") -> Engine:  # noqa: S107
    engine = engine_for(emulator, root_program(tmp_path / "infra", PROGRAM))
    engine.set_config("app:clientSecret", secret, secret=True)
    return engine


def test_program_up_then_second_run_diffs_without_changes(emulator: Emulator, tmp_path: Path) -> None:
    engine = _engine(emulator, tmp_path)
    first = engine.up(skip_preview=True)
    outputs, stack = engine.checkpoint.outputs, engine.checkpoint.stack
    assert outputs["keyset_id"] == "B2C_1A_TokenSigning"
    assert outputs["kid"] and outputs["plain_kid"] and outputs["status"] == "enabled"
    assert stack is not None and "fingerprint" in stack.secret_outputs
    # A plain string passed as value is still sent to the engine as a secret.
    for name in ("plain", "client-secret"):
        res = engine.checkpoint.get(name)
        assert res is not None and "value" in res.secret_inputs
        assert len(res.inputs["__provider"]) < 200 and VALUE not in res.inputs["__provider"]
    assert VALUE not in first.text
    assert sorted(m for m, _ in first.calls) == ["Check"] * 3 + ["Configure"] + ["Create"] * 3

    second = engine.up(skip_preview=True)
    assert sorted(m for m, _ in second.calls) == ["Check"] * 3 + ["Configure"] + ["Diff"] * 3
    assert engine.checkpoint.outputs["plain_kid"] == outputs["plain_kid"]


def test_program_warns_when_expiry_is_near(emulator: Emulator, tmp_path: Path) -> None:
    engine = _engine(emulator, tmp_path)
    engine.set_config("app:expiresAt", (datetime.now(tz=UTC) + timedelta(days=10)).isoformat())
    result = engine.preview()
    warnings = [d for d in result.diagnostics if d.severity == "warning" and "within 30 days" in d.message]
    assert len(warnings) == 2


def test_readme_example_program_runs(emulator: Emulator, tmp_path: Path) -> None:
    """The README's complete example is a real program: every resource is created against the emulator."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("<!-- section: resources -->") :]
    source = section.split("```python\n", 1)[1].split("```", 1)[0]
    engine = engine_for(emulator, root_program(tmp_path / "readme", source))
    engine.set_config("app:facebookSecret", "fb-secret", secret=True)
    engine.up()
    assert {r.name for r in engine.checkpoint.live() if "dynamic" in r.type} == set(
        ["token-signing", "token-encryption", "facebook", "facebook-secret"]
    )
    assert engine.checkpoint.get("token-encryption").id == "B2C_1A_TokenEncryptionKeyContainer"  # type: ignore[union-attr]
    secret = engine.checkpoint.get("facebook-secret")
    assert secret is not None and secret.outputs["kid"] and "value" in secret.secret_inputs


def test_preview_checks_and_diffs_but_never_writes(emulator: Emulator, tmp_path: Path) -> None:
    engine = _engine(emulator, tmp_path, secret="first")
    engine.up(skip_preview=True)
    emulator.clear_requests()
    engine.set_config("app:clientSecret", "rotated", secret=True)
    preview = engine.preview()
    assert sorted(m for m, _ in preview.calls) == ["Check"] * 4 + ["Configure"] + ["Diff"] * 3
    assert {n: preview.ops()[n] for n in RESOURCES} == {"signing": "same", "client-secret": "replace", "plain": "same"}
    assert graph_requests(emulator) == []
