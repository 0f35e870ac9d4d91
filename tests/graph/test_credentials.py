"""Each credential kind obtains a token from the emulator through msal, and refusals are typed and secret-free."""

from __future__ import annotations

import http.server
import json
import logging
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.emulator.tls import ensure_tls_files
from b2c_policy_keys.errors import AuthenticationError, ConfigurationError, PermissionDeniedError, TransportError
from b2c_policy_keys.graph import GraphClient, Settings, resolve_settings
from b2c_policy_keys.graph.credentials import load_certificate_credential
from b2c_policy_keys.graph.transport import Transport

from .support import app_certificate, closed_port, emulator_config, emulator_settings, token_requests

CERT_CLIENT = "b2c00000-0000-4000-8000-0000000000c1"


def test_client_secret(emulator: Emulator) -> None:
    client = GraphClient(emulator_settings(emulator))
    assert client.create_keyset("by-secret").id == "B2C_1A_by-secret"
    assert token_requests(emulator) == 1


def test_certificate_pem_with_encrypted_key(emulator: Emulator, tmp_path: Path) -> None:
    pki = app_certificate()
    emulator.add_client(CERT_CLIENT, certificate_pem=pki.cert_pem)
    pem = tmp_path / "app.pem"
    pem.write_text(pki.key_pem("pem-pass") + pki.cert_pem)
    settings = emulator_settings(
        emulator,
        **{
            "b2c:clientId": CERT_CLIENT,
            "b2c:clientSecret": None,
            "b2c:clientCertificatePath": str(pem),
            "b2c:clientCertificatePassword": "pem-pass",
        },
    )
    assert settings.credential_kind == "certificate"
    assert GraphClient(settings).create_keyset("by-pem").id == "B2C_1A_by-pem"


def test_certificate_pfx_with_password(emulator: Emulator, tmp_path: Path) -> None:
    pki = app_certificate()
    emulator.add_client(CERT_CLIENT, certificate_pem=pki.cert_pem)
    pfx = tmp_path / "app.pfx"
    pfx.write_bytes(pki.pfx("pfx-pass"))
    overrides = {"b2c:clientId": CERT_CLIENT, "b2c:clientSecret": None, "b2c:clientCertificatePath": str(pfx)}
    client = GraphClient(emulator_settings(emulator, **overrides, **{"b2c:clientCertificatePassword": "pfx-pass"}))
    assert client.create_keyset("by-pfx").id == "B2C_1A_by-pfx"

    wrong = GraphClient(emulator_settings(emulator, **overrides, **{"b2c:clientCertificatePassword": "nope-pass"}))
    with pytest.raises(ConfigurationError, match="b2c:clientCertificatePassword") as caught:
        wrong.list_keysets()
    assert "nope-pass" not in str(caught.value)


def test_an_unregistered_certificate_is_refused(emulator: Emulator, tmp_path: Path) -> None:
    pki = app_certificate("never registered")
    pem = tmp_path / "app.pem"
    pem.write_text(pki.key_pem() + pki.cert_pem)
    settings = emulator_settings(emulator, **{"b2c:clientSecret": None, "b2c:clientCertificatePath": str(pem)})
    with pytest.raises(AuthenticationError, match="refused the client certificate"):
        GraphClient(settings).list_keysets()


def test_workload_identity_federation_from_a_token_file(emulator: Emulator, tmp_path: Path) -> None:
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(emulator.federated_token(subject="repo:org/app:ref:refs/heads/main") + "\n")
    settings = emulator_settings(
        emulator,
        **{"b2c:clientSecret": None, "b2c:useOidc": "true", "b2c:oidcTokenFilePath": str(token_file)},
    )
    assert settings.credential_kind == "oidc"
    assert GraphClient(settings).create_keyset("by-oidc").id == "B2C_1A_by-oidc"


def test_managed_identity_app_service_protocol(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.authority_host}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", emulator.msi_header)
    settings = emulator_settings(emulator, **{"b2c:clientId": None, "b2c:clientSecret": None, "b2c:useMsi": "true"})
    assert settings.credential_kind == "msi"
    client = GraphClient(settings)
    assert client.create_keyset("by-msi").id == "B2C_1A_by-msi"
    client.get_keyset("by-msi")
    msi_calls = [e for e in emulator.requests_log() if e["path"] == "/msi/token"]
    assert len(msi_calls) == 1


def test_a_wrong_secret_carries_the_aadsts_code_but_not_the_secret(emulator: Emulator) -> None:
    settings = emulator_settings(emulator, **{"b2c:clientSecret": "definitely-wrong-secret"})
    with pytest.raises(AuthenticationError) as caught:
        GraphClient(settings).list_keysets()
    error = caught.value
    assert error.code and error.code.startswith("AADSTS")
    assert "definitely-wrong-secret" not in str(error)
    assert "registered in the B2C tenant" in str(error)


def test_an_unknown_tenant_is_an_authentication_error(emulator: Emulator) -> None:
    settings = emulator_settings(emulator, **{"b2c:tenantId": "b2c00000-0000-4000-8000-00000000dead"})
    with pytest.raises(AuthenticationError, match="b2c:tenantId"):
        GraphClient(settings).list_keysets()


def test_the_read_only_client_cannot_write(emulator: Emulator) -> None:
    settings = emulator_settings(
        emulator,
        **{"b2c:clientId": emulator.readonly_client_id, "b2c:clientSecret": emulator.readonly_client_secret},
    )
    client = GraphClient(settings)
    assert client.list_keysets() == []
    with pytest.raises(PermissionDeniedError) as caught:
        client.create_keyset("denied")
    assert caught.value.status == 403
    assert "TrustFrameworkKeySet.ReadWrite.All" in str(caught.value)
    assert caught.value.request_id and caught.value.client_request_id


def test_an_unreachable_managed_identity_endpoint_is_named(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{port}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "irrelevant")
    settings = emulator_settings(
        emulator, **{"b2c:clientId": None, "b2c:clientSecret": None, "b2c:useMsi": "true", "b2c:retryTimeout": "1"}
    )
    with pytest.raises(TransportError, match=f"could not connect to 127.0.0.1:{port}"):
        GraphClient(settings).list_keysets()


@pytest.mark.parametrize(
    ("content", "password", "expected"),
    [
        (b"not a certificate at all", None, r"\(PEM\) or be a PFX"),
        (None, "pw-wrong", "b2c:clientCertificatePassword"),
        (None, None, "b2c:clientCertificatePassword"),
    ],
)
def test_unusable_certificate_files_are_configuration_errors(
    tmp_path: Path, content: bytes | None, password: str | None, expected: str
) -> None:
    path = tmp_path / "app.pfx"
    path.write_bytes(content if content is not None else app_certificate().pfx("pw-right"))
    with pytest.raises(ConfigurationError, match=expected) as caught:
        load_certificate_credential(str(path), password)
    assert "pw-" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_certificate_credential(str(tmp_path / "gone.pem"), None)


# --- GitHub Actions OIDC: the request-token flow (issue 13) -------------------------------------------------------


class _Stand(http.server.ThreadingHTTPServer):
    """A tiny local server for one test: records each request and answers with ``respond(handler)``."""

    daemon_threads = True

    def __init__(self, respond: Callable[[http.server.BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]):
        self.seen: list[dict[str, str]] = []
        stand = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                auth = self.headers.get("Authorization", "")
                stand.seen.append({"method": self.command, "path": self.path, "auth": auth, "body": body})
                status, headers, payload = respond(self)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads ``seen``."""

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> _Stand:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


REQUEST_TOKEN = "gha-request-token-5ecr3t-9d8c"


def _github_token_endpoint(emulator: Emulator, status: int = 200) -> _Stand:
    """GitHub's ID-token endpoint, as actions/toolkit's oidc-utils calls it: a fresh emulator assertion each time."""

    def respond(handler: http.server.BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query)
        if handler.headers.get("Authorization") != f"bearer {REQUEST_TOKEN}" or status != 200:
            return (status if status != 200 else 401), {}, b'{"message": "bad request token"}'
        assert query["audience"] == ["api://AzureADTokenExchange"] and query["api-version"] == ["2.0"]
        token = emulator.federated_token(subject="repo:org/app:environment:prod")
        return 200, {"Content-Type": "application/json"}, json.dumps({"value": token}).encode()

    return _Stand(respond)


def _github_env(stand: _Stand) -> dict[str, str]:
    return {
        "ARM_USE_OIDC": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{stand.root}/_apis/idtoken?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
    }


def _env_oidc_settings(emulator: Emulator, env: dict[str, str]) -> Settings:
    config = emulator_config(emulator, **{"b2c:clientSecret": None})
    return resolve_settings(config.get, env=env)


def test_github_actions_oidc_requests_a_fresh_assertion_whenever_msal_needs_one(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with _github_token_endpoint(emulator) as stand:
        settings = _env_oidc_settings(emulator, _github_env(stand))
        assert settings.credential_kind == "oidc" and settings.oidc_token_file_path is None
        transport = Transport(settings)
        client = GraphClient(settings, transport)
        assert client.create_keyset("by-github").id == "B2C_1A_by-github"
        assert len(stand.seen) == 1 and stand.seen[0]["method"] == "GET"
        transport.tokens.invalidate(transport.tokens.token())  # Graph refused it: the next call needs a new one
        assert [ks.id for ks in client.list_keysets()] == ["B2C_1A_by-github"]
        assert len(stand.seen) == 2, "each token request needs its own assertion: GitHub's live minutes"
    assert token_requests(emulator) == 2
    assert REQUEST_TOKEN not in caplog.text and REQUEST_TOKEN not in repr(settings)


def test_github_actions_oidc_refused_names_the_permission_not_the_token(emulator: Emulator) -> None:
    with _github_token_endpoint(emulator, status=403) as stand:
        client = GraphClient(_env_oidc_settings(emulator, _github_env(stand)))
        with pytest.raises(AuthenticationError, match=r"answered 403.*id-token: write") as caught:
            client.list_keysets()
    assert REQUEST_TOKEN not in str(caught.value)
    assert token_requests(emulator) == 0


def test_github_actions_oidc_needs_both_variables() -> None:
    env = {
        "ARM_TENANT_ID": "t",
        "ARM_CLIENT_ID": "c",
        "ARM_USE_OIDC": "true",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://x",
    }
    with pytest.raises(ConfigurationError, match="ACTIONS_ID_TOKEN_REQUEST_URL is set but no request token") as caught:
        resolve_settings(None, env=env)
    assert "ARM_OIDC_REQUEST_TOKEN" in str(caught.value)


def test_a_token_file_wins_over_the_token_request(emulator: Emulator, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(emulator.federated_token())
    with _github_token_endpoint(emulator) as stand:
        env = {**_github_env(stand), "AZURE_FEDERATED_TOKEN_FILE": str(token_file)}
        settings = _env_oidc_settings(emulator, env)
        assert GraphClient(settings).list_keysets() == []
        assert stand.seen == []


# --- no credential follows a redirect (issue 11, B17) -------------------------------------------------------------


def test_the_token_request_never_follows_a_redirect_to_another_host(emulator: Emulator) -> None:
    """A token endpoint answering 307 to another host: requests would re-POST the client secret there.

    The redirecting authority is a local HTTPS server with the emulator's certificate (so TLS is not what stops
    it); its discovery document is the emulator's with its own token endpoint; its token endpoint answers 307 to
    the emulator's, which would happily issue a token if the secret arrived.
    """
    tls = ensure_tls_files(Path(emulator.ca_bundle).parent)
    discovery_path = f"/{emulator.tenant_id}/v2.0/.well-known/openid-configuration"
    discovery = requests.get(emulator.authority_host + discovery_path, verify=emulator.ca_bundle, timeout=10).json()
    target = discovery["token_endpoint"]

    def respond(handler: http.server.BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        if handler.command == "GET":
            mine = {**discovery, "token_endpoint": f"{root}/{emulator.tenant_id}/oauth2/v2.0/token"}
            return 200, {"Content-Type": "application/json"}, json.dumps(mine).encode()
        return 307, {"Location": target.replace("127.0.0.1", "localhost")}, b""

    with _Stand(respond) as stand:
        stand.socket = tls.server_context().wrap_socket(stand.socket, server_side=True)
        root = f"https://127.0.0.1:{stand.server_address[1]}"
        settings = emulator_settings(emulator, **{"b2c:authorityHost": root})
        with pytest.raises(AuthenticationError, match=r"redirect \(307\) to localhost:\d+") as caught:
            GraphClient(settings).list_keysets()
    assert [seen["method"] for seen in stand.seen] == ["GET", "POST"]
    assert token_requests(emulator) == 0, "the client secret went on to the other host"
    assert emulator.client_secret not in str(caught.value)
