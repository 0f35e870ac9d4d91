"""Which lost connections provably never reached the service, and what the user is told: pure classification.

The exceptions are built the way requests raises them; the emulator produces the same conditions end to end in
test_retries.py (closed port, dropped answers, read timeouts).
"""

from __future__ import annotations

import pytest
import requests
import urllib3

from b2c_policy_keys.graph import Settings
from b2c_policy_keys.graph.http import RequestOptions, never_sent, transport_error

SETTINGS = Settings(tenant_id="t", credential_kind="msi", graph_url="https://graph.example", ca_bundle="/x/ca.pem")


def wrapped(reason: Exception) -> requests.ConnectionError:
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/beta", reason))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (requests.exceptions.ConnectTimeout(), True),
        (wrapped(urllib3.exceptions.NewConnectionError(None, "refused")), True),  # type: ignore[arg-type]
        (wrapped(urllib3.exceptions.ConnectTimeoutError()), True),
        (wrapped(urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError())), False),
        (requests.ConnectionError(urllib3.exceptions.ProtocolError("Remote end closed connection")), False),
        (requests.exceptions.ReadTimeout(), False),
        (requests.exceptions.ChunkedEncodingError(), False),
        (requests.exceptions.SSLError(), False),
    ],
)
def test_never_sent(error: requests.RequestException, expected: bool) -> None:
    assert never_sent(error) is expected


def test_tls_failures_name_the_ca_setting() -> None:
    error = requests.exceptions.SSLError(
        "HTTPSConnectionPool: Max retries exceeded (Caused by SSLError(SSLCertVerificationError(1, "
        "'[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
        "self-signed certificate in chain (_ssl.c:1006)')))"
    )
    message = str(transport_error(error, "https://graph.example/beta/x", SETTINGS))
    assert "certificate verify failed: self-signed certificate in chain" in message
    assert "b2c:caBundle" in message and "/x/ca.pem" in message and "graph.example" in message


def test_timeouts_name_the_timeout_setting() -> None:
    message = str(transport_error(requests.exceptions.ReadTimeout(), "https://graph.example/beta", SETTINGS))
    assert "b2c:requestTimeout" in message


def test_request_options_prefer_the_configured_ca_over_the_environment() -> None:
    env = {"REQUESTS_CA_BUNDLE": "/env/ca.pem", "CURL_CA_BUNDLE": "/curl/ca.pem"}
    assert RequestOptions.for_settings(SETTINGS, env).verify == "/x/ca.pem"
    without = Settings(tenant_id="t", credential_kind="msi")
    assert RequestOptions.for_settings(without, env).verify == "/env/ca.pem"
    assert RequestOptions.for_settings(without, {}).verify is True
    assert RequestOptions.for_settings(without, {}).timeout == (10.0, 60.0)
