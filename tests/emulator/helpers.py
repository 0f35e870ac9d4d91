"""Small helpers shared by the emulator's own tests."""

from __future__ import annotations

from typing import Any

import msal
import requests

from b2c_policy_keys.emulator import Emulator

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
KEYSETS = "/beta/trustFramework/keySets"


def session_for(emu: Emulator) -> requests.Session:
    session = requests.Session()
    session.verify = emu.ca_bundle
    return session


def msal_app(emu: Emulator, client_credential: Any, client_id: str | None = None) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id or emu.client_id,
        client_credential=client_credential,
        authority=f"{emu.authority_host}/{emu.tenant_id}",
        instance_discovery=False,
        http_client=session_for(emu),
    )


def token_with_secret(emu: Emulator, client_id: str | None = None, secret: str | None = None) -> str:
    result = msal_app(emu, secret or emu.client_secret, client_id).acquire_token_for_client([GRAPH_SCOPE])
    assert "access_token" in result, result
    return str(result["access_token"])


def secret_grant(client_id: str, secret: str) -> dict[str, str]:
    """The form of a raw client-credentials token request with a secret."""
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": GRAPH_SCOPE}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
