"""Never adopt what it cannot prove it made (issue 11 B02, B03/B15, B04/B12, B09), through the real provider host.

A test per defect, each failing before the fix: lost requests and answers injected by the emulator, a later
`pulumi up` or another stack as another provider process (``hosts()``), the emulator's secret check as the oracle
of "this state's kid holds this state's value".
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from b2c_policy_keys import CertificateKeyProvider, KeySetProvider, SecretKeyProvider
from b2c_policy_keys.emulator import Emulator
from key_kinds.material import Material
from support.host import ProviderError, ProviderHost, State

from .conftest import Hosts, fault_taken, wait_until

# A not-before already past: a rotation with these dates kept is a replace (a future one is a scheduled update that
# keeps the old key enabled until then, tests/safety/test_rotation_scheduled.py).
DATES = {"not_before": "2024-01-01T00:00:00Z", "expires_at": "2031-01-01T00:00:00Z"}
UPLOAD = r"/uploadSecret$"


def secret(keyset: str, value: str, **extra: Any) -> dict[str, Any]:
    return {"keyset_id": keyset, "value": value, **extra}


def uploads(emulator: Emulator, action: str = "uploadSecret") -> int:
    return sum(1 for r in emulator.requests_log() if r["method"] == "POST" and r["path"].endswith("/" + action))


def retire_named(graph: Any, keyset_id: str, details: str) -> list[str]:
    """The documented recovery: every key of the set no state tracks that the error names, retired as
    ``b2c-keys disable <set> <kid>`` does."""
    named = [k.kid for k in graph.get_keyset(keyset_id).keys if k.kid in details]
    for kid in named:
        graph.set_key_status(keyset_id, kid, "disabled")
    return named


# --- B02: a rotation with its dates kept --------------------------------------------------------------------


def test_b02_a_rotation_whose_upload_never_arrived_uploads_the_new_value_not_the_old_key(
    hosts: Hosts, emulator: Emulator, graph: Any
) -> None:
    first = hosts()
    first.up(KeySetProvider(), "set", {"name": "Kept"})
    old = first.up(SecretKeyProvider(), "k", secret("Kept", "old-value", **DATES))
    later = hosts()  # the rotation is a later `pulumi up`: a process that did not make the old key
    emulator.add_fault(method="POST", path_regex=UPLOAD, kind="drop_before", count=1)
    new = later.up(SecretKeyProvider(), "k", secret("Kept", "new-value", **DATES), old)
    assert new.outputs["kid"] != old.outputs["kid"], "the old key (same use and dates) was adopted as the new one"
    assert emulator.secret_matches("B2C_1A_Kept", new.outputs["kid"], "new-value")
    live = {k.kid: k.status for k in graph.get_keyset("Kept").keys}
    assert live == {old.outputs["kid"]: "disabled", new.outputs["kid"]: "enabled"}


def test_b02_a_rotation_whose_answer_was_lost_keeps_the_old_key_working(
    hosts: Hosts, emulator: Emulator, graph: Any
) -> None:
    first = hosts()
    first.up(KeySetProvider(), "set", {"name": "Kept"})
    old = first.up(SecretKeyProvider(), "k", secret("Kept", "old-value", **DATES))
    later = hosts()
    emulator.add_fault(method="POST", path_regex=UPLOAD, kind="drop_after", count=1)
    with pytest.raises(ProviderError) as failed:
        later.up(SecretKeyProvider(), "k", secret("Kept", "new-value", **DATES), old)
    assert old.outputs["kid"] not in failed.value.details  # the old key is never a candidate
    assert graph.get_keyset("Kept").key(old.outputs["kid"]).status == "enabled"  # no delete ran: it still works
    (landed,) = retire_named(graph, "B2C_1A_Kept", failed.value.details)
    assert emulator.secret_matches("B2C_1A_Kept", landed, "new-value")
    new = later.up(SecretKeyProvider(), "k", secret("Kept", "new-value", **DATES), old)  # after the recovery
    assert emulator.secret_matches("B2C_1A_Kept", new.outputs["kid"], "new-value")
    live = {k.kid: k.status for k in graph.get_keyset("Kept").keys}
    assert live == {old.outputs["kid"]: "disabled", landed: "disabled", new.outputs["kid"]: "enabled"}


# --- B03 / B15: two stacks writing keys into one set ------------------------------------------------------------


@pytest.fixture
def shared(hosts: Hosts) -> tuple[ProviderHost, ProviderHost, State]:
    """Stack A and stack B, each its own process, and B's key in the set they share (same use and dates as A's)."""
    a, b = hosts(), hosts()
    b.up(KeySetProvider(), "set", {"name": "Shared"})
    theirs = b.up(SecretKeyProvider(), "theirs", secret("Shared", "value-of-b", **DATES))
    return a, b, theirs


def test_b03_a_lost_upload_never_adopts_the_other_stacks_key(
    shared: tuple[ProviderHost, ProviderHost, State], emulator: Emulator
) -> None:
    a, _, theirs = shared
    emulator.add_fault(method="POST", path_regex=UPLOAD, kind="drop_before", count=1)
    mine = a.up(SecretKeyProvider(), "mine", secret("Shared", "value-of-a", **DATES))
    assert mine.outputs["kid"] != theirs.outputs["kid"], "stack A adopted stack B's key"
    assert emulator.secret_matches("B2C_1A_Shared", mine.outputs["kid"], "value-of-a")
    assert emulator.secret_matches("B2C_1A_Shared", theirs.outputs["kid"], "value-of-b")


def test_b03_a_lost_answer_names_only_the_new_key_and_converges_after_the_recovery(
    shared: tuple[ProviderHost, ProviderHost, State], emulator: Emulator, graph: Any
) -> None:
    a, b, theirs = shared
    emulator.add_fault(method="POST", path_regex=UPLOAD, kind="drop_after", count=1)
    with pytest.raises(ProviderError) as failed:
        a.up(SecretKeyProvider(), "mine", secret("Shared", "value-of-a", **DATES))
    assert theirs.outputs["kid"] not in failed.value.details, "the other stack's key was offered as a candidate"
    assert "b2c-keys untracked" in failed.value.details
    assert "value-of-a" not in failed.value.details + a.output.text  # the refusal never carries the secret
    retire_named(graph, "B2C_1A_Shared", failed.value.details)
    mine = a.up(SecretKeyProvider(), "mine", secret("Shared", "value-of-a", **DATES))
    assert emulator.secret_matches("B2C_1A_Shared", mine.outputs["kid"], "value-of-a")
    b.destroy(theirs)  # B's destroy disables B's key, never A's
    assert graph.get_keyset("Shared").key(mine.outputs["kid"]).status == "enabled"


def test_b15_concurrent_writes_of_two_stacks_with_lost_requests_never_swap_keys(
    hosts: Hosts, emulator: Emulator, graph: Any
) -> None:
    """Two hosts upload at once, without dates (both get the same not-before second): one request is lost before
    the service, one answer after. Whatever interleaving happens, no state holds a key it did not make."""
    a, b = hosts(), hosts()
    a.up(KeySetProvider(), "set", {"name": "Race"})
    tracked: set[str] = set()
    for round_ in range(3):
        emulator.add_fault(method="POST", path_regex=UPLOAD, kind="drop_before", count=1)
        emulator.add_fault(method="POST", path_regex=UPLOAD, kind="drop_after", count=1)
        tracked |= _race(emulator, graph, {a: f"a-{round_}", b: f"b-{round_}"}, f"k{round_}", tracked)


def _race(emulator: Emulator, graph: Any, values: dict[ProviderHost, str], name: str, earlier: set[str]) -> set[str]:
    """One round; the kids its states track (``earlier``: those of the rounds before, still enabled)."""
    barrier = threading.Barrier(len(values))

    def up(host: ProviderHost) -> State | ProviderError:
        barrier.wait()
        try:
            return host.up(SecretKeyProvider(), name, secret("Race", values[host]))
        except ProviderError as failed:
            return failed

    with ThreadPoolExecutor(len(values)) as pool:
        outcomes = dict(zip(values, pool.map(up, values), strict=True))
    states = {host: o for host, o in outcomes.items() if isinstance(o, State)}
    assert len({s.outputs["kid"] for s in states.values()}) == len(states), "two states track one key"
    for host, state in states.items():
        assert emulator.secret_matches("B2C_1A_Race", state.outputs["kid"], values[host]), "a key was swapped"
    tracked = {s.outputs["kid"] for s in states.values()}
    untracked = {k.kid for k in graph.get_keyset("Race").keys if k.status == "enabled"} - tracked - earlier
    named = " ".join(o.details for o in outcomes.values() if isinstance(o, ProviderError))
    assert all(kid in named for kid in untracked), "an untracked key was left without being named"
    for kid in untracked:  # the recovery, so the next round starts with only tracked keys enabled
        graph.set_key_status("B2C_1A_Race", kid, "disabled")
    return tracked


# --- B04 / B12: uncertain creates and the advice that follows them ----------------------------------------------


def test_b04_the_timeout_advice_leads_to_one_enabled_key_not_a_duplicate(
    hosts: Hosts, emulator: Emulator, graph: Any
) -> None:
    host = hosts(**{"b2c:requestTimeout": "0.5"})
    host.up(KeySetProvider(), "set", {"name": "Late"})
    emulator.add_fault(method="POST", path_regex=UPLOAD, kind="latency", latency_ms=2500, count=1)
    with pytest.raises(ProviderError) as failed:
        host.up(SecretKeyProvider(), "k", secret("Late", "late-value"))
    advice = failed.value.details
    assert "refresh, then" not in advice and "`pulumi refresh`, then `pulumi up`" not in advice
    assert "b2c-keys untracked" in advice and "b2c-keys disable B2C_1A_Late <kid>" in advice
    wait_until(lambda: bool(graph.get_keyset("Late").keys), "the late upload to land")
    (late,) = graph.get_keyset("Late").keys
    graph.set_key_status("B2C_1A_Late", late.kid, "disabled")  # following the advice: retire the untracked key
    state = host.up(SecretKeyProvider(), "k", secret("Late", "late-value"))
    enabled = [k.kid for k in graph.get_keyset("Late").keys if k.status == "enabled"]
    assert enabled == [state.outputs["kid"]]


def test_b04_a_certificate_upload_that_timed_out_is_recognised_by_its_thumbprint_next_time(
    hosts: Hosts, emulator: Emulator, graph: Any, material: Material
) -> None:
    host = hosts(**{"b2c:requestTimeout": "0.5"})
    host.up(KeySetProvider(), "set", {"name": "LateCert"})
    emulator.add_fault(method="POST", path_regex=r"/uploadCertificate$", kind="latency", latency_ms=2500, count=1)
    news = {"keyset_id": "LateCert", "certificate": material.pem}
    with pytest.raises(ProviderError):
        host.up(CertificateKeyProvider(), "c", news)
    wait_until(lambda: bool(graph.get_keyset("LateCert").keys), "the late upload to land")
    state = hosts().up(CertificateKeyProvider(), "c", news)  # the next `pulumi up`
    assert [k.kid for k in graph.get_keyset("LateCert").keys] == [state.outputs["kid"]]
    assert uploads(emulator, "uploadCertificate") == 1


def test_b12_a_lost_answer_and_a_failed_read_do_not_upload_again_and_say_what_to_do(
    hosts: Hosts, emulator: Emulator, graph: Any
) -> None:
    host = hosts(**{"b2c:retryTimeout": "1"})
    host.up(KeySetProvider(), "set", {"name": "Unread"})
    slow = emulator.add_fault(method="POST", path_regex=UPLOAD, kind="latency", latency_ms=800, count=1)
    emulator.add_fault(method="POST", path_regex=UPLOAD, kind="drop_after", count=1)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(host.up, SecretKeyProvider(), "k", secret("Unread", "unread-value"))
        wait_until(fault_taken(emulator, slow), "the upload to reach the emulator")
        # The read that would tell whether the upload landed fails past the retry budget.
        emulator.add_fault(method="GET", path_regex=r"/keySets/B2C_1A_Unread$", kind="status", status=503)
        with pytest.raises(ProviderError) as failed:
            pending.result()
    emulator.clear_faults()
    assert uploads(emulator) == 1
    assert "b2c-keys untracked" in failed.value.details and "b2c-keys disable B2C_1A_Unread" in failed.value.details
    (landed,) = graph.get_keyset("Unread").keys
    graph.set_key_status("B2C_1A_Unread", landed.kid, "disabled")  # the advice
    state = host.up(SecretKeyProvider(), "k", secret("Unread", "unread-value"))
    assert [k.kid for k in graph.get_keyset("Unread").keys if k.status == "enabled"] == [state.outputs["kid"]]


# --- B09: a key set create whose request was lost ---------------------------------------------------------------


def test_b09_a_lost_key_set_create_never_adopts_another_stacks_empty_set(
    hosts: Hosts, emulator: Emulator, graph: Any
) -> None:
    theirs = hosts().up(KeySetProvider(), "set", {"name": "Taken"})  # another stack's set, still empty
    emulator.add_fault(method="POST", path_regex=r"/trustFramework/keySets$", kind="drop_before", count=1)
    with pytest.raises(ProviderError) as failed:
        hosts().up(KeySetProvider(), "set", {"name": "Taken"})
    assert "B2C_1A_Taken already exists" in failed.value.details and "adopt_existing" in failed.value.details
    assert graph.get_keyset("Taken").id == theirs.id


def test_b09_a_lost_key_set_create_adopts_the_set_it_provably_made(hosts: Hosts, emulator: Emulator) -> None:
    emulator.add_fault(method="POST", path_regex=r"/trustFramework/keySets$", kind="drop_after", count=1)
    state = hosts().up(KeySetProvider(), "set", {"name": "Mine"})  # absent just before, empty after: this one's
    assert state.id == "B2C_1A_Mine" and state.outputs["keys"] == []


def test_b09_a_set_someone_filled_while_the_create_was_lost_is_refused(
    hosts: Hosts, emulator: Emulator, graph: Any
) -> None:
    """Absent just before, yet holding a key after the lost create: another admin or stack made it meanwhile."""
    create = r"/trustFramework/keySets$"
    slow = emulator.add_fault(method="POST", path_regex=create, kind="latency", latency_ms=800, count=1)
    emulator.add_fault(method="POST", path_regex=create, kind="drop_before", count=1)  # met by the same request
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(hosts().up, KeySetProvider(), "set", {"name": "Raced"})
        wait_until(fault_taken(emulator, slow), "the create to reach the emulator")
        graph.create_keyset("Raced")
        graph.upload_secret("Raced", use="sig", value="someone-elses-value")
        with pytest.raises(ProviderError) as failed:
            pending.result()
    assert "did not exist just before" in failed.value.details and "not adopted" in failed.value.details
    assert len(graph.get_keyset("Raced").keys) == 1
