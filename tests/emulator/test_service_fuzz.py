"""Property: whatever JSON a caller sends to whatever route, the Graph semantics answer a Graph error, never crash."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b2c_policy_keys.emulator.envelope import RequestIds
from b2c_policy_keys.emulator.principal import READ_WRITE_ROLE, Principal
from b2c_policy_keys.emulator.service import GraphService
from b2c_policy_keys.emulator.store import Store

WRITER = Principal("writer", frozenset({READ_WRITE_ROLE}))
SET = "/beta/trustFramework/keySets/B2C_1A_fuzz"
ROUTES = [
    ("POST", "/beta/trustFramework/keySets"),
    ("PUT", SET),
    ("POST", f"{SET}/uploadSecret"),
    ("POST", f"{SET}/uploadCertificate"),
    ("POST", f"{SET}/uploadPkcs12"),
    ("PATCH", f"{SET}/keys_v2/nokid"),
]
FIELDS = ["id", "keys", "use", "kty", "k", "n", "e", "nbf", "exp", "kid", "key", "password", "status", "@odata.type"]
scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4),
    max_leaves=8,
)
bodies = st.dictionaries(st.sampled_from(FIELDS), values, max_size=6)

_SERVICE = GraphService(Store.open(None), tenant_id="t", graph_url="https://graph.test")
_SERVICE.handle("POST", "/beta/trustFramework/keySets", "", b'{"id": "fuzz"}', WRITER, RequestIds.for_request(None))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(route=st.sampled_from(ROUTES), body=bodies)
def test_any_body_gets_a_graph_answer(route: tuple[str, str], body: dict[str, Any]) -> None:
    method, path = route
    data = json.dumps(body, allow_nan=True).encode()
    reply = _SERVICE.handle(method, path, "", data, WRITER, RequestIds.for_request(None))
    assert 200 <= reply.status < 500
    if reply.status >= 400:
        assert reply.body is not None and reply.body["error"]["code"]


@settings(max_examples=200, deadline=None)
@given(path=st.text(alphabet="/abcdeKSt()'%27._-B2C1A", max_size=60))
def test_any_path_gets_a_graph_answer(path: str) -> None:
    reply = _SERVICE.handle("GET", "/beta/" + path, "", b"", WRITER, RequestIds.for_request(None))
    assert 200 <= reply.status < 500


moments = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    action=st.sampled_from(["uploadSecret", "generateKey"]),
    use=st.sampled_from(["sig", "enc"]),
    nbf=moments,
    exp=moments,
)
def test_any_validity_gets_a_graph_answer(action: str, use: str, nbf: object, exp: object) -> None:
    """Past the required fields, every nbf/exp (NaN, infinities, huge, negative, text) is judged, not crashed on."""
    body = {"use": use, "kty": "oct", "k": "v", "nbf": nbf, "exp": exp}
    data = json.dumps(body, allow_nan=True).encode()
    reply = _SERVICE.handle("POST", f"{SET}/{action}", "", data, WRITER, RequestIds.for_request(None))
    assert reply.status in (200, 400, 409)
