"""OAuth2 against the emulator through msal and raw requests: every credential kind, every refusal shape."""

from __future__ import annotations

import requests

from b2c_policy_keys.emulator import Emulator

from .helpers import GRAPH_SCOPE, KEYSETS, bearer, msal_app, token_with_secret


def test_msal_gets_a_token_with_the_default_client_secret(
    emulator: Emulator, emulator_session: requests.Session
) -> None:
    token = token_with_secret(emulator)
    answer = emulator_session.get(emulator.graph_url + KEYSETS, headers=bearer(token))
    assert answer.status_code == 200
    assert answer.json()["value"] == []
    assert answer.headers["request-id"]


def test_a_wrong_secret_is_invalid_client_401(emulator: Emulator) -> None:
    result = msal_app(emulator, "not-the-secret").acquire_token_for_client([GRAPH_SCOPE])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215:")
    assert "not-the-secret" not in str(result)


def test_a_graph_call_without_a_token_is_refused(emulator: Emulator, emulator_session: requests.Session) -> None:
    answer = emulator_session.get(emulator.graph_url + KEYSETS)
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["message"] == "Access token is empty."
    assert error["innerError"]["request-id"] == answer.headers["request-id"]
