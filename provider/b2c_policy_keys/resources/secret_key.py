"""SecretKey: one uploaded secret (``uploadSecret``) in a key set, as a Pulumi dynamic resource.

The value lives only in the encrypted input; outputs carry a salted fingerprint of it (a secret output) so a changed
value is detected by diff without Graph and without storing the value anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, Resource

from b2c_policy_keys import model
from b2c_policy_keys.resources import _common as c
from b2c_policy_keys.resources._dated_key import (
    DatedKeyOutputs,
    DatedKeyProvider,
    check_dates,
    declared_props,
    requested_dates,
)


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


class SecretKeyProvider(DatedKeyProvider):
    secret_outputs = ("value_fingerprint",)
    #: Inputs whose change uploads a new key (a rotation) instead of updating this one: keys are append-only.
    replacing = ("keyset_id", "value", "version", "use", "not_before", "expires_at")

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        inputs = dict(news)
        c.check_keyset_id(news, failures)
        value = c.plain(news.get("value"))
        if not c.is_unknown(value) and (not isinstance(value, str) or not value):
            failures.append(c.failure("value", "must be a non-empty string"))
        use = c.plain(news.get("use", "sig"))
        if not c.is_unknown(use) and use not in model.USES:
            failures.append(c.failure("use", f"must be one of {', '.join(model.USES)}"))
        check_dates(olds, news, inputs, failures)
        inputs["use"] = use
        inputs["fingerprint_salt"] = c.plain(olds.get("fingerprint_salt")) or c.new_salt()
        return CheckResult(c.without_none(inputs), failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = self.client()
        keyset_id = model.normalise_keyset_id(c.plain(props["keyset_id"]))
        use = c.plain(props.get("use", "sig"))
        nbf, exp = requested_dates(props)
        value = c.plain(props["value"])

        def upload() -> model.Key:
            return client.upload_secret(keyset_id, use=use, value=value, nbf=nbf, exp=exp)

        key = c.add_key_once(client, keyset_id, upload, c.same_use_and_dates(use=use, nbf=nbf, exp=exp))
        key = self.finish_create(client, keyset_id, key, props)
        echoed = self._echo(props)
        outs = {**echoed, **c.key_outputs(keyset_id, key)}
        outs["value_fingerprint"] = c.secret(c.fingerprint(echoed["fingerprint_salt"], value))
        return CreateResult(f"{keyset_id}/{key.kid}", outs)

    def _own_differs(self, prop: str, new: Any, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        if prop == "value":
            # The old fingerprint was made with the old salt (check carries it over into the new inputs too).
            salt = c.plain(olds.get("fingerprint_salt")) or c.plain(news.get("fingerprint_salt")) or ""
            return bool(c.fingerprint(salt, str(new)) != c.plain(olds.get("value_fingerprint")))
        return super()._own_differs(prop, new, olds, news)

    def _echo(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return {
            **super()._echo(inputs),
            "use": c.plain(inputs.get("use", "sig")),
            "fingerprint_salt": c.plain(inputs.get("fingerprint_salt")),
        }


class SecretKey(DatedKeyOutputs, Resource, module="b2c", name="SecretKey"):
    """A secret in a key set (e.g. a federated application's client secret). Deleting it disables the key."""

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
        inputs = {"value": pulumi.Output.secret(args.value), "use": args.use}
        props = declared_props(f"SecretKey {resource_name}", args, ("kty", "value_fingerprint"), inputs)
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["value", "value_fingerprint"])
        super().__init__(SecretKeyProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))
