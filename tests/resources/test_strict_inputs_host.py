"""Issue 11 B08, B14, B16 through the real provider host against the emulator: one identity, strict booleans,
defensive reads of the service's dates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from b2c_policy_keys import GeneratedKeyProvider, KeySetProvider, SecretKeyProvider
from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.model import now_epoch
from support.host import CheckFailed, ProviderError, ProviderHost, request_summary

B2C_KEYS = str(Path(sys.executable).with_name("b2c-keys"))
FUTURE = 4102444800  # 2100-01-01T00:00:00Z


# --- B08: one identity ----------------------------------------------------------------------------------------


def test_a_prefix_in_lower_case_is_the_prefix(host: ProviderHost, graph: Any) -> None:
    """``b2c_1a_Thing`` names B2C_1A_Thing: never a new set B2C_1A_b2c_1a_Thing."""
    state = host.up(KeySetProvider(), "thing", {"name": "b2c_1a_Thing"})
    assert state.id == "B2C_1A_Thing"
    assert [ks.id for ks in graph.list_keysets()] == ["B2C_1A_Thing"]


def test_a_case_only_respelling_is_no_change_and_keys_find_the_set(host: ProviderHost, emulator: Emulator) -> None:
    state = host.up(KeySetProvider(), "thing", {"name": "Thing"})
    for spelling in ("thing", "THING", "b2c_1a_thing", "B2C_1A_Thing"):
        plan = host.preview(KeySetProvider(), "thing", {"name": spelling}, state)
        assert plan.op != "replace", spelling
    key = host.up(GeneratedKeyProvider(), "thing-key", {"keyset_id": "b2c_1a_THING", "use": "sig"})
    emulator.clear_requests()
    plan = host.preview(GeneratedKeyProvider(), "thing-key", {"keyset_id": "Thing", "use": "sig"}, key)
    assert plan.op == "same"
    assert request_summary(emulator) == []


def test_the_service_keeps_the_first_case_and_refuses_a_case_only_twin(graph: Any) -> None:
    """The emulator's decision (docs/emulator.md): case-insensitive lookup, case-preserving create."""
    from b2c_policy_keys.errors import AlreadyExistsError

    graph.create_keyset("FaceBook")
    with pytest.raises(AlreadyExistsError):
        graph.create_keyset("facebook")
    assert graph.get_keyset("b2c_1a_FACEBOOK").id == "B2C_1A_FaceBook"


def test_show_finds_a_set_spelt_in_another_case(host: ProviderHost, emulator: Emulator, graph: Any) -> None:
    graph.create_keyset("B2C_1A_X")
    shown = _b2c_keys(emulator, "show", "b2c_1a_x", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == "B2C_1A_X"


# --- B14: booleans are booleans -------------------------------------------------------------------------------


def test_the_text_false_never_adopts_an_existing_set(host: ProviderHost, graph: Any) -> None:
    graph.create_keyset("Legacy")
    with pytest.raises(ProviderError) as failed:
        host.up(KeySetProvider(), "legacy", {"name": "Legacy", "adopt_existing": "false"})
    assert "B2C_1A_Legacy already exists" in failed.value.details
    adopted = host.up(KeySetProvider(), "legacy", {"name": "Legacy", "adopt_existing": "TRUE"})
    assert adopted.outputs["adopt_existing"] is True


def test_the_text_false_creates_a_disabled_key(host: ProviderHost, graph: Any) -> None:
    graph.create_keyset("App")
    news = {"keyset_id": "App", "value": "s3cr3t-value", "expires_at": FUTURE, "enabled": "False"}
    state = host.up(SecretKeyProvider(), "app", news)
    assert state.outputs["status"] == "disabled" and state.outputs["enabled"] is False
    assert graph.get_keyset("App").keys[0].status == "disabled"


@pytest.mark.parametrize(
    ("provider", "news", "prop"),
    [
        (KeySetProvider(), {"name": "A", "adopt_existing": "yes"}, "adopt_existing"),
        (KeySetProvider(), {"name": "A", "purge_backup_on_delete": 1}, "purge_backup_on_delete"),
        (GeneratedKeyProvider(), {"keyset_id": "A", "enabled": "no"}, "enabled"),
        (SecretKeyProvider(), {"keyset_id": "A", "value": "v", "enabled": "0"}, "enabled"),
    ],
)
def test_anything_but_a_boolean_is_refused_naming_the_property(
    host: ProviderHost, emulator: Emulator, provider: Any, news: dict[str, Any], prop: str
) -> None:
    emulator.clear_requests()
    with pytest.raises(CheckFailed) as failed:
        host.up(provider, "r", news)
    reasons = dict(failed.value.failures)
    assert reasons[prop].startswith(f"{prop} must be true or false")
    assert request_summary(emulator) == []


def test_a_refused_boolean_never_echoes_what_was_given(host: ProviderHost) -> None:
    """A secret passed to the wrong argument by mistake must not reach the terminal through the check's message."""
    mistaken = "client-secret-given-as-enabled-5c1f"
    with pytest.raises(CheckFailed) as failed:
        host.up(SecretKeyProvider(), "r", {"keyset_id": "A", "value": "v", "enabled": mistaken})
    assert mistaken not in repr(failed.value.failures) and mistaken not in host.output.text


# --- B16: odd dates from the service ----------------------------------------------------------------------------


def _store_odd_dates(emulator: Emulator, keyset_id: str, nbf: int, exp: int) -> None:
    """Give the first key of a set dates no valid request could set: the emulator's Graph API refuses them (as it
    should for what this provider sends), yet some tools upload milliseconds and the service stores them (issue 11
    B16). So the test writes the emulated tenant's store directly; every read below goes over HTTPS."""

    def change(stored: Any) -> list[dict[str, Any]]:
        keys = [dict(k) for k in stored.keys]
        keys[0].update(nbf=nbf, exp=exp)
        return keys

    assert emulator.service._store.update(keyset_id, change) is not None


def test_one_key_with_millisecond_dates_breaks_neither_refresh_nor_show(
    host: ProviderHost, emulator: Emulator, graph: Any
) -> None:
    state = host.up(KeySetProvider(), "app", {"name": "App"})
    now = now_epoch()
    graph.upload_secret("App", use="sig", value="s3cr3t-one", nbf=now - 60, exp=now + 86_400)
    graph.upload_secret("App", use="sig", value="s3cr3t-two", nbf=now - 30, exp=now + 86_400)
    _store_odd_dates(emulator, "B2C_1A_App", nbf=(now - 10) * 1000, exp=(now + 86_400) * 1000)

    refreshed = host.refresh(state)
    assert refreshed is not None
    odd, good = refreshed.outputs["keys"]
    assert odd["not_before"] == (now - 10) * 1000
    assert odd["not_before_iso"] == f"not a date: {(now - 10) * 1000} (milliseconds?)"
    # A millisecond not-before lies far in the future: that key is not the active one.
    assert refreshed.outputs["active_kid"] == good["kid"]

    adopted = host.up(KeySetProvider(), "again", {"name": "App", "adopt_existing": True})
    assert adopted.outputs["active_kid"] == good["kid"]

    shown = _b2c_keys(emulator, "show", "App")
    assert shown.returncode == 0, shown.stderr
    assert "milliseconds?" in shown.stdout


def _b2c_keys(emulator: Emulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARM_", "AZURE_", "B2C_", "IDENTITY_", "MSI_"))}
    env["COLUMNS"] = "250"
    env["ARM_CLIENT_SECRET"] = emulator.client_secret  # b2c-keys takes no secret as a flag value (shell history)
    target = [
        *("--tenant-id", emulator.tenant_id, "--client-id", emulator.client_id),
        *("--graph-url", emulator.graph_url),
        *("--authority-host", emulator.authority_host, "--ca-bundle", str(emulator.ca_bundle)),
    ]
    argv = [B2C_KEYS, *args, *target]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
