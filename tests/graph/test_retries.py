"""Each retry rule, produced by the emulator's fault injection over real HTTPS."""

from __future__ import annotations

import pytest

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.errors import OutcomeUnknownError, ThrottledError, TransportError
from b2c_policy_keys.graph.retry import BACKOFF_BASE, MAX_CONNECTION_ATTEMPTS, MIN_WAIT
from b2c_policy_keys.graph.transport import Transport

from .support import closed_port, emulator_settings, graph_requests, recorded_client, token_requests

KEYSETS = r"^/beta/trustFramework/keySets$"


def test_429_with_retry_after_is_honoured(emulator: Emulator) -> None:
    client, sleeps = recorded_client(emulator_settings(emulator))
    emulator.add_fault(method="GET", path_regex=KEYSETS, kind="status", status=429, retry_after=1, count=1)
    assert client.list_keysets() == []
    assert sleeps.delays == [1.0]
    assert graph_requests(emulator, "GET", "/keySets") == 2


def test_graph_gateway_throttling_with_a_fractional_retry_after_is_honoured(emulator: Emulator) -> None:
    client, sleeps = recorded_client(emulator_settings(emulator))
    emulator.add_fault(method="GET", path_regex=KEYSETS, kind="graph_throttle", retry_after=0.25, count=1)
    assert client.list_keysets() == []
    assert sleeps.delays == [0.25]
    assert graph_requests(emulator, "GET", "/keySets") == 2


def test_graph_gateway_throttling_beyond_the_budget_raises_throttled(emulator: Emulator) -> None:
    client, sleeps = recorded_client(emulator_settings(emulator, **{"b2c:retryTimeout": "1.5"}))
    emulator.add_fault(method="GET", path_regex=KEYSETS, kind="graph_throttle", retry_after=0.5)
    with pytest.raises(ThrottledError) as caught:
        client.list_keysets()
    assert (caught.value.status, caught.value.code) == (429, "TooManyRequests")
    assert sleeps.delays == [0.5, 0.5]  # a third wait would end past the 1.5 s budget


def test_a_zero_retry_after_still_waits_a_little(emulator: Emulator) -> None:
    client, sleeps = recorded_client(emulator_settings(emulator))
    emulator.add_fault(method="GET", path_regex=KEYSETS, kind="status", status=429, retry_after=0, count=1)
    assert client.list_keysets() == []
    assert sleeps.delays == [MIN_WAIT]


def test_429_without_retry_after_backs_off_with_jitter(emulator: Emulator) -> None:
    client, sleeps = recorded_client(emulator_settings(emulator))
    emulator.add_fault(method="GET", path_regex=KEYSETS, kind="status", status=429, count=2)
    assert client.list_keysets() == []
    assert len(sleeps.delays) == 2
    assert MIN_WAIT <= sleeps.delays[0] <= BACKOFF_BASE and MIN_WAIT <= sleeps.delays[1] <= 2 * BACKOFF_BASE
    assert graph_requests(emulator, "GET", "/keySets") == 3


@pytest.mark.parametrize(("status", "code"), [(503, None), (504, None), (400, "AADB2C90229"), (500, "AADB2C90063")])
def test_transient_statuses_and_codes_are_retried(emulator: Emulator, status: int, code: str | None) -> None:
    client, sleeps = recorded_client(emulator_settings(emulator))
    fault = {"code": code} if code else {}
    emulator.add_fault(method="GET", path_regex=KEYSETS, kind="status", status=status, count=1, **fault)
    assert client.list_keysets() == []
    assert len(sleeps.delays) == 1


def test_concurrent_write_conflict_on_a_post_is_retried_and_adds_one_key(emulator: Emulator) -> None:
    client, sleeps = recorded_client(emulator_settings(emulator))
    client.create_keyset("conflict")
    emulator.add_fault(method="POST", path_regex="uploadSecret$", kind="status", status=409, count=1)  # AADB2C95053
    client.upload_secret("conflict", use="sig", value="conflict-value")
    assert len(sleeps.delays) == 1
    assert len(client.get_keyset("conflict").keys) == 1
    assert graph_requests(emulator, "POST", "/uploadSecret") == 2


def test_throttling_beyond_the_budget_raises_throttled(emulator: Emulator) -> None:
    client, sleeps = recorded_client(emulator_settings(emulator, **{"b2c:retryTimeout": "2.5"}))
    emulator.add_fault(method="GET", path_regex=KEYSETS, kind="status", status=429, retry_after=1)
    with pytest.raises(ThrottledError) as caught:
        client.list_keysets()
    assert caught.value.status == 429 and caught.value.code == "AADB2C95043"
    assert "b2c:retryTimeout" in str(caught.value)
    assert sleeps.delays == [1.0, 1.0]  # a third wait would end past the 2.5 s budget


def test_a_retry_after_longer_than_the_budget_fails_at_once(emulator: Emulator) -> None:
    client, sleeps = recorded_client(emulator_settings(emulator, **{"b2c:retryTimeout": "2"}))
    emulator.add_fault(method="GET", path_regex=KEYSETS, kind="status", status=503, retry_after=30)
    with pytest.raises(ThrottledError):
        client.list_keysets()
    assert sleeps.delays == []
    assert graph_requests(emulator, "GET", "/keySets") == 1


@pytest.mark.parametrize("kind", ["drop_before", "drop_after"])
def test_dropped_connections_on_get_are_retried(emulator: Emulator, kind: str) -> None:
    client, sleeps = recorded_client(emulator_settings(emulator))
    client.create_keyset("dropped")
    emulator.add_fault(method="GET", path_regex="B2C_1A_dropped$", kind=kind, count=2)
    assert client.get_keyset("dropped").id == "B2C_1A_dropped"
    assert len(sleeps.delays) == 2


def test_a_lost_answer_to_a_post_is_outcome_unknown_and_not_retried(emulator: Emulator) -> None:
    client, sleeps = recorded_client(emulator_settings(emulator))
    client.create_keyset("lost")
    emulator.add_fault(method="POST", path_regex="uploadSecret$", kind="drop_after", count=1)
    with pytest.raises(OutcomeUnknownError) as caught:
        client.upload_secret("lost", use="sig", value="lost-answer-value")
    assert "Read the key set" in str(caught.value) and "lost-answer-value" not in str(caught.value)
    assert graph_requests(emulator, "POST", "/uploadSecret") == 1
    assert len(client.get_keyset("lost").keys) == 1  # the work was done exactly once
    assert sleeps.delays == []


def test_a_post_dropped_before_the_work_is_also_outcome_unknown(emulator: Emulator) -> None:
    """From the client's side drop_before looks the same as drop_after: the request left, no answer came."""
    client, _ = recorded_client(emulator_settings(emulator))
    client.create_keyset("dropped-before")
    emulator.add_fault(method="POST", path_regex="generateKey$", kind="drop_before", count=1)
    with pytest.raises(OutcomeUnknownError):
        client.generate_key("dropped-before", use="sig", kty="RSA")
    assert graph_requests(emulator, "POST", "/generateKey") == 1
    assert client.get_keyset("dropped-before").keys == ()


def test_a_read_timeout_on_a_post_is_outcome_unknown(emulator: Emulator) -> None:
    client, _ = recorded_client(emulator_settings(emulator, **{"b2c:requestTimeout": "0.3"}))
    client.create_keyset("slow")
    emulator.add_fault(method="POST", path_regex="generateKey$", kind="latency", latency_ms=1500, count=1)
    with pytest.raises(OutcomeUnknownError, match=r"did not answer within 0\.3 s"):
        client.generate_key("slow", use="sig", kty="RSA")
    assert graph_requests(emulator, "POST", "/generateKey") <= 1


def test_a_read_timeout_on_a_get_is_retried(emulator: Emulator) -> None:
    client, sleeps = recorded_client(emulator_settings(emulator, **{"b2c:requestTimeout": "0.3"}))
    client.create_keyset("slow-get")
    emulator.add_fault(method="GET", path_regex="B2C_1A_slow-get$", kind="latency", latency_ms=1000, count=1)
    assert client.get_keyset("slow-get").id == "B2C_1A_slow-get"
    assert len(sleeps.delays) == 1


def test_a_post_that_never_connected_is_retried_then_reported(emulator: Emulator) -> None:
    live = Transport(emulator_settings(emulator))
    dead = emulator_settings(emulator, **{"b2c:graphUrl": f"https://127.0.0.1:{closed_port()}"})
    client, sleeps = recorded_client(dead, tokens=live.tokens)
    with pytest.raises(TransportError) as caught:
        client.generate_key("nowhere", use="sig", kty="RSA")
    assert not isinstance(caught.value, OutcomeUnknownError)  # provably never left: safe, so it was retried
    assert "could not connect" in str(caught.value)
    assert len(sleeps.delays) == MAX_CONNECTION_ATTEMPTS - 1


def test_a_busy_token_endpoint_is_retried(emulator: Emulator) -> None:
    client, sleeps = recorded_client(emulator_settings(emulator))
    token_path = "/oauth2/v2.0/token$"
    emulator.add_fault(method="POST", path_regex=token_path, kind="status", status=503, retry_after=1, count=1)
    assert client.list_keysets() == []
    assert token_requests(emulator) == 2  # msal replays its cached failure until its own wait passes: no extra calls
    assert sleeps.delays


def test_a_token_endpoint_busy_beyond_the_budget_raises_throttled(emulator: Emulator) -> None:
    client, _ = recorded_client(emulator_settings(emulator, **{"b2c:retryTimeout": "1"}))
    emulator.add_fault(method="POST", path_regex="/oauth2/v2.0/token$", kind="status", status=429)
    with pytest.raises(ThrottledError, match="token endpoint"):
        client.list_keysets()
