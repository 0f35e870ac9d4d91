"""B07 (issue 11): a rename that resolves to the same key set is no change, and never a delete of the live set."""

from __future__ import annotations

from typing import Any

import pytest

from b2c_policy_keys import KeySetProvider, SecretKeyProvider
from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.errors import NotFoundError
from stateful import fixtures
from stateful.engine import Declared, Engine, Stack

clock, engine, graph = fixtures.clock, fixtures.engine, fixtures.graph  # fixtures, by name

EXPIRES = 4102444799


def _program(name: str, resource: str = "set", **flags: Any) -> list[Declared]:
    return [
        Declared(KeySetProvider(), resource, {"name": name, **flags}),
        Declared(SecretKeyProvider(), "key", {"keyset_id": name, "value": "app-secret", "expires_at": EXPIRES}),
    ]


def _ids(graph: Any) -> set[str]:
    return {k.id for k in graph.list_keysets()}


@pytest.mark.parametrize("renamed", ["FaceBookSecret", "B2C_1A_facebooksecret", "b2c_1a_FacebookSecret"])
def test_a_case_or_prefix_only_rename_is_no_change(renamed: str, engine: Engine, graph: Any) -> None:
    stack = Stack()
    assert engine.up(stack, _program("FacebookSecret")).ok
    kid = stack.resources["key"].outputs["kid"]
    assert engine.preview(stack, _program(renamed))["set"] == "same"
    run = engine.up(stack, _program(renamed))
    assert run.ok and run.ops["set"] == "same", run.error
    assert _ids(graph) == {"B2C_1A_FacebookSecret"}  # no .bak: nothing was deleted
    assert graph.get_keyset("B2C_1A_FacebookSecret").key(kid).status == "enabled"


def test_adopting_the_set_under_a_new_resource_name_keeps_it(engine: Engine, graph: Any) -> None:
    stack = Stack()
    assert engine.up(stack, _program("FacebookSecret")).ok
    kid = stack.resources["key"].outputs["kid"]
    run = engine.up(stack, _program("FaceBookSecret", resource="facebook", adopt_existing=True))
    assert run.ok and run.ops == {"set": "delete", "facebook": "create", "key": "same"}, run.error
    assert _ids(graph) == {"B2C_1A_FacebookSecret"}  # the engine's delete of "set" left the adopted set alone
    assert graph.get_keyset("B2C_1A_FacebookSecret").key(kid).status == "enabled"
    assert engine.preview(stack, _program("FaceBookSecret", resource="facebook", adopt_existing=True)) == {
        "facebook": "same",
        "key": "same",
    }

    # A later run deletes what the adopting resource manages, as any delete would.
    assert engine.destroy(stack).ok
    with pytest.raises(NotFoundError):
        graph.get_keyset("B2C_1A_FacebookSecret")


def test_the_adopted_set_survives_when_the_rename_run_failed_before_its_deletes(
    engine: Engine, emulator: Emulator, graph: Any
) -> None:
    stack = Stack()
    assert engine.up(stack, _program("FacebookSecret")).ok
    extra = Declared(
        SecretKeyProvider(), "key2", {"keyset_id": "FacebookSecret", "value": "other", "expires_at": EXPIRES}
    )
    renamed = [*_program("FaceBookSecret", resource="facebook", adopt_existing=True), extra]
    emulator.add_fault(kind="status", status=503, path_regex="uploadSecret")
    failed = engine.up(stack, renamed)  # adopts, then the new key fails: the engine runs no delete
    emulator.clear_faults()
    assert not failed.ok and "set" in stack.resources and "facebook" in stack.resources
    run = engine.up(stack, renamed)  # another process: the old resource's delete runs now
    assert run.ok and run.ops["set"] == "delete", run.error
    assert _ids(graph) == {"B2C_1A_FacebookSecret"}


def test_the_already_exists_error_recommends_an_alias_for_a_rename(engine: Engine) -> None:
    stack = Stack()
    assert engine.up(stack, _program("FacebookSecret")).ok
    run = engine.up(stack, _program("FacebookSecret", resource="facebook"))
    assert not run.ok and run.error is not None
    assert "already exists" in run.error.details and "aliases=[pulumi.Alias(" in run.error.details
    assert "set" in stack.resources  # nothing was deleted: the run stopped at the create
