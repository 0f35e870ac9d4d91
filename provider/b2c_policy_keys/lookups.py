"""Read live key sets from a Pulumi program, during preview and up alike: one GET per lookup.

Configuration resolves exactly as for the resources: the stack's ``b2c:`` configuration, then the environment. The
values are read when the name is known (an unknown name during preview gives an unknown result), and never hold
secret material: the service never returns any.
"""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi

from b2c_policy_keys.graph import GraphClient, client_for, resolve_settings
from b2c_policy_keys.model import Key, KeySet, normalise_keyset_id


class KeyInfo(TypedDict):
    """One key as resources output it: dates as epoch seconds and ISO-8601 UTC."""

    kid: str
    kty: str
    use: str
    not_before: int | None
    not_before_iso: str | None
    expires_at: int | None
    expires_at_iso: str | None
    status: str


class KeySetInfo(TypedDict):
    """A key set as the ``KeySet`` resource outputs it."""

    keyset_id: str
    keys: list[KeyInfo]
    active_kid: str | None


def key_info(key: Key) -> KeyInfo:
    out = key.to_output()
    return KeyInfo(
        kid=out["kid"],
        kty=out["kty"],
        use=out["use"],
        not_before=out["not_before"],
        not_before_iso=out["not_before_iso"],
        expires_at=out["expires_at"],
        expires_at_iso=out["expires_at_iso"],
        status=out["status"],
    )


def keyset_info(keyset: KeySet) -> KeySetInfo:
    active = keyset.active_key()
    return KeySetInfo(
        keyset_id=keyset.id,
        keys=[key_info(k) for k in keyset.keys],
        active_kid=None if active is None else active.kid,
    )


def _program_config(key: str) -> str | None:
    namespace, _, name = key.partition(":")
    value: str | None = pulumi.Config(namespace).get(name)
    return value


def _client() -> GraphClient:
    return client_for(resolve_settings(_program_config))


def get_keyset(name: pulumi.Input[str]) -> pulumi.Output[KeySetInfo]:
    """The key set ``name`` (with or without ``B2C_1A_``) as it is now: its keys and its active key id."""

    def read(value: str) -> KeySetInfo:
        return keyset_info(_client().get_keyset(normalise_keyset_id(value)))

    result: pulumi.Output[Any] = pulumi.Output.from_input(name).apply(read)
    return result


def get_active_key(name: pulumi.Input[str]) -> pulumi.Output[KeyInfo]:
    """The key the service signs or encrypts with now in key set ``name`` (getActiveKey)."""

    def read(value: str) -> KeyInfo:
        return key_info(_client().get_active_key(normalise_keyset_id(value)))

    result: pulumi.Output[Any] = pulumi.Output.from_input(name).apply(read)
    return result
