"""TLS is verified against the configured CA only, whatever the environment says; every request is well dressed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from b2c_policy_keys import __version__
from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.errors import TransportError
from b2c_policy_keys.graph import GraphClient
from b2c_policy_keys.graph.transport import Transport

from .support import emulator_settings

SYSTEM_BUNDLE = requests.certs.where()


def test_a_wrong_ca_fails_clearly_on_the_token_request(emulator: Emulator, emulator_factory: Any) -> None:
    other = emulator_factory()  # its own CA, which did not sign this emulator's certificate
    settings = emulator_settings(emulator, **{"b2c:caBundle": other.ca_bundle})
    with pytest.raises(TransportError) as caught:
        GraphClient(settings).list_keysets()
    message = str(caught.value)
    assert "TLS verification" in message and "certificate verify failed" in message
    assert "b2c:caBundle" in message and other.ca_bundle in message
    assert emulator.requests_log() == []  # the handshake failed: nothing reached the emulator


def test_a_wrong_ca_fails_clearly_on_a_graph_request(emulator: Emulator, emulator_factory: Any) -> None:
    good = Transport(emulator_settings(emulator))
    good.tokens.token()  # a valid token, fetched over a correctly verified connection
    wrong = emulator_settings(emulator, **{"b2c:caBundle": emulator_factory().ca_bundle})
    client = GraphClient(wrong, Transport(wrong, tokens=good.tokens))
    with pytest.raises(TransportError, match=r"TLS verification .* b2c:caBundle"):
        client.get_keyset("anything")


def test_the_configured_ca_wins_over_requests_environment_variables(
    emulator: Emulator, emulator_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pointing the environment at a bundle without the emulator's CA must not break a correctly configured client...
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)
    monkeypatch.setenv("CURL_CA_BUNDLE", SYSTEM_BUNDLE)
    assert GraphClient(emulator_settings(emulator)).create_keyset("env-ca").id == "B2C_1A_env-ca"
    # ...and pointing it at the right CA must not rescue a wrongly configured one.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_bundle)
    monkeypatch.setenv("CURL_CA_BUNDLE", emulator.ca_bundle)
    wrong = emulator_settings(emulator, **{"b2c:caBundle": emulator_factory().ca_bundle})
    with pytest.raises(TransportError, match="b2c:caBundle"):
        GraphClient(wrong).list_keysets()


def test_without_a_configured_ca_the_environment_bundle_is_used(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_bundle)
    settings = emulator_settings(emulator, **{"b2c:caBundle": None})
    assert GraphClient(settings).list_keysets() == []


class RecordingAdapter(HTTPAdapter):
    """The real adapter, recording what each request carried: observation at requests' own seam, not a fake."""

    def __init__(self) -> None:
        super().__init__(pool_maxsize=8, max_retries=0)
        self.sent: list[tuple[Mapping[str, str], Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append((dict(request.headers), kwargs.get("verify")))
        return super().send(request, **kwargs)


def test_every_request_carries_user_agent_fresh_ids_timeouts_and_the_ca(emulator: Emulator) -> None:
    adapter = RecordingAdapter()
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", adapter)
    settings = emulator_settings(emulator)
    client = GraphClient(settings, Transport(settings, session=session))
    client.create_keyset("dressed")
    client.get_keyset("dressed")
    client.get_keyset("dressed")
    graph = [(h, v) for h, v in adapter.sent if "client-request-id" in h and h.get("Authorization", "")]
    assert len(graph) == 3
    assert all(h["User-Agent"] == f"b2c-policy-keys/{__version__}" for h, _ in graph)
    assert len({h["client-request-id"] for h, _ in graph}) == 3
    assert all(v == emulator.ca_bundle for _, v in adapter.sent)  # token and discovery requests too
    assert len(adapter.sent) > len(graph)  # msal's requests went through the same session
