"""The program side under pulumi.runtime.set_mocks, the mocks delegating to the unpickled providers (emulator)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pulumi

from b2c_policy_keys import KeySet, SecretKey
from b2c_policy_keys.emulator import Emulator
from support.host import emulator_config
from support.mocks import ProviderMocks, run_program

VALUE = "program-side-secret-4b1d"


def _program(expires_at: Any = "2099-01-01T00:00:00Z") -> dict[str, Any]:
    signing = KeySet("signing", name="TokenSigning")
    client = SecretKey(
        "client-secret",
        keyset_id=signing.keyset_id,
        value=pulumi.Config("app").require_secret("clientSecret"),
        expires_at=expires_at,
    )
    plain = SecretKey("plain", keyset_id=signing.keyset_id, value=VALUE, use="sig", expires_at=expires_at)
    return {
        "keyset_id": signing.keyset_id,
        "kid": client.kid,
        "plain_kid": plain.kid,
        "fingerprint": plain.value_fingerprint,
        "status": plain.status,
    }


def test_program_up_then_second_run_diffs_without_changes(emulator: Emulator) -> None:
    mocks = ProviderMocks(config=emulator_config(emulator))
    config = {"app:clientSecret": "from-pulumi-config-secret"}
    first = run_program(_program, mocks, program_config=config, secret_config=frozenset(config))
    assert first["keyset_id"].value == "B2C_1A_TokenSigning"
    assert first["kid"].value and first["plain_kid"].value
    assert first["fingerprint"].secret and first["status"].value == "enabled"
    # A plain string passed as value is still sent to the engine as a secret.
    assert "value" in mocks.secret_inputs["plain"] and "value" in mocks.secret_inputs["client-secret"]
    assert all(len(p) < 200 and VALUE not in p for p in mocks.pickles)
    # Pulumi registers the three resources concurrently: their calls interleave, so compare without order.
    assert sorted(m for m, _ in mocks.provider_calls) == ["check"] * 3 + ["create"] * 3

    mocks.provider_calls.clear()
    second = run_program(_program, mocks, program_config=config, secret_config=frozenset(config))
    assert sorted(m for m, _ in mocks.provider_calls) == ["check"] * 3 + ["diff"] * 3
    assert second["plain_kid"].value == first["plain_kid"].value


def test_program_warns_when_expiry_is_near(emulator: Emulator) -> None:
    mocks = ProviderMocks(config=emulator_config(emulator))
    soon = datetime.now(tz=UTC) + timedelta(days=10)
    run_program(lambda: _program(expires_at=soon), mocks, program_config={"app:clientSecret": "x"})
    warnings = [m for m in mocks.messages if m.startswith("WARNING") and "within 30 days" in m]
    assert len(warnings) == 2


def test_readme_example_program_runs(emulator: Emulator) -> None:
    """The README's complete example is a real program: run it, every resource is created against the emulator."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("<!-- section: resources -->") :]
    source = section.split("```python\n", 1)[1].split("```", 1)[0]
    mocks = ProviderMocks(config=emulator_config(emulator))

    def program() -> dict[str, Any]:
        exec(compile(source, "README.md", "exec"), {"__name__": "__main__"})  # noqa: S102  (our own README)
        return {}

    run_program(
        program,
        mocks,
        program_config={"app:facebookSecret": "fb-secret"},
        secret_config=frozenset({"app:facebookSecret"}),
    )
    assert set(mocks.state) == {"token-signing", "token-encryption", "facebook", "facebook-secret"}
    assert mocks.state["token-encryption"].id == "B2C_1A_TokenEncryptionKeyContainer"
    assert mocks.state["facebook-secret"].outputs["kid"]
    assert "value" in mocks.secret_inputs["facebook-secret"]


def test_preview_run_checks_and_diffs_but_never_writes(emulator: Emulator) -> None:
    mocks = ProviderMocks(config=emulator_config(emulator))
    config = {"app:clientSecret": "first"}
    run_program(_program, mocks, program_config=config)
    emulator.clear_requests()
    mocks.preview = True
    mocks.provider_calls.clear()
    run_program(_program, mocks, program_config={"app:clientSecret": "rotated"})
    assert sorted(m for m, _ in mocks.provider_calls) == ["check"] * 3 + ["diff"] * 3
    assert mocks.plans == {"signing": "same", "client-secret": "replace", "plain": "same"}
    assert [r for r in emulator.requests_log() if r["path"].startswith("/beta/")] == []
