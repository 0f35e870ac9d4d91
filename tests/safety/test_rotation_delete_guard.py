"""B01 for keys that cannot be scheduled (certificates): a delete never leaves a set dark while a key waits to start.

A new certificate whose notBefore lies in the future is a replace: the replacement is added (valid later) and the old
key's delete is deferred to the end of the run. That delete refuses, the engine keeps the old resource condemned, and
the first ``up`` after the new key is valid finishes the job.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from b2c_policy_keys import CertificateKeyProvider, KeySetProvider
from b2c_policy_keys.emulator import Emulator
from key_kinds.material import Material
from stateful import fixtures
from stateful.engine import Declared, Engine, Stack, TestClock
from support.pki import self_signed, shared_rsa_key

clock, engine, graph = fixtures.clock, fixtures.engine, fixtures.graph  # fixtures, by name

HOUR = 3600


def _certificate(start: datetime) -> Material:
    key = shared_rsa_key()
    end = start + timedelta(days=90)
    return Material(self_signed(key, subject="b2c-rotation", not_before=start, not_after=end), key)


def _program(material: Material) -> list[Declared]:
    return [
        Declared(KeySetProvider(), "set", {"name": "Saml"}),
        Declared(CertificateKeyProvider(), "cert", {"keyset_id": "Saml", "certificate": material.pem}),
    ]


def test_the_old_certificate_serves_until_the_new_one_starts(
    engine: Engine, clock: TestClock, emulator: Emulator, graph: Any
) -> None:
    now = datetime.now(tz=UTC)
    stack = Stack()
    assert engine.up(stack, _program(_certificate(now - timedelta(days=1)))).ok
    old_kid = stack.resources["cert"].outputs["kid"]

    future = _program(_certificate(now + timedelta(hours=1)))
    run = engine.up(stack, future)
    assert not run.ok and run.error is not None and run.ops["cert"] == "replace"
    assert f"{old_kid}" in run.error.details and "would have no valid key until" in run.error.details
    new_kid = stack.resources["cert"].outputs["kid"]
    assert [s.outputs["kid"] for s in stack.condemned] == [old_kid]  # kept, to be deleted by a later up
    assert {k.kid: k.status for k in graph.get_keyset("B2C_1A_Saml").keys} == {old_kid: "enabled", new_kid: "enabled"}
    assert graph.get_active_key("B2C_1A_Saml").kid == old_kid

    clock.advance(HOUR + 60)
    run = engine.up(stack, future)
    assert run.ok, run.error
    assert not stack.condemned
    assert {k.kid: k.status for k in graph.get_keyset("B2C_1A_Saml").keys} == {old_kid: "disabled", new_kid: "enabled"}
