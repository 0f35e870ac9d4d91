"""What generated and secret keys share: a key with a not-before, an expiry and a ``version`` that rotates it.

Both take these inputs, check and store them alike, echo them alike (diff receives old outputs only) and replace on
their change alike; each resource module keeps only its own inputs, outputs and Graph call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import pulumi
from pulumi.dynamic import CheckFailure, DiffResult

from b2c_policy_keys import model
from b2c_policy_keys.resources import _common as c


class DatedKeyArgs(Protocol):
    """The inputs every dated key is declared with (its Args dataclass has these and its own)."""

    @property
    def keyset_id(self) -> pulumi.Input[str]: ...
    @property
    def not_before(self) -> pulumi.Input[datetime | str | int] | None: ...
    @property
    def expires_at(self) -> pulumi.Input[datetime | str | int] | None: ...
    @property
    def version(self) -> pulumi.Input[str | int] | None: ...
    @property
    def enabled(self) -> pulumi.Input[bool]: ...


class DatedKeyOutputs:
    """The outputs every dated key has (annotations only: the engine sets them from the props)."""

    kid: pulumi.Output[str]
    """The key id the service assigned."""
    keyset_id: pulumi.Output[str]
    kty: pulumi.Output[str]
    use: pulumi.Output[str]
    not_before: pulumi.Output[int | None]
    """Epoch seconds the key is valid from (the creation or upload time when none was given)."""
    not_before_iso: pulumi.Output[str | None]
    expires_at: pulumi.Output[int | None]
    expires_at_iso: pulumi.Output[str | None]
    status: pulumi.Output[str]
    """``enabled`` or ``disabled`` as of the last create, update or refresh."""


def check_dates(
    olds: dict[str, Any], news: dict[str, Any], inputs: dict[str, Any], failures: list[CheckFailure]
) -> None:
    """Check ``not_before``, ``expires_at``, ``version`` and ``enabled`` into ``inputs``, failures into ``failures``."""
    nbf = c.check_moment("not_before", news.get("not_before"), failures)
    exp = c.check_moment("expires_at", news.get("expires_at"), failures)
    if nbf is not None and exp is not None and nbf >= exp:
        failures.append(c.failure("not_before", "must be earlier than expires_at"))
    # An expiry already in state may pass; only a new one must lie in the future (else every later `up` fails).
    # A rotation is checked again with no olds (the engine's second Check), so its new key needs a new expiry.
    if exp is not None and exp <= model.now_epoch() and exp != c.as_epoch(olds.get("expires_at")):
        failures.append(
            c.failure(
                "expires_at",
                "must be in the future; a rotation adds a new key, which needs a new expiry: set a later expires_at",
            )
        )
    # Dates are stored normalised (epoch seconds) so spelling, timezone and int/float never show as a diff.
    for prop, seconds in (("not_before", nbf), ("expires_at", exp)):
        if seconds is not None:
            inputs[prop] = seconds
    inputs["version"] = c.normalise_version(news.get("version"))
    inputs["enabled"] = c.check_bool("enabled", news, True, failures)


def requested_dates(props: dict[str, Any]) -> tuple[int, int | None]:
    """``(nbf, exp)`` to add the key with."""
    # Without a not-before the key becomes valid now, which makes it the active key at once (greatest nbf).
    nbf = c.as_epoch(props.get("not_before"))
    return (model.now_epoch() if nbf is None else nbf), c.as_epoch(props.get("expires_at"))


def declared_props(what: str, args: DatedKeyArgs, outputs: tuple[str, ...], inputs: dict[str, Any]) -> dict[str, Any]:
    """Program side: the resource's props (its ``outputs`` unknown until create, then its inputs); warns on expiry."""
    c.warn_if_expiring(what, args.expires_at)
    return {
        **dict.fromkeys(("kid", *outputs, "not_before_iso", "expires_at_iso", "status")),
        "keyset_id": args.keyset_id,
        **inputs,
        "not_before": pulumi.Output.from_input(args.not_before).apply(c.moment_input),
        "expires_at": pulumi.Output.from_input(args.expires_at).apply(c.moment_input),
        "version": args.version,
        "enabled": args.enabled,
    }


class DatedKeyProvider(c.KeyProvider):
    """Diff and echo of a dated key: a change of any ``replacing`` input adds a new key (keys are append-only)."""

    #: Inputs whose change adds a new key (a rotation) instead of updating this one.
    replacing: tuple[str, ...] = ()

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [prop for prop in self.replacing if self._differs(prop, olds, news)]
        changes = bool(replaces) or c.enabled_differs(olds, news)
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def _differs(self, prop: str, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        new = c.plain(news.get(prop))
        if c.is_unknown(new):
            return True
        if prop == "keyset_id":
            return not c.same_keyset(olds.get("keyset_id"), new)
        if prop in ("not_before", "expires_at"):
            # Compare with what was asked for, not with the time the service shows for an absent not_before.
            return c.as_epoch(new) != c.as_epoch(olds.get(f"requested_{prop}"))
        if prop == "version":
            return c.normalise_version(new) != c.normalise_version(olds.get("version"))
        return self._own_differs(prop, new, olds, news)

    def _own_differs(self, prop: str, new: Any, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """Whether one of the kind's own ``replacing`` inputs changed."""
        return bool(new != c.plain(olds.get(prop)))

    def _echo(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The inputs diff needs later, as outputs (diff receives old outputs, never old inputs)."""
        return {
            "version": c.normalise_version(inputs.get("version")),
            "enabled": c.as_bool(inputs.get("enabled"), True),
            "requested_not_before": c.as_epoch(inputs.get("not_before")),
            "requested_expires_at": c.as_epoch(inputs.get("expires_at")),
        }
