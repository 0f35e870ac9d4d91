"""Read live key sets from a Pulumi program, during preview and up alike: one GET per lookup.

Configuration resolves exactly as for the resources: the stack's ``b2c:`` configuration, then the environment. The
values are read when the name is known (an unknown name during preview gives an unknown result), and never hold
secret material: the service never returns any.
"""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi

from b2c_policy_keys.errors import NotFoundError
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


def _not_found(lookup: str, keyset_id: str, error: NotFoundError) -> NotFoundError:
    """A not-found that says what it means here: with a literal name the lookup runs at once, before any resource."""
    return NotFoundError(
        f"{lookup}: the key set {keyset_id} does not exist in this tenant (yet). If a KeySet in this program creates "
        f"it, pass that resource's output so the lookup waits for it: {lookup}(key_set.keyset_id); a literal name is "
        "read at once, before any resource is created.",
        status=error.status,
        code=error.code,
        request_id=error.request_id,
        client_request_id=error.client_request_id,
    )


def get_keyset(name: pulumi.Input[str]) -> pulumi.Output[KeySetInfo]:
    """The key set ``name`` (with or without ``B2C_1A_``) as it is now: its keys and its active key id.

    Pass ``key_set.keyset_id`` (an output) rather than a literal name when the same program creates the set: the
    lookup then waits for the resource.
    """

    def read(value: str) -> KeySetInfo:
        keyset_id = normalise_keyset_id(value)
        try:
            return keyset_info(_client().get_keyset(keyset_id))
        except NotFoundError as error:
            raise _not_found("get_keyset", keyset_id, error) from None

    result: pulumi.Output[Any] = pulumi.Output.from_input(name).apply(read)
    return result


def get_active_key(name: pulumi.Input[str]) -> pulumi.Output[KeyInfo]:
    """The key the service signs or encrypts with now in key set ``name`` (getActiveKey); see ``get_keyset``."""

    def read(value: str) -> KeyInfo:
        keyset_id = normalise_keyset_id(value)
        try:
            return key_info(_client().get_active_key(keyset_id))
        except NotFoundError as error:
            raise _not_found("get_active_key", keyset_id, error) from None

    result: pulumi.Output[Any] = pulumi.Output.from_input(name).apply(read)
    return result
