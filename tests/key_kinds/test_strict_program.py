"""Issue 13 on the program side: PolicyKey refuses arguments of another option, lookups explain a not-found,
and a past expiry gets one message, not a contradictory warning too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys import PolicyKey
from b2c_policy_keys.testing.engine import DeploymentFailed
from support.programs import engine_for, root_program


@pytest.mark.parametrize(
    ("options", "arguments", "named"),
    [
        ("generate", {"value": "s3cret-never-ignored"}, "value"),
        ("secret", {"value": "v", "kty": "oct"}, "kty"),
        ("certificate", {"certificate": "PEM", "not_before": 1_900_000_000, "version": 2}, "not_before, version"),
        ("pkcs12", {"pfx": "P", "password": "pw", "use": "enc", "certificate": "PEM"}, "certificate, use"),
    ],
)
def test_policy_key_refuses_arguments_of_another_option_naming_them(
    options: str, arguments: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=f"PolicyKey pk: {named} do(es)? not apply to options='{options}'") as err:
        PolicyKey("pk", name="X", options=options, **arguments)  # type: ignore[arg-type]
    assert "s3cret-never-ignored" not in str(err.value)


def test_policy_key_defaults_are_not_strays() -> None:
    """kty="RSA" and use="sig" are the signature's defaults: passing them to a certificate option is no error."""
    with pytest.raises(ValueError, match="needs certificate"):
        PolicyKey("pk", name="X", options="certificate", kty="RSA", use="sig")


LOOKUP = """
import pulumi
from b2c_policy_keys import {lookup}

pulumi.export("found", {lookup}("NotCreatedYet"))
"""


@pytest.mark.parametrize("lookup", ["get_keyset", "get_active_key"])
def test_a_lookup_of_a_missing_set_says_so_and_shows_the_dependent_form(
    emulator: Any, lookup: str, tmp_path: Path
) -> None:
    engine = engine_for(emulator, root_program(tmp_path / "infra", LOOKUP.format(lookup=lookup)))
    with pytest.raises(DeploymentFailed) as failed:
        engine.preview()
    text = failed.value.result.text
    assert "B2C_1A_NotCreatedYet does not exist" in text
    assert f"{lookup}(key_set.keyset_id)" in text


DEPENDENT = """
import pulumi
from b2c_policy_keys import GeneratedKey, KeySet, get_keyset

key_set = KeySet("signing", name="FreshSigning")
GeneratedKey("signing-key", keyset_id=key_set.keyset_id)
pulumi.export("active", get_keyset(key_set.keyset_id))
"""


def test_the_dependent_form_waits_for_the_key_set_the_program_creates(emulator: Any, tmp_path: Path) -> None:
    engine = engine_for(emulator, root_program(tmp_path / "infra", DEPENDENT))
    engine.up()
    assert engine.checkpoint.outputs["active"]["keyset_id"] == "B2C_1A_FreshSigning"


PAST = """
import pulumi
from b2c_policy_keys import GeneratedKey, KeySet

key_set = KeySet("ks", name="Past")
pulumi.export("kid", GeneratedKey("k", keyset_id=key_set.keyset_id, expires_at="2020-01-01T00:00:00Z").kid)
"""


def test_a_past_expiry_is_not_also_within_30_days(emulator: Any, tmp_path: Path) -> None:
    engine = engine_for(emulator, root_program(tmp_path / "infra", PAST))
    with pytest.raises(DeploymentFailed, match="must be in the future") as failed:
        engine.up()
    assert not any("within 30 days" in d.message for d in failed.value.result.diagnostics)
