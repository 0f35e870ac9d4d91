"""GeneratedKey: a key the service generates (``generateKey``) in a key set, RSA or oct, for signing or encryption.

Every IEF tenant starts with two: an RSA signing key (``TokenSigningKeyContainer``) and an RSA encryption key
(``TokenEncryptionKeyContainer``). The private part never leaves the service; outputs carry the RSA public ``n``/``e``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, Resource

from b2c_policy_keys import model
from b2c_policy_keys.errors import GraphError
from b2c_policy_keys.resources import _common as c
from b2c_policy_keys.resources._dated_key import (
    DatedKeyOutputs,
    DatedKeyProvider,
    check_dates,
    declared_props,
    requested_dates,
)
from b2c_policy_keys.resources._family import family_error, is_family_refusal


@dataclass(frozen=True)
class GeneratedKeyArgs:
    """What a generated key is declared with."""

    #: The key set the key goes in (``KeySet.keyset_id``, or a name with or without ``B2C_1A_``).
    keyset_id: pulumi.Input[str]
    #: ``RSA`` (token signing and encryption) or ``oct`` (a symmetric secret).
    kty: pulumi.Input[str] = "RSA"
    #: ``sig`` (signature) or ``enc`` (encryption).
    use: pulumi.Input[str] = "sig"
    #: When the key becomes valid (timezone-aware datetime, ISO-8601 with offset or ``Z``, epoch seconds).
    #: Absent: the creation time, which makes the new key the active one at once.
    not_before: pulumi.Input[datetime | str | int] | None = None
    #: When the key expires (same forms as ``not_before``).
    expires_at: pulumi.Input[datetime | str | int] | None = None
    #: Bump to generate a new key (a rotation: the new key is generated, then the old one disabled).
    version: pulumi.Input[str | int] | None = None
    #: False disables the key in place (``keys_v2`` status), True re-enables it.
    enabled: pulumi.Input[bool] = True


def _check_choice(prop: str, value: object, choices: tuple[str, ...], failures: list[CheckFailure]) -> object:
    value = c.plain(value)
    if c.is_unknown(value):
        return value
    if prop == "kty" and isinstance(value, str):
        value = model.normalise_kty(value)
    if value not in choices:
        failures.append(c.failure(prop, f"must be one of {', '.join(choices)}"))
    return value


class GeneratedKeyProvider(DatedKeyProvider):
    #: Inputs whose change generates a new key (a rotation): keys are append-only.
    replacing = ("keyset_id", "kty", "use", "version", "not_before", "expires_at")

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        inputs = dict(news)
        c.check_keyset_id(news, failures)
        inputs["kty"] = _check_choice("kty", news.get("kty", "RSA"), model.KEY_TYPES, failures)
        inputs["use"] = _check_choice("use", news.get("use", "sig"), model.USES, failures)
        check_dates(olds, news, inputs, failures)
        return CheckResult(c.without_none(inputs), failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = self.client()
        keyset_id = model.normalise_keyset_id(c.plain(props["keyset_id"]))
        kty = model.normalise_kty(c.plain(props.get("kty", "RSA")))
        use = c.plain(props.get("use", "sig"))
        nbf, exp = requested_dates(props)
        same_shape = c.same_use_and_dates(use=use, nbf=nbf, exp=exp)

        def generate() -> model.Key:
            return client.generate_key(keyset_id, use=use, kty=kty, nbf=nbf, exp=exp)

        try:
            # A generated key echoes nothing of itself: a lost answer is proven only by the rules of add_key_once.
            key = c.add_key_once(client, keyset_id, generate, lambda k: k.kty == kty and same_shape(k))
        except GraphError as error:
            if is_family_refusal(error):
                raise family_error(client, keyset_id, kty=kty, use=use, error=error) from None
            raise
        key = self.finish_create(client, keyset_id, key, props)
        return CreateResult(f"{keyset_id}/{key.kid}", {**self._echo(props), **self._key_outputs(keyset_id, key)})

    @staticmethod
    def _key_outputs(keyset_id: str, key: model.Key) -> dict[str, Any]:
        return {**c.key_outputs(keyset_id, key), "n": key.n, "e": key.e}

    def _own_differs(self, prop: str, new: Any, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        if prop == "kty":
            return model.normalise_kty(str(new or "RSA")) != model.normalise_kty(str(c.plain(olds.get("kty")) or ""))
        return bool((new or "sig") != c.plain(olds.get(prop)))


class GeneratedKey(DatedKeyOutputs, Resource, module="b2c", name="GeneratedKey"):
    """A key the service generates in a key set. A changed ``version`` rotates; deleting it disables the key."""

    n: pulumi.Output[str | None]
    """RSA public modulus, base64url (None for oct keys)."""
    e: pulumi.Output[str | None]
    """RSA public exponent, base64url (None for oct keys)."""

    def __init__(
        self,
        resource_name: str,
        *,
        keyset_id: pulumi.Input[str],
        kty: pulumi.Input[str] = "RSA",
        use: pulumi.Input[str] = "sig",
        not_before: pulumi.Input[datetime | str | int] | None = None,
        expires_at: pulumi.Input[datetime | str | int] | None = None,
        version: pulumi.Input[str | int] | None = None,
        enabled: pulumi.Input[bool] = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = GeneratedKeyArgs(keyset_id, kty, use, not_before, expires_at, version, enabled)
        props = declared_props(f"GeneratedKey {resource_name}", args, ("n", "e"), {"kty": args.kty, "use": args.use})
        super().__init__(GeneratedKeyProvider(), resource_name, props, opts)
