"""GeneratedKey: a key the service generates (``generateKey``) in a key set, RSA or oct, for signing or encryption.

Every IEF tenant starts with two: an RSA signing key (``TokenSigningKeyContainer``) and an RSA encryption key
(``TokenEncryptionKeyContainer``). The private part never leaves the service; outputs carry the RSA public ``n``/``e``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, Resource

from b2c_policy_keys import model
from b2c_policy_keys.errors import GraphError
from b2c_policy_keys.resources import _common as c
from b2c_policy_keys.resources._family import family_error, is_family_refusal

#: Inputs whose change generates a new key (a rotation): keys are append-only.
_REPLACING = ("keyset_id", "kty", "use", "version", "not_before", "expires_at")


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


class GeneratedKeyProvider(c.KeyProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        inputs = dict(news)
        keyset_id = c.plain(news.get("keyset_id"))
        if keyset_id is None:
            failures.append(c.failure("keyset_id", "is required"))
        else:
            c.check_keyset_name("keyset_id", keyset_id, failures)
        inputs["kty"] = _check_choice("kty", news.get("kty", "RSA"), model.KEY_TYPES, failures)
        inputs["use"] = _check_choice("use", news.get("use", "sig"), model.USES, failures)
        nbf = c.check_moment("not_before", news.get("not_before"), failures)
        exp = c.check_moment("expires_at", news.get("expires_at"), failures)
        if nbf is not None and exp is not None and nbf >= exp:
            failures.append(c.failure("not_before", "must be earlier than expires_at"))
        if exp is not None and exp <= model.now_epoch() and exp != c.as_epoch(olds.get("expires_at")):
            failures.append(c.failure("expires_at", "must be in the future"))
        for prop, seconds in (("not_before", nbf), ("expires_at", exp)):
            if seconds is not None:
                inputs[prop] = seconds
        inputs["version"] = c.normalise_version(news.get("version"))
        inputs["enabled"] = news.get("enabled", True)
        return CheckResult(c.without_none(inputs), failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [prop for prop in _REPLACING if self._differs(prop, olds, news)]
        changes = bool(replaces) or c.enabled_differs(olds, news)
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = self.client()
        keyset_id = model.normalise_keyset_id(c.plain(props["keyset_id"]))
        kty = model.normalise_kty(c.plain(props.get("kty", "RSA")))
        use = c.plain(props.get("use", "sig"))
        # Without a not-before the key becomes valid now, which makes it the active key at once (greatest nbf).
        nbf = c.as_epoch(props.get("not_before"))
        nbf = model.now_epoch() if nbf is None else nbf
        exp = c.as_epoch(props.get("expires_at"))
        same_dates = c.same_use_and_dates(use=use, nbf=nbf, exp=exp)

        def generate() -> model.Key:
            return client.generate_key(keyset_id, use=use, kty=kty, nbf=nbf, exp=exp)

        try:
            key = c.add_key_once(client, keyset_id, generate, lambda k: k.kty == kty and same_dates(k))
        except GraphError as error:
            if is_family_refusal(error):
                raise family_error(client, keyset_id, kty=kty, use=use, error=error) from None
            raise
        key = self.finish_create(client, keyset_id, key, props)
        return CreateResult(f"{keyset_id}/{key.kid}", {**self._echo(props), **self._key_outputs(keyset_id, key)})

    @staticmethod
    def _key_outputs(keyset_id: str, key: model.Key) -> dict[str, Any]:
        return {**c.key_outputs(keyset_id, key), "n": key.n, "e": key.e}

    @staticmethod
    def _differs(prop: str, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        new = c.plain(news.get(prop))
        if c.is_unknown(new):
            return True
        if prop == "keyset_id":
            return not c.same_keyset(olds.get("keyset_id"), new)
        if prop in ("not_before", "expires_at"):
            return c.as_epoch(new) != c.as_epoch(olds.get(f"requested_{prop}"))
        if prop == "version":
            return c.normalise_version(new) != c.normalise_version(olds.get("version"))
        if prop == "kty":
            return model.normalise_kty(str(new or "RSA")) != model.normalise_kty(str(c.plain(olds.get("kty")) or ""))
        return bool((new or "sig") != c.plain(olds.get(prop)))

    @staticmethod
    def _echo(inputs: dict[str, Any]) -> dict[str, Any]:
        """The inputs diff needs later, as outputs (diff receives old outputs, never old inputs)."""
        return {
            "version": c.normalise_version(inputs.get("version")),
            "enabled": c.as_bool(inputs.get("enabled"), True),
            "requested_not_before": c.as_epoch(inputs.get("not_before")),
            "requested_expires_at": c.as_epoch(inputs.get("expires_at")),
        }


class GeneratedKey(Resource, module="b2c", name="GeneratedKey"):
    """A key the service generates in a key set. A changed ``version`` rotates; deleting it disables the key."""

    kid: pulumi.Output[str]
    """The key id the service assigned."""
    keyset_id: pulumi.Output[str]
    kty: pulumi.Output[str]
    use: pulumi.Output[str]
    not_before: pulumi.Output[int | None]
    """Epoch seconds the key is valid from (the creation time when none was given)."""
    not_before_iso: pulumi.Output[str | None]
    expires_at: pulumi.Output[int | None]
    expires_at_iso: pulumi.Output[str | None]
    status: pulumi.Output[str]
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
        c.warn_if_expiring(f"GeneratedKey {resource_name}", args.expires_at)
        props: dict[str, Any] = {
            "kid": None,
            "not_before_iso": None,
            "expires_at_iso": None,
            "status": None,
            "n": None,
            "e": None,
            "keyset_id": args.keyset_id,
            "kty": args.kty,
            "use": args.use,
            "not_before": pulumi.Output.from_input(args.not_before).apply(c.moment_input),
            "expires_at": pulumi.Output.from_input(args.expires_at).apply(c.moment_input),
            "version": args.version,
            "enabled": args.enabled,
        }
        super().__init__(GeneratedKeyProvider(), resource_name, props, opts)
