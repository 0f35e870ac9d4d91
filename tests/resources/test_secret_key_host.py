"""SecretKey through the real provider host over gRPC, against the emulator."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from b2c_policy_keys import KeySetProvider, SecretKeyProvider
from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.model import now_epoch
from support.host import UNKNOWN, ProviderError, ProviderHost, State, graph_requests, request_summary

EXPIRES = "2099-12-31T23:59:59Z"


def _keyset(host: ProviderHost, name: str = "ClientSecret") -> State:
    return host.up(KeySetProvider(), f"{name}-set", {"name": name})


def _secret(keyset: State, value: str = "first-secret-value", **extra: Any) -> dict[str, Any]:
    return {"keyset_id": keyset.outputs["keyset_id"], "value": value, "expires_at": EXPIRES, **extra}


def test_up_then_no_change_preview_makes_no_graph_call(host: ProviderHost, emulator: Emulator) -> None:
    keyset = _keyset(host)
    emulator.clear_requests()
    before = now_epoch()
    state = host.up(SecretKeyProvider(), "secret", _secret(keyset))
    assert request_summary(emulator) == ["GET keySet", "POST uploadSecret"]  # the read proves a lost answer's key
    out = state.outputs
    assert state.id == f"B2C_1A_ClientSecret/{out['kid']}"
    assert out["status"] == "enabled" and out["use"] == "sig" and out["kty"] == "oct"
    assert out["expires_at"] == 4102444799 and out["expires_at_iso"] == "2099-12-31T23:59:59Z"
    assert before <= out["not_before"] <= now_epoch()  # nbf = upload time: the new key is active at once
    assert "value" not in out
    assert "value_fingerprint" in state.secret_outputs

    emulator.clear_requests()
    # The same date spelled differently, the key set spelled without its prefix: still no change.
    news = _secret(keyset, expires_at=4102444799, keyset_id="ClientSecret")
    plan = host.preview(SecretKeyProvider(), "secret", news, state)
    assert (plan.op, plan.diff and plan.diff.changes) == ("same", "none")
    assert [m for m, _ in host.calls[-2:]] == ["Check", "Diff"]
    assert graph_requests(emulator) == []


def test_preview_with_unknown_inputs(host: ProviderHost) -> None:
    keyset = _keyset(host)
    new = host.preview(SecretKeyProvider(), "s", {"keyset_id": UNKNOWN, "value": UNKNOWN, "expires_at": UNKNOWN})
    assert new.op == "create"
    state = host.up(SecretKeyProvider(), "s", _secret(keyset))
    plan = host.preview(SecretKeyProvider(), "s", _secret(keyset, value=UNKNOWN), state)
    assert plan.op == "replace" and plan.diff is not None and plan.diff.replaces == ["value"]
    plan = host.preview(SecretKeyProvider(), "s", _secret(keyset, enabled=UNKNOWN), state)
    assert plan.op == "update"


def test_rotation_uploads_new_active_key_then_disables_old(host: ProviderHost, emulator: Emulator, graph: Any) -> None:
    keyset = _keyset(host)
    old = host.up(SecretKeyProvider(), "secret", _secret(keyset))
    plan = host.preview(SecretKeyProvider(), "secret", _secret(keyset, value="second-secret-value"), old)
    assert plan.diff is not None and plan.diff.replaces == ["value"] and not plan.diff.delete_before_replace

    emulator.clear_requests()
    mark = len(host.calls)
    new = host.up(SecretKeyProvider(), "secret", _secret(keyset, value="second-secret-value"), old)
    assert [m for m, _ in host.calls[mark:]] == ["Check", "Diff", "Create", "Delete"]
    # The delete reads the set first: it never disables the last valid key while another waits (issue 11, B01).
    assert request_summary(emulator) == ["GET keySet", "POST uploadSecret", "GET keySet", "PATCH keys_v2"]

    live = graph.get_keyset("B2C_1A_ClientSecret")
    assert {k.kid: k.status for k in live.keys} == {old.outputs["kid"]: "disabled", new.outputs["kid"]: "enabled"}
    active = live.active_key()
    assert active is not None and active.kid == new.outputs["kid"]


def test_version_bump_and_enabled_toggle(host: ProviderHost, emulator: Emulator) -> None:
    keyset = _keyset(host)
    state = host.up(SecretKeyProvider(), "s", _secret(keyset, version=1))
    plan = host.preview(SecretKeyProvider(), "s", _secret(keyset, version=2), state)
    assert plan.diff is not None and plan.diff.replaces == ["version"]

    emulator.clear_requests()
    disabled = host.up(SecretKeyProvider(), "s", _secret(keyset, version=1, enabled=False), state)
    assert request_summary(emulator) == ["PATCH keys_v2"]
    assert disabled.id == state.id and disabled.outputs["status"] == "disabled"
    assert disabled.outputs["kid"] == state.outputs["kid"] and "value_fingerprint" in disabled.secret_outputs


def test_refresh_sees_out_of_band_disable_and_up_re_enables(host: ProviderHost, emulator: Emulator, graph: Any) -> None:
    keyset = _keyset(host)
    state = host.up(SecretKeyProvider(), "s", _secret(keyset))
    graph.set_key_status("B2C_1A_ClientSecret", state.outputs["kid"], "disabled")

    emulator.clear_requests()
    refreshed = host.refresh(state)
    assert refreshed is not None and refreshed.outputs["status"] == "disabled"
    assert request_summary(emulator) == ["GET keySet"]
    assert "value" in refreshed.inputs  # inputs kept: the encrypted value stays the source of truth

    plan = host.preview(SecretKeyProvider(), "s", _secret(keyset), refreshed)
    assert plan.op == "update"
    healed = host.up(SecretKeyProvider(), "s", _secret(keyset), refreshed)
    assert healed.outputs["status"] == "enabled"
    assert graph.get_keyset("B2C_1A_ClientSecret").key(state.outputs["kid"]).status == "enabled"


def test_refresh_after_key_set_deleted_reads_gone_and_delete_still_succeeds(
    host: ProviderHost, emulator: Emulator, graph: Any
) -> None:
    keyset = _keyset(host)
    state = host.up(SecretKeyProvider(), "s", _secret(keyset))
    graph.delete_keyset("B2C_1A_ClientSecret")
    assert host.refresh(state) is None
    host.destroy(state)  # key set gone: disabling the key is moot, delete succeeds


def test_lost_upload_response_is_not_adopted_but_named_with_the_fix(
    host: ProviderHost, emulator: Emulator, graph: Any
) -> None:
    keyset = _keyset(host)
    dates = {"not_before": "2030-01-01T00:00:00Z", "expires_at": "2031-01-01T00:00:00Z"}
    # A key this run already created, with the very same use and dates: it must not be mistaken for the lost one.
    earlier = host.up(SecretKeyProvider(), "earlier", _secret(keyset, value="earlier-value", **dates))
    emulator.clear_requests()
    emulator.add_fault(method="POST", path_regex="uploadSecret", kind="drop_after", count=1)
    with pytest.raises(ProviderError) as failed:
        host.up(SecretKeyProvider(), "s", _secret(keyset, **dates))
    # A secret echoes nothing of itself: the new key is a candidate, never adopted, never uploaded twice.
    assert request_summary(emulator) == ["GET keySet", "POST uploadSecret", "GET keySet"]
    live = graph.get_keyset("B2C_1A_ClientSecret")
    (new,) = [k.kid for k in live.keys if k.kid != earlier.outputs["kid"]]
    assert new in failed.value.details and earlier.outputs["kid"] not in failed.value.details
    assert "b2c-keys untracked" in failed.value.details
    assert "b2c-keys disable B2C_1A_ClientSecret" in failed.value.details


def test_upload_that_never_arrived_is_sent_again(host: ProviderHost, emulator: Emulator, graph: Any) -> None:
    keyset = _keyset(host)
    emulator.clear_requests()
    emulator.add_fault(method="POST", path_regex="uploadSecret", kind="drop_before", count=1)
    state = host.up(SecretKeyProvider(), "s", _secret(keyset))
    summary = request_summary(emulator)
    assert summary[-2:] == ["GET keySet", "POST uploadSecret"] and summary.count("POST uploadSecret") == 2
    assert [k.kid for k in graph.get_keyset("B2C_1A_ClientSecret").keys] == [state.outputs["kid"]]


def test_twenty_keys_in_one_set_in_parallel(host: ProviderHost, emulator: Emulator, graph: Any) -> None:
    keyset = _keyset(host, "Many")
    emulator.clear_requests()
    with ThreadPoolExecutor(max_workers=8) as pool:  # more than the host's 4 workers: calls queue in the host
        states = list(
            pool.map(lambda i: host.up(SecretKeyProvider(), f"s{i}", _secret(keyset, value=f"value-{i}")), range(20))
        )
    kids = {s.outputs["kid"] for s in states}
    assert len(kids) == 20
    assert request_summary(emulator) == ["GET keySet", "POST uploadSecret"] * 20
    assert {k.kid for k in graph.get_keyset("B2C_1A_Many").keys} == kids


def test_destroy_disables_the_key(host: ProviderHost, emulator: Emulator, graph: Any) -> None:
    keyset = _keyset(host)
    state = host.up(SecretKeyProvider(), "s", _secret(keyset))
    emulator.clear_requests()
    host.destroy(state)
    assert request_summary(emulator) == ["GET keySet", "PATCH keys_v2"]
    assert graph.get_keyset("B2C_1A_ClientSecret").key(state.outputs["kid"]).status == "disabled"


def test_missing_key_set_is_a_clear_error_naming_keyset_id(host: ProviderHost) -> None:
    with pytest.raises(ProviderError) as failed:
        host.up(SecretKeyProvider(), "s", {"keyset_id": "Nowhere", "value": "v", "expires_at": EXPIRES})
    assert "keyset_id: the key set B2C_1A_Nowhere does not exist" in failed.value.details
    assert "Declare it with a KeySet" in failed.value.details
