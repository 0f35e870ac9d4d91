"""Restart: the emulator stops between `up` and `refresh` and comes back on its data directory; nothing is lost.

The refresh runs in the same provider host, whose pooled connection and cached token outlived the old emulator
process: it must reconnect on its own, and the token (signed by the key kept in the data directory) still holds.
Then a fresh host (a later `pulumi refresh`) reads the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from b2c_policy_keys import (
    CertificateKeyProvider,
    GeneratedKeyProvider,
    KeySetProvider,
    Pkcs12KeyProvider,
    SecretKeyProvider,
)
from key_kinds.material import PFX_PASSWORD, Material
from support.host import SECRET_CONFIG_KEYS, ProviderHost, State, emulator_config, token_requests

from .conftest import inspector

SECRET_VALUE = "restart-secret-value-93ad"


def _declare(host: ProviderHost, material: Material) -> list[State]:
    states = [
        host.up(KeySetProvider(), "secrets", {"name": "RestartSecrets"}),
        host.up(KeySetProvider(), "signing", {"name": "RestartSigning"}),
        host.up(KeySetProvider(), "saml", {"name": "RestartSaml"}),
        host.up(KeySetProvider(), "pfx", {"name": "RestartPfx"}),
    ]
    states += [
        host.up(SecretKeyProvider(), "secret", {"keyset_id": "RestartSecrets", "value": SECRET_VALUE}),
        host.up(GeneratedKeyProvider(), "generated", {"keyset_id": "RestartSigning", "kty": "RSA", "use": "sig"}),
        host.up(CertificateKeyProvider(), "cert", {"keyset_id": "RestartSaml", "certificate": material.pem}),
        host.up(
            Pkcs12KeyProvider(), "pkcs12", {"keyset_id": "RestartPfx", "pfx": material.pfx(), "password": PFX_PASSWORD}
        ),
    ]
    return states


def _refresh_all(host: ProviderHost, states: list[State]) -> list[State]:
    refreshed = [host.refresh(state) for state in states]
    for state, read in zip(states, refreshed, strict=True):
        assert read is not None, f"{state.name} was lost"
        assert read.id == state.id
    return [r for r in refreshed if r is not None]


def _same(after: list[State], before: list[State]) -> None:
    for new, old in zip(after, before, strict=True):
        assert new.provider_free() == old.provider_free(), f"{old.name} changed across the restart"


def test_nothing_is_lost_when_the_emulator_restarts_between_up_and_refresh(
    emulator_factory: Any, tmp_path: Path, material: Material
) -> None:
    data = tmp_path / "emulator"
    first = emulator_factory(data=data)
    with ProviderHost() as host:
        host.configure(emulator_config(first), secrets=SECRET_CONFIG_KEYS)
        states = _refresh_all(host, _declare(host, material))  # key set outputs now list their keys
        before = {k.id: k.keys for k in inspector(first).list_keysets()}
        port, ca_bundle = first.port, first.ca_bundle
        first.stop()

        second = emulator_factory(data=data, port=port)
        assert (second.graph_url, second.ca_bundle, second.tenant_id) == (first.graph_url, ca_bundle, first.tenant_id)
        _same(_refresh_all(host, states), states)
        assert token_requests(second) == [], "the token issued before the restart should still be accepted"

    after = {k.id: k.keys for k in inspector(second).list_keysets()}
    assert after == before and len(after) == 4
    secret = next(s for s in states if s.name == "secret")
    assert second.secret_matches("B2C_1A_RestartSecrets", secret.outputs["kid"], SECRET_VALUE)

    with ProviderHost() as later:  # a later `pulumi refresh` starts a new host
        later.configure(emulator_config(second), secrets=SECRET_CONFIG_KEYS)
        _same(_refresh_all(later, states), states)
