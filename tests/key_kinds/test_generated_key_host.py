"""GeneratedKey through the real provider host over gRPC, against the emulator: create, no-op, rotation, refresh."""

from __future__ import annotations

from typing import Any

import pytest

from b2c_policy_keys import GeneratedKeyProvider, KeySetProvider
from support.host import UNKNOWN, ProviderError, ProviderHost, State

from .conftest import graph_calls

EXPIRES = "2099-12-31T23:59:59Z"


def keyset(host: ProviderHost, name: str) -> State:
    return host.up(KeySetProvider(), f"{name}-set", {"name": name})


def test_create_rsa_signing_key_outputs_public_parts(host: ProviderHost, emulator: Any) -> None:
    ks = keyset(host, "TokenSigningKeyContainer")
    emulator.clear_requests()
    state = host.up(GeneratedKeyProvider(), "sig", {"keyset_id": ks.outputs["keyset_id"], "expires_at": EXPIRES})
    assert graph_calls(emulator) == ["GET B2C_1A_TokenSigningKeyContainer", "POST generateKey"]
    out = state.outputs
    assert state.id == f"B2C_1A_TokenSigningKeyContainer/{out['kid']}"
    assert (out["kty"], out["use"], out["status"]) == ("RSA", "sig", "enabled")
    assert out["n"] and out["e"] == "AQAB"
    assert out["expires_at_iso"] == "2099-12-31T23:59:59Z" and out["not_before"] is not None


def test_oct_encryption_key_has_no_public_parts(host: ProviderHost) -> None:
    ks = keyset(host, "Enc")
    state = host.up(GeneratedKeyProvider(), "k", {"keyset_id": ks.outputs["keyset_id"], "kty": "oct", "use": "enc"})
    assert (state.outputs["kty"], state.outputs["use"]) == ("oct", "enc")
    assert state.outputs.get("n") is None


def test_no_change_preview_makes_no_graph_call(host: ProviderHost, emulator: Any) -> None:
    ks = keyset(host, "Signing")
    news = {"keyset_id": ks.outputs["keyset_id"], "expires_at": EXPIRES, "version": 1}
    state = host.up(GeneratedKeyProvider(), "k", news)
    emulator.clear_requests()
    # Same inputs spelled differently: name without prefix, epoch seconds, version as a float.
    same = {"keyset_id": "Signing", "expires_at": 4102444799, "version": 1.0, "kty": "rsa"}
    plan = host.preview(GeneratedKeyProvider(), "k", same, state)
    assert plan.op == "same"
    assert graph_calls(emulator) == []


def test_unknown_inputs_in_preview(host: ProviderHost) -> None:
    ks = keyset(host, "Signing")
    assert host.preview(GeneratedKeyProvider(), "k", {"keyset_id": UNKNOWN, "version": UNKNOWN}).op == "create"
    state = host.up(GeneratedKeyProvider(), "k", {"keyset_id": ks.outputs["keyset_id"]})
    plan = host.preview(GeneratedKeyProvider(), "k", {"keyset_id": ks.outputs["keyset_id"], "version": UNKNOWN}, state)
    assert plan.op == "replace" and plan.diff is not None and plan.diff.replaces == ["version"]


def test_version_bump_rotates_new_key_active_old_disabled(host: ProviderHost, emulator: Any, graph: Any) -> None:
    ks = keyset(host, "Signing")
    old = host.up(GeneratedKeyProvider(), "k", {"keyset_id": ks.outputs["keyset_id"], "version": 1})
    emulator.clear_requests()
    mark = len(host.calls)
    new = host.up(GeneratedKeyProvider(), "k", {"keyset_id": ks.outputs["keyset_id"], "version": 2}, old)
    assert [m for m, _ in host.calls[mark:]] == ["Check", "Diff", "Create", "Delete"]
    # Read the set, generate; then the old key's delete: read the set (never leave it dark, issue 11), disable.
    assert graph_calls(emulator) == ["GET B2C_1A_Signing", "POST generateKey", "GET B2C_1A_Signing", "PATCH keys_v2"]
    live = graph.get_keyset("B2C_1A_Signing")
    assert {k.kid: k.status for k in live.keys} == {old.outputs["kid"]: "disabled", new.outputs["kid"]: "enabled"}
    assert live.active_key().kid == new.outputs["kid"]


def test_enabled_toggles_in_place(host: ProviderHost, graph: Any) -> None:
    ks = keyset(host, "Signing")
    state = host.up(GeneratedKeyProvider(), "k", {"keyset_id": ks.outputs["keyset_id"]})
    plan = host.preview(GeneratedKeyProvider(), "k", {"keyset_id": ks.outputs["keyset_id"], "enabled": False}, state)
    assert plan.op == "update"
    state = host.up(GeneratedKeyProvider(), "k", {"keyset_id": ks.outputs["keyset_id"], "enabled": False}, state)
    assert state.outputs["status"] == "disabled" and state.outputs["n"]  # update keeps every output
    assert graph.get_key("B2C_1A_Signing", state.outputs["kid"]).status == "disabled"


def test_refresh_sees_out_of_band_disable_and_deleted_set(host: ProviderHost, emulator: Any, graph: Any) -> None:
    ks = keyset(host, "Signing")
    state = host.up(GeneratedKeyProvider(), "k", {"keyset_id": ks.outputs["keyset_id"]})
    graph.set_key_status("B2C_1A_Signing", state.outputs["kid"], "disabled")
    emulator.clear_requests()
    refreshed = host.refresh(state)
    assert refreshed is not None and refreshed.outputs["status"] == "disabled"
    assert graph_calls(emulator) == ["GET B2C_1A_Signing"]
    # The next up re-enables it in place.
    plan = host.preview(GeneratedKeyProvider(), "k", {"keyset_id": ks.outputs["keyset_id"]}, refreshed)
    assert plan.op == "update"
    graph.delete_keyset("B2C_1A_Signing")
    assert host.refresh(refreshed) is None


def test_mixing_types_fails_naming_the_set_and_what_it_holds(host: ProviderHost) -> None:
    ks = keyset(host, "Signing")
    host.up(GeneratedKeyProvider(), "rsa", {"keyset_id": ks.outputs["keyset_id"]})
    with pytest.raises(ProviderError) as caught:
        host.up(GeneratedKeyProvider(), "oct", {"keyset_id": ks.outputs["keyset_id"], "kty": "oct"})
    assert "key set B2C_1A_Signing holds 1 RSA sig key; a oct sig key cannot join it" in caught.value.details
    assert "its own key set" in caught.value.details
    with pytest.raises(ProviderError) as caught:
        host.up(GeneratedKeyProvider(), "enc", {"keyset_id": ks.outputs["keyset_id"], "use": "enc"})
    assert "a RSA enc key cannot join it" in caught.value.details


def test_destroy_disables_and_tolerates_a_gone_set(host: ProviderHost, graph: Any) -> None:
    ks = keyset(host, "Signing")
    state = host.up(GeneratedKeyProvider(), "k", {"keyset_id": ks.outputs["keyset_id"]})
    host.destroy(state)
    assert graph.get_key("B2C_1A_Signing", state.outputs["kid"]).status == "disabled"
    graph.delete_keyset("B2C_1A_Signing")
    host.destroy(state)


def test_a_lost_generate_answer_names_the_candidate_instead_of_generating_twice(
    host: ProviderHost, emulator: Any, graph: Any
) -> None:
    ks = keyset(host, "Signing")
    emulator.clear_requests()
    emulator.add_fault(method="POST", path_regex="generateKey", kind="drop_after", count=1)
    with pytest.raises(ProviderError) as failed:
        host.up(GeneratedKeyProvider(), "k", {"keyset_id": ks.outputs["keyset_id"], "expires_at": EXPIRES})
    # A generated key carries nothing that proves this request made it (another stack may write the same set).
    assert graph_calls(emulator) == ["GET B2C_1A_Signing", "POST generateKey", "GET B2C_1A_Signing"]
    (candidate,) = graph.get_keyset("B2C_1A_Signing").keys
    assert candidate.kid in failed.value.details and "b2c-keys disable B2C_1A_Signing" in failed.value.details
