"""The in-process program (``Engine.program``) the state machine runs on: what the SDK would send, nothing leaked."""

from __future__ import annotations

import json
from pathlib import Path

from b2c_policy_keys import KeySetProvider, SecretKeyProvider
from b2c_policy_keys.emulator import Emulator
from stateful.engine import Declared, Engine, Stack, TestClock, stack_export

VALUE = "in-process-secret-7d41c9"


def _program(keyset_id: str = "Shared") -> list[Declared]:
    key = Declared(SecretKeyProvider(), "key", {"keyset_id": keyset_id, "expires_at": 4102444799, "value": VALUE})
    return [Declared(KeySetProvider(), "set", {"name": "Shared"}), key]


def test_an_up_keeps_the_value_secret_and_a_destroy_deletes_the_key_before_its_set(
    emulator: Emulator, tmp_path: Path
) -> None:
    engine = Engine(emulator, TestClock(emulator, tmp_path / "clock"))
    stack = Stack()
    run = engine.up(stack, _program())
    assert run.ok and run.ops == {"set": "create", "key": "create"}, run.error
    key = stack.resources["key"]
    assert key.secret_inputs == {"value"} and key.dependencies == [stack.resources["set"].urn]
    shown = json.dumps(stack_export(stack)) + engine.host_output
    assert VALUE not in shown and key.outputs["kid"] in shown
    destroyed = engine.destroy(stack)
    assert destroyed.ok and list(destroyed.ops) == ["key", "set"] and not stack.resources, destroyed.error


def test_a_registration_that_fails_ends_the_program(emulator: Emulator, tmp_path: Path) -> None:
    """The SDK exits once a RegisterResource fails: nothing after it runs, and the run names the property."""
    engine = Engine(emulator, TestClock(emulator, tmp_path / "clock"), preview_first=False)
    stack = Stack()
    later = Declared(KeySetProvider(), "later", {"name": "Later"})
    run = engine.up(stack, [Declared(KeySetProvider(), "bad", {"name": ""}), later])
    assert not run.ok and run.error is not None and "bad: name: name must not be empty" in run.error.details
    assert "later" not in run.ops and not stack.resources
