"""The test clock: the emulator's admin clock and the provider's ``model.now_epoch`` move together, without sleeping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from b2c_policy_keys import model
from b2c_policy_keys.emulator import Emulator
from stateful import fixtures
from stateful.engine import TestClock

clock, engine, graph = fixtures.clock, fixtures.engine, fixtures.graph  # fixtures, by name


def test_the_admin_clock_moves_not_before_and_the_active_key(
    emulator: Emulator, emulator_session: requests.Session, graph: Any
) -> None:
    graph.create_keyset("Clocked")
    now = emulator.now()
    later = graph.upload_secret("B2C_1A_Clocked", use="sig", value="later-value", nbf=now + 600, exp=now + 7200)
    graph.upload_secret("B2C_1A_Clocked", use="sig", value="now-value", nbf=now - 10, exp=now + 7200)
    assert graph.get_active_key("B2C_1A_Clocked").kid != later.kid

    answer = emulator_session.post(f"{emulator.admin_url}/clock", json={"advance_s": 601}, timeout=10)
    assert answer.status_code == 200 and answer.json()["offset_s"] == 601
    assert emulator_session.get(f"{emulator.admin_url}/clock", timeout=10).json()["now"] >= now + 601
    assert graph.get_active_key("B2C_1A_Clocked").kid == later.kid

    refused = emulator_session.post(f"{emulator.admin_url}/clock", json={"advance_s": -5}, timeout=10)
    assert refused.status_code == 400 and "advance_s" in refused.json()["error"]["message"]


def test_the_provider_clock_reads_the_offset_file(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = TestClock(emulator, tmp_path / "clock")
    monkeypatch.setenv(model.TEST_CLOCK_ENV, str(clock.path))
    clock.advance(86400)
    assert abs(model.now_epoch() - emulator.now()) <= 1
    monkeypatch.delenv(model.TEST_CLOCK_ENV)
    assert emulator.now() - model.now_epoch() >= 86399
