"""SecretKey: one uploaded secret (``uploadSecret``) in a key set, as a Pulumi dynamic resource.

The value lives only in the encrypted input; outputs carry a salted fingerprint of it (a secret output) so a changed
value is detected by diff without Graph and without storing the value anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, Resource

from b2c_policy_keys import model
from b2c_policy_keys.resources import _common as c

#: Inputs whose change uploads a new key (a rotation) instead of updating this one: keys are append-only.
_REPLACING = ("keyset_id", "value", "version", "use", "not_before", "expires_at")


@dataclass(frozen=True)
class SecretKeyArgs:
    """What a secret key is declared with."""

    #: The key set the secret goes in (``KeySet.keyset_id``, or a name with or without ``B2C_1A_``).
    keyset_id: pulumi.Input[str]
    #: The secret itself (e.g. an application's client secret); always stored as a Pulumi secret.
    value: pulumi.Input[str]
    #: ``sig`` (signature) or ``enc`` (encryption).
    use: pulumi.Input[str] = "sig"
    #: When the key becomes valid: timezone-aware datetime, ISO-8601 with offset or ``Z``, or epoch seconds.
    #: Absent: the upload time, which makes the new key the active one at once.
    not_before: pulumi.Input[datetime | str | int] | None = None
    #: When the key expires (same forms as ``not_before``).
    expires_at: pulumi.Input[datetime | str | int] | None = None
    #: Bump to upload the same value again as a new key (a forced rotation).
    version: pulumi.Input[str | int] | None = None
    #: False disables the key in place (``keys_v2`` status), True re-enables it.
    enabled: pulumi.Input[bool] = True


class SecretKeyProvider(c.KeyProvider):
    secret_outputs = ("value_fingerprint",)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        inputs = dict(news)
        keyset_id = c.plain(news.get("keyset_id"))
        if keyset_id is None:
            failures.append(c.failure("keyset_id", "is required"))
        else:
            c.check_keyset_name("keyset_id", keyset_id, failures)
        value = c.plain(news.get("value"))
        if not c.is_unknown(value) and (not isinstance(value, str) or not value):
            failures.append(c.failure("value", "must be a non-empty string"))
        use = c.plain(news.get("use", "sig"))
        if not c.is_unknown(use) and use not in model.USES:
            failures.append(c.failure("use", f"must be one of {', '.join(model.USES)}"))
        nbf = c.check_moment("not_before", news.get("not_before"), failures)
        exp = c.check_moment("expires_at", news.get("expires_at"), failures)
        if nbf is not None and exp is not None and nbf >= exp:
            failures.append(c.failure("not_before", "must be earlier than expires_at"))
        # An expiry already in state may pass; only a new one must lie in the future (else every later `up` fails).
        if exp is not None and exp <= model.now_epoch() and exp != c.as_epoch(olds.get("expires_at")):
            failures.append(c.failure("expires_at", "must be in the future"))
        # Dates are stored normalised (epoch seconds) so spelling, timezone and int/float never show as a diff.
        for prop, seconds in (("not_before", nbf), ("expires_at", exp)):
            if seconds is not None:
                inputs[prop] = seconds
        inputs["use"] = use
        inputs["version"] = c.normalise_version(news.get("version"))
        inputs["enabled"] = news.get("enabled", True)
        inputs["fingerprint_salt"] = c.plain(olds.get("fingerprint_salt")) or c.new_salt()
        return CheckResult(c.without_none(inputs), failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [prop for prop in _REPLACING if self._differs(prop, olds, news)]
        changes = bool(replaces) or c.enabled_differs(olds, news)
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = self.client()
        keyset_id = model.normalise_keyset_id(c.plain(props["keyset_id"]))
        use = c.plain(props.get("use", "sig"))
        # Without a not-before the key becomes valid now, which makes it the active key at once (greatest nbf).
        nbf = c.as_epoch(props.get("not_before"))
        nbf = model.now_epoch() if nbf is None else nbf
        exp = c.as_epoch(props.get("expires_at"))
        value = c.plain(props["value"])

        def upload() -> model.Key:
            return client.upload_secret(keyset_id, use=use, value=value, nbf=nbf, exp=exp)

        key = c.add_key_once(client, keyset_id, upload, c.same_use_and_dates(use=use, nbf=nbf, exp=exp))
        key = self.finish_create(client, keyset_id, key, props)
        echoed = self._echo(props)
        outs = {**echoed, **c.key_outputs(keyset_id, key)}
        outs["value_fingerprint"] = c.secret(c.fingerprint(echoed["fingerprint_salt"], value))
        return CreateResult(f"{keyset_id}/{key.kid}", outs)

    @staticmethod
    def _differs(prop: str, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        new = c.plain(news.get(prop))
        if c.is_unknown(new):
            return True
        if prop == "keyset_id":
            return not c.same_keyset(olds.get("keyset_id"), new)
        if prop == "value":
            # The old fingerprint was made with the old salt (check carries it over into the new inputs too).
            salt = c.plain(olds.get("fingerprint_salt")) or c.plain(news.get("fingerprint_salt")) or ""
            return bool(c.fingerprint(salt, str(new)) != c.plain(olds.get("value_fingerprint")))
        if prop in ("not_before", "expires_at"):
            # Compare with what was asked for, not with the upload time the service shows for an absent not_before.
            return c.as_epoch(new) != c.as_epoch(olds.get(f"requested_{prop}"))
        if prop == "version":
            return c.normalise_version(new) != c.normalise_version(olds.get("version"))
        return bool(new != c.plain(olds.get(prop)))

    @staticmethod
    def _echo(inputs: dict[str, Any]) -> dict[str, Any]:
        """The inputs diff needs later, as outputs (diff receives old outputs, never old inputs)."""
        return {
            "use": c.plain(inputs.get("use", "sig")),
            "version": c.normalise_version(inputs.get("version")),
            "enabled": c.as_bool(inputs.get("enabled"), True),
            "fingerprint_salt": c.plain(inputs.get("fingerprint_salt")),
            "requested_not_before": c.as_epoch(inputs.get("not_before")),
            "requested_expires_at": c.as_epoch(inputs.get("expires_at")),
        }


class SecretKey(Resource, module="b2c", name="SecretKey"):
    """A secret in a key set (e.g. a federated application's client secret). Deleting it disables the key."""

    kid: pulumi.Output[str]
    """The key id the service assigned."""
    keyset_id: pulumi.Output[str]
    kty: pulumi.Output[str]
    use: pulumi.Output[str]
    not_before: pulumi.Output[int | None]
    """Epoch seconds the key is valid from (the upload time when none was given)."""
    not_before_iso: pulumi.Output[str | None]
    expires_at: pulumi.Output[int | None]
    expires_at_iso: pulumi.Output[str | None]
    status: pulumi.Output[str]
    """``enabled`` or ``disabled`` as of the last create, update or refresh."""
    value_fingerprint: pulumi.Output[str]
    """Salted HMAC-SHA256 of the value (a secret output): changes exactly when the value does."""

    def __init__(
        self,
        resource_name: str,
        *,
        keyset_id: pulumi.Input[str],
        value: pulumi.Input[str],
        use: pulumi.Input[str] = "sig",
        not_before: pulumi.Input[datetime | str | int] | None = None,
        expires_at: pulumi.Input[datetime | str | int] | None = None,
        version: pulumi.Input[str | int] | None = None,
        enabled: pulumi.Input[bool] = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = SecretKeyArgs(keyset_id, value, use, not_before, expires_at, version, enabled)
        c.warn_if_expiring(f"SecretKey {resource_name}", args.expires_at)
        props: dict[str, Any] = {
            "kid": None,
            "kty": None,
            "not_before_iso": None,
            "expires_at_iso": None,
            "status": None,
            "value_fingerprint": None,
            "keyset_id": args.keyset_id,
            "value": pulumi.Output.secret(args.value),
            "use": args.use,
            "not_before": pulumi.Output.from_input(args.not_before).apply(c.moment_input),
            "expires_at": pulumi.Output.from_input(args.expires_at).apply(c.moment_input),
            "version": args.version,
            "enabled": args.enabled,
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["value", "value_fingerprint"])
        super().__init__(SecretKeyProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))
