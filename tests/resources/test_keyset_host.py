"""KeySet through the real provider host over gRPC, against the emulator, configured through Configure."""

from __future__ import annotations

from typing import Any

import pytest

from b2c_policy_keys import KeySetProvider
from b2c_policy_keys.emulator import Emulator
from support.host import ProviderError, ProviderHost, graph_requests, request_summary


def test_up_preview_refresh_destroy(host: ProviderHost, emulator: Emulator) -> None:
    state = host.up(KeySetProvider(), "signing", {"name": "TokenSigning"})
    assert [m for m, _ in host.calls] == ["Configure", "Check", "Create"]
    assert request_summary(emulator) == ["GET keySet", "POST keySets"]  # absent just before: a lost answer's proof
    assert state.id == state.outputs["keyset_id"] == "B2C_1A_TokenSigning"
    assert state.outputs["keys"] == []

    emulator.clear_requests()
    for spelling in ("TokenSigning", "B2C_1A_TokenSigning"):
        plan = host.preview(KeySetProvider(), "signing", {"name": spelling}, state)
        assert (plan.op, plan.diff and plan.diff.changes) == ("same", "none")
    assert graph_requests(emulator) == []

    refreshed = host.refresh(state)
    assert refreshed is not None and refreshed.outputs == state.outputs
    assert refreshed.inputs["name"] == "TokenSigning"
    assert request_summary(emulator) == ["GET keySet"]

    emulator.clear_requests()
    host.destroy(state)
    assert request_summary(emulator) == ["DELETE keySet"]
    host.destroy(state)  # already gone: still a success


def test_refresh_after_out_of_band_delete_reads_gone_and_up_recreates(
    host: ProviderHost, emulator: Emulator, graph: Any
) -> None:
    state = host.up(KeySetProvider(), "enc", {"name": "TokenEncryption"})
    graph.delete_keyset("B2C_1A_TokenEncryption")
    assert host.refresh(state) is None
    again = host.up(KeySetProvider(), "enc", {"name": "TokenEncryption"})
    assert again.id == "B2C_1A_TokenEncryption"


def test_rename_replaces(host: ProviderHost) -> None:
    state = host.up(KeySetProvider(), "ks", {"name": "One"})
    plan = host.preview(KeySetProvider(), "ks", {"name": "Two"}, state)
    assert plan.op == "replace" and plan.diff is not None and plan.diff.replaces == ["name"]


def test_existing_set_fails_clearly_or_is_adopted(host: ProviderHost, emulator: Emulator, graph: Any) -> None:
    graph.create_keyset("Legacy")
    with pytest.raises(ProviderError) as failed:
        host.up(KeySetProvider(), "legacy", {"name": "Legacy"})
    assert "B2C_1A_Legacy already exists" in failed.value.details
    assert "adopt_existing=True" in failed.value.details
    assert "pulumi import" in failed.value.details

    emulator.clear_requests()
    state = host.up(KeySetProvider(), "legacy", {"name": "Legacy", "adopt_existing": True})
    assert state.id == "B2C_1A_Legacy"
    assert request_summary(emulator) == ["POST keySets", "GET keySet"]


def test_purge_backup_on_delete_deletes_the_bak_set_too(host: ProviderHost, emulator: Emulator, graph: Any) -> None:
    state = host.up(KeySetProvider(), "ks", {"name": "Purged", "purge_backup_on_delete": True})
    host.destroy(state)
    remaining = {ks.id for ks in graph.list_keysets()}
    assert "B2C_1A_Purged" not in remaining and "B2C_1A_Purged.bak" not in remaining


def test_invalid_name_fails_check_with_the_rule(host: ProviderHost) -> None:
    checked = host.check(KeySetProvider(), "bad", {}, {"name": "has space"})
    assert checked.failures == [("name", "name may contain letters, digits, '_' and '-' only")]


def test_no_change_preview_needs_no_credentials(host: ProviderHost, emulator: Emulator) -> None:
    """Credentials are resolved lazily at the first Graph call, so a preview that needs none works without them."""
    state = host.up(KeySetProvider(), "ks", {"name": "Lazy"})
    with ProviderHost() as bare:
        bare.configure({"b2c:tenantId": emulator.tenant_id})
        assert bare.preview(KeySetProvider(), "ks", {"name": "Lazy"}, state).op == "same"
        with pytest.raises(ProviderError) as failed:
            bare.refresh(state)
    assert "pulumi config set --secret b2c:clientSecret" in failed.value.details
