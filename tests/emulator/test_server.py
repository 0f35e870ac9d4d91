"""The transport: keep-alive, connections served in parallel, Graph headers, and a stop that never hangs."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from typing import Any

import pytest
import requests

from b2c_policy_keys.emulator import Emulator

from .helpers import KEYSETS, bearer, session_for, token_with_secret


def _connection(emu: Emulator) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cafile=emu.ca_bundle)
    return http.client.HTTPSConnection("127.0.0.1", emu.port, context=context, timeout=30)


def test_one_connection_carries_many_requests(emulator: Emulator) -> None:
    connection = _connection(emulator)
    connection.connect()
    first_socket = connection.sock
    for _ in range(3):
        connection.request("GET", "/_emulator/health")
        response = connection.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["status"] == "ok"
    assert connection.sock is first_socket
    connection.close()


def test_a_half_sent_request_does_not_block_other_connections(emulator: Emulator) -> None:
    """Thread per connection: a client stuck mid-headers holds only its own thread."""
    slow = _connection(emulator)
    slow.connect()
    assert slow.sock is not None
    slow.sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    assert session_for(emulator).get(f"{emulator.admin_url}/health").status_code == 200
    slow.close()


def test_stop_returns_with_idle_keep_alive_connections_open() -> None:
    emu = Emulator().start()
    idle = [_connection(emu) for _ in range(3)]
    for connection in idle:
        connection.request("GET", "/_emulator/health")
        connection.getresponse().read()
    emu.stop()  # pytest-timeout turns a hang into a failure
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        idle[0].request("GET", "/_emulator/health")
        idle[0].getresponse()
    assert not emu.running


def test_graph_answers_carry_request_ids_and_json(emulator: Emulator, emulator_session: requests.Session) -> None:
    token = token_with_secret(emulator)
    answer = emulator_session.get(
        emulator.graph_url + KEYSETS, headers=bearer(token) | {"client-request-id": "caller-chosen-id"}
    )
    assert answer.headers["client-request-id"] == "caller-chosen-id"
    assert answer.headers["request-id"]
    assert answer.headers["Content-Type"].startswith("application/json")


def test_v1_0_is_routed_to_graph_semantics(emulator: Emulator, emulator_session: requests.Session) -> None:
    answer = emulator_session.get(
        emulator.graph_url + "/v1.0/trustFramework/keySets", headers=bearer(token_with_secret(emulator))
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    assert answer.headers["request-id"]


def test_an_unknown_route_is_a_404_envelope(emulator: Emulator, emulator_session: requests.Session) -> None:
    answer = emulator_session.get(emulator.graph_url + "/nowhere")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "UnknownRoute"


def test_parallel_clients_are_all_answered(emulator: Emulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    token = token_with_secret(emulator)

    def list_keysets(_: int) -> int:
        with session_for(emulator) as session:
            return session.get(emulator.graph_url + KEYSETS, headers=bearer(token)).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(list_keysets, range(40))) == {200}


def test_a_port_in_use_fails_at_start_not_later(emulator: Emulator) -> None:
    with pytest.raises(OSError):
        Emulator(port=emulator.port).start()


def test_start_binds_before_returning() -> None:
    emu = Emulator()
    emu.start()
    try:
        with socket.create_connection(("127.0.0.1", emu.port), timeout=5):
            pass
    finally:
        emu.stop()


def test_a_chunked_body_is_read_whole_and_the_connection_stays_usable(emulator: Emulator) -> None:
    token = token_with_secret(emulator)
    with session_for(emulator) as session:
        chunked = session.post(
            emulator.graph_url + KEYSETS,
            data=iter([b'{"id": ', b'"chunked"}']),  # a generator body is sent chunked
            headers=bearer(token) | {"Content-Type": "application/json"},
        )
        assert chunked.status_code == 201
        assert chunked.json()["id"] == "B2C_1A_chunked"
        assert session.get(emulator.graph_url + KEYSETS, headers=bearer(token)).status_code == 200


def test_ipv6_loopback_is_served_when_available(emulator_factory: Any) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        emu = emulator_factory(host="::1")
    except OSError:
        pytest.skip("::1 cannot be bound here")
    assert emu.graph_url == f"https://[::1]:{emu.port}"
    assert session_for(emu).get(f"{emu.admin_url}/health").status_code == 200


def test_latency_ms_slows_graph_requests_only(emulator_factory: Any) -> None:
    emu = emulator_factory(latency_ms=40)
    token = token_with_secret(emu)
    assert session_for(emu).get(emu.graph_url + KEYSETS, headers=bearer(token)).status_code == 200
    token_entry, graph_entry = emu.requests_log()[-2:]
    assert graph_entry["path"] == KEYSETS
    assert graph_entry["duration_ms"] >= 40  # a lower bound the service's sleep guarantees, not a timing
    assert token_entry["path"].endswith("/token")
