"""The admin API: health, request log (never secret), faults of each kind, reset, clients, federation, secrets."""

from __future__ import annotations

import json

import msal
import pytest
import requests

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.emulator.routes import _is_loopback

from .helpers import GRAPH_SCOPE, KEYSETS, bearer, msal_app, secret_grant, token_with_secret


@pytest.fixture
def graph(emulator: Emulator, emulator_session: requests.Session) -> requests.Session:
    """A session already carrying a read-write token; the log is cleared after getting it."""
    emulator_session.headers.update(bearer(token_with_secret(emulator)))
    emulator.clear_requests()
    return emulator_session


def test_health_names_the_tenant_and_urls(emulator: Emulator, emulator_session: requests.Session) -> None:
    health = emulator_session.get(f"{emulator.admin_url}/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["tenant_id"] == emulator.tenant_id
    assert health.json()["graph_url"] == emulator.graph_url


def test_the_request_log_records_token_and_graph_requests_in_order(
    emulator: Emulator, emulator_session: requests.Session
) -> None:
    token = token_with_secret(emulator)
    emulator_session.get(emulator.graph_url + KEYSETS + "?$top=5", headers=bearer(token))
    log = emulator_session.get(f"{emulator.admin_url}/requests").json()["value"]
    assert [(entry["method"], entry["status"]) for entry in log] == [("GET", 200), ("POST", 200), ("GET", 200)]
    assert log[1]["path"] == f"/{emulator.tenant_id}/oauth2/v2.0/token"
    assert log[2]["path"] == KEYSETS
    assert set(log[2]) == {"method", "path", "status", "duration_ms"}
    assert emulator_session.delete(f"{emulator.admin_url}/requests").status_code == 204
    assert emulator.requests_log() == []


def test_the_request_log_never_holds_secret_material(emulator: Emulator, emulator_session: requests.Session) -> None:
    token = token_with_secret(emulator)
    msal_app(emulator, "a-wrong-secret-value").acquire_token_for_client([GRAPH_SCOPE])
    emulator_session.post(emulator.graph_url + KEYSETS, json={"id": "logged"}, headers=bearer(token))
    secret_value = "uploaded-secret-value-4711"
    emulator_session.post(
        f"{emulator.graph_url}{KEYSETS}/B2C_1A_logged/uploadSecret?k={secret_value}",
        json={"use": "sig", "k": secret_value},
        headers=bearer(token),
    )
    dumped = json.dumps(emulator_session.get(f"{emulator.admin_url}/requests").json())
    assert "uploadSecret" in dumped
    for secret in (emulator.client_secret, "a-wrong-secret-value", token, secret_value, token.split(".")[2]):
        assert secret not in dumped


def test_a_status_fault_answers_with_the_envelope_and_retry_after_count_times(
    emulator: Emulator, graph: requests.Session
) -> None:
    fault = graph.post(
        f"{emulator.admin_url}/faults",
        json={"method": "GET", "path_regex": "keySets$", "kind": "status", "status": 429, "retry_after": 3, "count": 1},
    )
    assert fault.status_code == 201
    throttled = graph.get(emulator.graph_url + KEYSETS)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "3"
    assert throttled.json()["error"]["code"] == "AADB2C95043"
    assert throttled.headers["request-id"] == throttled.json()["error"]["innerError"]["request-id"]
    assert graph.get(emulator.graph_url + KEYSETS).status_code == 200
    assert [entry["status"] for entry in emulator.requests_log()] == [429, 200]


def test_a_graph_throttle_fault_answers_as_the_graph_gateway(emulator: Emulator, graph: requests.Session) -> None:
    """Doc (Microsoft Graph throttling guidance): TooManyRequests, innerError code/status "429", fractional
    Retry-After; a Graph-level error, so no correlationId."""
    emulator.add_fault(method="GET", path_regex="keySets$", kind="graph_throttle", retry_after=2.128, count=1)
    throttled = graph.get(emulator.graph_url + KEYSETS, headers={"client-request-id": "throttle-1"})
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2.128"
    error = throttled.json()["error"]
    assert (error["code"], error["message"]) == ("TooManyRequests", "Please retry again later.")
    inner = error["innerError"]
    assert (inner["code"], inner["status"], inner["client-request-id"]) == ("429", "429", "throttle-1")
    assert inner["request-id"] == throttled.headers["request-id"] and "correlationId" not in inner
    assert graph.get(emulator.graph_url + KEYSETS).status_code == 200


@pytest.mark.parametrize("retry_after", [-1, "2", True, float("inf")])
def test_a_fault_with_a_bad_retry_after_is_refused(emulator: Emulator, retry_after: object) -> None:
    with pytest.raises(ValueError, match="retry_after"):
        emulator.add_fault(path_regex="x", kind="graph_throttle", retry_after=retry_after)


def test_a_fault_matches_only_its_method_and_path(emulator: Emulator, graph: requests.Session) -> None:
    emulator.add_fault(method="POST", path_regex="uploadSecret$", kind="status", status=500)
    assert graph.get(emulator.graph_url + KEYSETS).status_code == 200
    assert graph.post(emulator.graph_url + KEYSETS, json={"id": "f"}).status_code == 201
    failed = graph.post(f"{emulator.graph_url}{KEYSETS}/B2C_1A_f/uploadSecret", json={"use": "sig", "k": "v"})
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "AADB2C90063"
    assert emulator.list_faults()[0]["hits"] == 1


def test_drop_before_loses_the_request(emulator: Emulator, graph: requests.Session) -> None:
    emulator.add_fault(method="POST", path_regex="keySets$", kind="drop_before", count=1)
    with pytest.raises(requests.ConnectionError):
        graph.post(emulator.graph_url + KEYSETS, json={"id": "lost"})
    assert graph.get(emulator.graph_url + KEYSETS).json()["value"] == []
    assert emulator.requests_log()[0]["status"] == 0


def test_drop_after_does_the_work_and_loses_the_answer(emulator: Emulator, graph: requests.Session) -> None:
    emulator.add_fault(method="POST", path_regex="keySets$", kind="drop_after", count=1)
    with pytest.raises(requests.ConnectionError):
        graph.post(emulator.graph_url + KEYSETS, json={"id": "done"})
    assert [keyset["id"] for keyset in graph.get(emulator.graph_url + KEYSETS).json()["value"]] == ["B2C_1A_done"]


def test_a_latency_fault_delays_then_proceeds(emulator: Emulator, graph: requests.Session) -> None:
    emulator.add_fault(path_regex="keySets$", kind="latency", latency_ms=50, count=1)
    assert graph.get(emulator.graph_url + KEYSETS).status_code == 200
    assert emulator.requests_log()[0]["duration_ms"] >= 50  # a lower bound the sleep guarantees, not a timing
    assert emulator.list_faults() == []


def test_faults_reach_the_token_endpoint_in_the_aad_shape(
    emulator: Emulator, emulator_session: requests.Session
) -> None:
    emulator.add_fault(path_regex="/oauth2/v2.0/token$", kind="status", status=429, retry_after=2, count=1)
    throttled = emulator_session.post(
        f"{emulator.authority_host}/{emulator.tenant_id}/oauth2/v2.0/token",
        data=secret_grant(emulator.client_id, emulator.client_secret),
    )
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    assert throttled.json()["error"] == "temporarily_unavailable"
    assert throttled.json()["error_description"].startswith("AADSTS")
    emulator.add_fault(path_regex="/oauth2/v2.0/token$", kind="status", status=503, count=1)
    with pytest.raises(msal.exceptions.MsalServiceError, match="503"):  # msal raises on a 5xx token answer
        msal_app(emulator, emulator.client_secret).acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" in msal_app(emulator, emulator.client_secret).acquire_token_for_client([GRAPH_SCOPE])


def test_faults_can_be_listed_and_cleared(emulator: Emulator, emulator_session: requests.Session) -> None:
    emulator.add_fault(path_regex=".", kind="status", status=500)
    assert len(emulator_session.get(f"{emulator.admin_url}/faults").json()["value"]) == 1
    assert emulator_session.delete(f"{emulator.admin_url}/faults").status_code == 204
    assert emulator.list_faults() == []


@pytest.mark.parametrize(
    "spec",
    [
        {"path_regex": "x", "kind": "explode"},
        {"path_regex": "(", "kind": "status"},
        {"path_regex": "x", "kind": "status", "status": 200},
        {"path_regex": "x", "kind": "status", "count": 0},
    ],
)
def test_an_invalid_fault_is_a_400(
    emulator: Emulator, emulator_session: requests.Session, spec: dict[str, object]
) -> None:
    answer = emulator_session.post(f"{emulator.admin_url}/faults", json=spec)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"


def test_reset_empties_the_tenant(emulator: Emulator, graph: requests.Session) -> None:
    graph.post(emulator.graph_url + KEYSETS, json={"id": "gone"})
    assert graph.post(f"{emulator.admin_url}/reset").status_code == 204
    assert graph.get(emulator.graph_url + KEYSETS).json()["value"] == []


def test_clients_can_be_registered_through_the_admin_api(
    emulator: Emulator, emulator_session: requests.Session
) -> None:
    client_id = "b2c00000-0000-4000-8000-0000000000d1"
    answer = emulator_session.post(
        f"{emulator.admin_url}/clients",
        json={"client_id": client_id, "secret": "registered-secret", "roles": ["TrustFrameworkKeySet.Read.All"]},
    )
    assert answer.status_code == 201
    assert answer.json() == {"client_id": client_id, "roles": ["TrustFrameworkKeySet.Read.All"]}
    assert token_with_secret(emulator, client_id, "registered-secret")
    refused = emulator_session.post(f"{emulator.admin_url}/clients", json={"client_id": "x", "roles": ["Admin"]})
    assert refused.status_code == 400


def test_a_federated_token_can_be_minted_through_the_admin_api(
    emulator: Emulator, emulator_session: requests.Session
) -> None:
    answer = emulator_session.post(f"{emulator.admin_url}/federated-token", json={"subject": "system:serviceaccount:a"})
    assert answer.status_code == 200
    assertion = answer.json()["token"]
    result = msal_app(emulator, {"client_assertion": lambda: assertion}).acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" in result, result


def test_secret_check_compares_without_revealing(emulator: Emulator, graph: requests.Session) -> None:
    graph.post(emulator.graph_url + KEYSETS, json={"id": "s"})
    kid = graph.post(f"{emulator.graph_url}{KEYSETS}/B2C_1A_s/uploadSecret", json={"use": "sig", "k": "v1"}).json()[
        "kid"
    ]
    check = f"{emulator.admin_url}/secret-check"
    assert graph.post(check, json={"keyset_id": "B2C_1A_s", "kid": kid, "value": "v1"}).json() == {"matches": True}
    assert graph.post(check, json={"keyset_id": "B2C_1A_s", "kid": kid, "value": "v2"}).json() == {"matches": False}
    assert emulator.secret_matches("B2C_1A_s", kid, "v1")
    assert graph.post(check, json={"keyset_id": "B2C_1A_s"}).status_code == 400


def test_unknown_admin_routes_are_404(emulator: Emulator, emulator_session: requests.Session) -> None:
    assert emulator_session.get(f"{emulator.admin_url}/nothing").status_code == 404


def test_only_loopback_addresses_count_as_local() -> None:
    """A non-loopback client cannot be produced against a loopback-bound emulator: the check is unit-tested."""
    assert _is_loopback("127.0.0.1")
    assert _is_loopback("::1")
    assert _is_loopback("::ffff:127.0.0.1")
    assert not _is_loopback("10.1.2.3")
    assert not _is_loopback("::ffff:10.1.2.3")
    assert not _is_loopback("not-an-address")
