"""B01 (issue 11): a rotation to a key valid only later keeps the old key active until then, and retires it later.

Driven through the program-level engine stand-in (``stateful.engine``: preview first, second Check, deferred
deletes) against the emulator, whose clock the test moves instead of sleeping.
"""

from __future__ import annotations

from typing import Any

import pytest

from b2c_policy_keys import GeneratedKeyProvider, KeySetProvider, SecretKeyProvider
from b2c_policy_keys.emulator import Emulator
from stateful import fixtures
from stateful.engine import Declared, Engine, Stack, TestClock

clock, engine, graph = fixtures.clock, fixtures.engine, fixtures.graph  # fixtures, by name

EXPIRES = 4102444799  # 2099-12-31T23:59:59Z
HOUR = 3600


def _program(kind: str, **key: Any) -> list[Declared]:
    keyset = Declared(KeySetProvider(), "set", {"name": "Rotated"})
    if kind == "secret":
        news = {"keyset_id": "Rotated", "value": "value-one", "expires_at": EXPIRES, **key}
        return [keyset, Declared(SecretKeyProvider(), "key", news)]
    news = {"keyset_id": "Rotated", "kty": "oct", "expires_at": EXPIRES, **key}
    return [keyset, Declared(GeneratedKeyProvider(), "key", news)]


def _rotation(kind: str) -> dict[str, Any]:
    return {"value": "value-two"} if kind == "secret" else {"version": "2"}


def _statuses(graph: Any) -> dict[str, str]:
    return {k.kid: k.status for k in graph.get_keyset("B2C_1A_Rotated").keys}


@pytest.mark.parametrize("kind", ["secret", "generated"])
def test_a_scheduled_rotation_keeps_the_old_key_active_until_the_new_one_is_valid(
    kind: str, engine: Engine, clock: TestClock, emulator: Emulator, graph: Any
) -> None:
    stack = Stack()
    assert engine.up(stack, _program(kind)).ok
    old_kid = stack.resources["key"].outputs["kid"]

    nbf = emulator.now() + HOUR
    rotated = _program(kind, not_before=nbf, **_rotation(kind))
    assert engine.preview(stack, rotated)["key"] == "update"  # not a replace: its deferred delete would go dark
    run = engine.up(stack, rotated)
    assert run.ok and run.ops["key"] == "update", run.error
    out = stack.resources["key"].outputs
    new_kid = out["kid"]
    assert new_kid != old_kid and out["retiring_kid"] == old_kid and out["retire_at"] == nbf
    assert _statuses(graph) == {old_kid: "enabled", new_kid: "enabled"}
    assert graph.get_active_key("B2C_1A_Rotated").kid == old_kid  # the set still has a valid key
    if kind == "secret":
        assert emulator.secret_matches("B2C_1A_Rotated", new_kid, "value-two")

    assert engine.preview(stack, rotated)["key"] == "same"  # nothing to do before not_before
    clock.advance(HOUR + 120)
    assert graph.get_active_key("B2C_1A_Rotated").kid == new_kid
    assert engine.preview(stack, rotated)["key"] == "update"  # the retirement shows in the preview
    run = engine.up(stack, rotated)
    assert run.ok and run.ops["key"] == "update", run.error
    assert _statuses(graph) == {old_kid: "disabled", new_kid: "enabled"}
    out = stack.resources["key"].outputs
    assert out["kid"] == new_kid and "retiring_kid" not in out
    assert engine.preview(stack, rotated)["key"] == "same"
    # The values never reach what the hosts print, nor the outputs (only the secret fingerprint).
    everything = engine.host_output + repr(stack.resources["key"].outputs)
    assert "value-one" not in everything and "value-two" not in everything


def test_an_immediate_rotation_is_still_a_replace(engine: Engine, graph: Any) -> None:
    stack = Stack()
    assert engine.up(stack, _program("secret")).ok
    old_kid = stack.resources["key"].outputs["kid"]
    run = engine.up(stack, _program("secret", value="value-two"))
    assert run.ok and run.ops["key"] == "replace"
    new_kid = stack.resources["key"].outputs["kid"]
    assert _statuses(graph) == {old_kid: "disabled", new_kid: "enabled"}
    assert not stack.condemned


def test_a_failed_scheduled_rotation_leaves_the_previous_key_working(
    engine: Engine, emulator: Emulator, graph: Any
) -> None:
    stack = Stack()
    assert engine.up(stack, _program("secret")).ok
    before = stack.resources["key"]
    emulator.add_fault(kind="status", status=503, path_regex="uploadSecret")
    run = engine.up(stack, _program("secret", value="value-two", not_before=emulator.now() + HOUR))
    assert not run.ok
    assert stack.resources["key"] == before
    assert _statuses(graph) == {before.outputs["kid"]: "enabled"}
    assert graph.get_active_key("B2C_1A_Rotated").kid == before.outputs["kid"]


def test_a_rotation_on_top_of_a_pending_one_drops_the_key_that_never_served(
    engine: Engine, clock: TestClock, emulator: Emulator, graph: Any
) -> None:
    stack = Stack()
    assert engine.up(stack, _program("secret")).ok
    first = stack.resources["key"].outputs["kid"]
    assert engine.up(stack, _program("secret", value="value-two", not_before=emulator.now() + HOUR)).ok
    second = stack.resources["key"].outputs["kid"]
    third_program = _program("secret", value="value-three", not_before=emulator.now() + 2 * HOUR)
    assert engine.up(stack, third_program).ok
    out = stack.resources["key"].outputs
    third = out["kid"]
    assert out["retiring_kid"] == first
    assert _statuses(graph) == {first: "enabled", second: "disabled", third: "enabled"}
    assert graph.get_active_key("B2C_1A_Rotated").kid == first

    clock.advance(2 * HOUR + 120)
    assert engine.up(stack, third_program).ok
    assert _statuses(graph) == {first: "disabled", second: "disabled", third: "enabled"}
    assert emulator.secret_matches("B2C_1A_Rotated", third, "value-three")


def test_a_rotation_after_the_pending_one_took_over_retires_the_oldest(
    engine: Engine, clock: TestClock, emulator: Emulator, graph: Any
) -> None:
    stack = Stack()
    assert engine.up(stack, _program("secret")).ok
    first = stack.resources["key"].outputs["kid"]
    assert engine.up(stack, _program("secret", value="value-two", not_before=emulator.now() + HOUR)).ok
    second = stack.resources["key"].outputs["kid"]
    clock.advance(HOUR + 120)  # the second key serves now, the first not retired yet (no up ran)
    assert engine.up(stack, _program("secret", value="value-three", not_before=emulator.now() + HOUR)).ok
    out = stack.resources["key"].outputs
    assert out["retiring_kid"] == second
    assert _statuses(graph) == {first: "disabled", second: "enabled", out["kid"]: "enabled"}
    assert graph.get_active_key("B2C_1A_Rotated").kid == second


def test_retirement_waits_while_the_new_key_is_not_valid(
    engine: Engine, clock: TestClock, emulator: Emulator, graph: Any
) -> None:
    stack = Stack()
    assert engine.up(stack, _program("secret")).ok
    old_kid = stack.resources["key"].outputs["kid"]
    rotated = _program("secret", value="value-two", not_before=emulator.now() + HOUR)
    assert engine.up(stack, rotated).ok
    new_kid = stack.resources["key"].outputs["kid"]
    graph.set_key_status("B2C_1A_Rotated", new_kid, "disabled")  # out of band, before it ever served
    clock.advance(HOUR + 120)
    run = engine.up(stack, rotated)
    assert not run.ok and run.error is not None
    assert f"Not retiring key {old_kid}" in run.error.details and "b2c-keys enable" in run.error.details
    assert _statuses(graph) == {old_kid: "enabled", new_kid: "disabled"}
    assert graph.get_active_key("B2C_1A_Rotated").kid == old_kid


def test_refresh_and_destroy_handle_both_kids(engine: Engine, emulator: Emulator, graph: Any) -> None:
    stack = Stack()
    assert engine.up(stack, _program("secret")).ok
    old_kid = stack.resources["key"].outputs["kid"]
    assert engine.up(stack, _program("secret", value="value-two", not_before=emulator.now() + HOUR)).ok
    new_kid = stack.resources["key"].outputs["kid"]
    assert engine.refresh(stack).ok
    assert stack.resources["key"].outputs["retiring_kid"] == old_kid

    # A delete takes both keys: the program removed the key, so the set may go dark (nothing waits to take over).
    run = engine.up(stack, _program("secret", value="value-two", not_before=emulator.now() + HOUR)[:1])
    assert run.ok, run.error
    assert _statuses(graph) == {old_kid: "disabled", new_kid: "disabled"}


def test_refresh_forgets_a_retiring_key_disabled_out_of_band(engine: Engine, emulator: Emulator, graph: Any) -> None:
    stack = Stack()
    assert engine.up(stack, _program("secret")).ok
    old_kid = stack.resources["key"].outputs["kid"]
    rotated = _program("secret", value="value-two", not_before=emulator.now() + HOUR)
    assert engine.up(stack, rotated).ok
    graph.set_key_status("B2C_1A_Rotated", old_kid, "disabled")
    assert engine.refresh(stack).ok
    assert "retiring_kid" not in stack.resources["key"].outputs
    assert engine.preview(stack, rotated)["key"] == "same"
