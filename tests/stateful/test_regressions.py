"""Sequences the state machine found, replayed step by step so each stays fixed (issue 11: "every failure it finds
becomes a regression test")."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stateful.test_key_lifecycle import KeyLifecycle


@pytest.fixture
def machine() -> Iterator[KeyLifecycle]:
    machine = KeyLifecycle()
    machine.declare()
    yield machine
    machine.teardown()


def test_a_rotation_with_dates_kept_whose_upload_never_arrived_keeps_a_valid_key(machine: KeyLifecycle) -> None:
    """Found: rotate twice with the same fixed not-before, the second upload dropped before the service saw it. The
    recovery adopted the old key (same use and dates) as the new one and the replace then disabled it: no valid key,
    and the state's kid held the old value."""
    machine.up("a", None)
    machine.rotate("a", "dates kept", 600, None)
    machine.rotate("a", "dates kept", 600, ("drop_before", "upload"))


def test_a_scheduled_rotation_then_its_retirement_keeps_a_valid_key(machine: KeyLifecycle) -> None:
    """B01 as the machine drives it: scheduled, the clock passes not-before, then the retiring up."""
    machine.up("a", None)
    machine.rotate("a", "scheduled", 600, None)
    machine.time_passes(700)
    machine.up("a", None)
    assert "retiring_kid" not in machine.model.stacks["a"].resources["a-key"].outputs
