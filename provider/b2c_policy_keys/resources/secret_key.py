"""SecretKey: one uploaded secret (``uploadSecret``) in a key set, as a Pulumi dynamic resource.

The value lives only in the encrypted input; outputs carry a salted fingerprint of it (a secret output) so a changed
value is detected by diff without Graph and without storing the value anywhere else.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from b2c_policy_keys import model
from b2c_policy_keys.errors import NotFoundError, OutcomeUnknownError
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


class SecretKeyProvider(c.B2CProvider):
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
        enabled = news.get("enabled", True)
        changes = bool(replaces) or c.is_unknown(enabled) or c.status_for(enabled) != c.plain(olds.get("status"))
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
        with c.keyset_writes(client, keyset_id):
            try:
                key = client.upload_secret(keyset_id, use=use, value=value, nbf=nbf, exp=exp)
            except OutcomeUnknownError:
                key = self._reconcile_lost_upload(keyset_id, use=use, value=value, nbf=nbf, exp=exp)
            c.remember_created(keyset_id, key.kid)
            if not c.as_bool(props.get("enabled"), True):
                client.set_key_status(keyset_id, key.kid, "disabled")
                key = replace(key, status="disabled")
        echoed = self._echo(props)
        outs = {**echoed, **c.key_outputs(keyset_id, key)}
        outs["value_fingerprint"] = c.secret(c.fingerprint(echoed["fingerprint_salt"], value))
        return CreateResult(f"{keyset_id}/{key.kid}", outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        keyset_id, kid = c.split_key_id(id_, props)
        try:
            keyset = self.client().get_keyset(keyset_id)
        except NotFoundError:
            return ReadResult("", {})
        key = keyset.key(kid)
        if key is None:
            return ReadResult("", {})
        # Inputs are left as they are: the value is not in the outputs, and `enabled` is the wish, not the fact.
        outs = {**self._kept(props), **c.key_outputs(keyset.id, key)}
        return ReadResult(id_, outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only `enabled` changes in place (every other input replaces): one PATCH when the status differs.
        keyset_id, kid = c.split_key_id(id_, olds)
        wanted = c.status_for(news.get("enabled", True))
        if c.plain(olds.get("status")) != wanted:
            self.client().set_key_status(keyset_id, kid, wanted)
        outs = {k: c.plain(v) for k, v in olds.items() if k != "__provider"}
        outs.update(self._kept(olds), enabled=c.as_bool(news.get("enabled"), True), status=wanted)
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        # B2C cannot delete one key: deleting the resource disables the key, which is then never active again.
        keyset_id, kid = c.split_key_id(id_, props)
        with suppress(NotFoundError):  # the key or its key set is gone already
            self.client().set_key_status(keyset_id, kid, "disabled")

    def _reconcile_lost_upload(self, keyset_id: str, *, use: str, value: str, nbf: int, exp: int | None) -> model.Key:
        """The upload may have happened: adopt the key it created, upload again only if none appeared."""
        client = self.client()
        found = c.adoptable_key(client.get_keyset(keyset_id), use=use, nbf=nbf, exp=exp)
        if found is not None:
            return found
        return client.upload_secret(keyset_id, use=use, value=value, nbf=nbf, exp=exp)

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

    @staticmethod
    def _kept(outputs: dict[str, Any]) -> dict[str, Any]:
        """The echoed inputs and the fingerprint carried from old outputs into new ones, normalised."""
        return {
            "use": c.plain(outputs.get("use")),
            "version": c.normalise_version(outputs.get("version")),
            "enabled": c.as_bool(outputs.get("enabled"), True),
            "fingerprint_salt": c.plain(outputs.get("fingerprint_salt")),
            "requested_not_before": c.as_epoch(outputs.get("requested_not_before")),
            "requested_expires_at": c.as_epoch(outputs.get("requested_expires_at")),
            "value_fingerprint": c.secret(c.plain(outputs.get("value_fingerprint"))),
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
