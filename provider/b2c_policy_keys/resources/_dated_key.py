"""What generated and secret keys share: a key with a not-before, an expiry and a ``version`` that rotates it.

Both take these inputs, check and store them alike, echo them alike (diff receives old outputs only) and rotate on
their change alike; each resource module keeps only its own inputs, outputs and Graph call.

How a rotation keeps the key set valid at every moment (issue 11, B01). A rotation adds a new key (keys are
append-only) and disables the old one. When the new key is valid at once (no ``not_before``, or one already past),
that is a replace: the engine creates the replacement and disables the old key at the end of the run (its deferred
delete). When the new ``not_before`` lies in the future, a replace would disable the old key before the new one is
valid, and the replacement's create cannot learn the old kid (the engine sends it the inputs of a second Check with
no olds). So a scheduled rotation is an **update** instead: it adds the new key and keeps the old kid in the outputs
(``retiring_kid``, ``retire_at`` = the new not-before). Diff is pure and offline, so the first preview at or after
``retire_at`` (plus a minute for clock skew) shows an update, and that update disables the retiring key only after
reading that the new one is valid. Read, refresh and delete handle both kids. A scheduled rotation on top of a
pending one retires the older key first when its successor is already valid, else drops the successor that never
served. Failing anywhere leaves the previous key enabled.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any, Protocol

import pulumi
from pulumi.dynamic import CheckFailure, DiffResult, UpdateResult

from b2c_policy_keys import model
from b2c_policy_keys.errors import NotFoundError
from b2c_policy_keys.resources import _common as c
from b2c_policy_keys.resources._continuity import RETIRE_AT, RETIRING_KID, WouldLeaveNoValidKeyError


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


#: Inputs whose change is a rotation within the same key set, the only changes that may be scheduled.
ROTATING = frozenset({"value", "version", "not_before", "expires_at"})

#: A retiring key is disabled this long after the new key's not-before, not at once: the tenant's clock and this
#: machine's may differ by seconds, and a retirement a minute late costs nothing.
RETIRE_GRACE_S = 60


def retirement_due(olds: dict[str, Any], now: int | None = None) -> bool:
    """Whether a scheduled rotation's retiring key should be disabled now (pure: preview shows it)."""
    if not c.plain(olds.get(RETIRING_KID)):
        return False
    retire_at = c.as_epoch(olds.get(RETIRE_AT))
    at = model.now_epoch() if now is None else now
    return retire_at is None or at >= retire_at + RETIRE_GRACE_S


class DatedKeyProvider(c.KeyProvider):
    """Diff, update and echo of a dated key: a change of any ``replacing`` input adds a new key (a rotation)."""

    #: Inputs whose change adds a new key (a rotation) instead of updating this one.
    replacing: tuple[str, ...] = ()

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = self._replaced(olds, news)
        if replaces and self._scheduled(replaces, news):
            return DiffResult(changes=True, replaces=[], delete_before_replace=False)
        changes = bool(replaces) or c.enabled_differs(olds, news) or retirement_due(olds)
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """A scheduled rotation (add the new key, keep the old as retiring), or a due retirement and ``enabled``."""
        replaces = self._replaced(olds, news)
        if replaces and self._scheduled(replaces, news):
            return UpdateResult(self._schedule_rotation(id_, olds, news))
        outs = dict(olds)
        if retirement_due(olds) and c.as_bool(news.get("enabled"), True):  # a key declared disabled retires nothing
            outs = self._retire(id_, outs)
        return UpdateResult(self.update_status(id_, outs, news))

    def _replaced(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        return [prop for prop in self.replacing if self._differs(prop, olds, news)]

    @staticmethod
    def _scheduled(replaces: list[str], news: dict[str, Any]) -> bool:
        """A rotation in the same key set whose new key is enabled and valid only later: an update, not a replace."""
        if not set(replaces) <= ROTATING:
            return False
        enabled, nbf = c.plain(news.get("enabled", True)), c.plain(news.get("not_before"))
        if c.is_unknown(enabled) or c.is_unknown(nbf) or not c.as_bool(enabled, True):
            return False
        seconds = c.as_epoch(nbf)
        return seconds is not None and seconds > model.now_epoch()

    def _schedule_rotation(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        client = self.client()
        keyset_id, current = c.split_key_id(id_, olds)
        retiring = c.plain(olds.get(RETIRING_KID)) or None
        if retiring:
            # A rotation is already pending. Its disable comes before the add, so a failed add leaves a valid key.
            with c.keyset_writes(client, keyset_id):
                keyset = client.get_keyset(keyset_id)
                successor = keyset.key(current)
                if successor is not None and successor.is_valid_at(model.now_epoch()):
                    self._disable(keyset_id, retiring)  # the pending key serves now: the older one goes
                    retiring = current
                else:
                    self._disable(keyset_id, current)  # superseded before it ever served; `retiring` still does
        else:
            retiring = current
        created = self.create(news)  # the same add as a create, with its recovery of a lost answer
        outs = dict(created.outs or {})
        outs[RETIRING_KID] = retiring
        outs[RETIRE_AT] = c.as_epoch(news.get("not_before"))
        return outs

    def _retire(self, id_: str, outs: dict[str, Any]) -> dict[str, Any]:
        """Disable the retiring key once the new one is valid; refuse (the old key keeps serving) when it is not."""
        client = self.client()
        keyset_id, kid = c.split_key_id(id_, outs)
        retiring = str(c.plain(outs.get(RETIRING_KID)))
        with c.keyset_writes(client, keyset_id):
            keyset = client.get_keyset(keyset_id)
            new = keyset.key(kid)
            if new is None or not new.is_valid_at(model.now_epoch()):
                state = "gone" if new is None else f"{new.status}, valid from {new.not_before} to {new.expires_at}"
                raise WouldLeaveNoValidKeyError(
                    f"Not retiring key {retiring} of {keyset_id}: its successor {kid} is not valid ({state}), so "
                    f"{retiring} stays enabled. Re-enable {kid} (`b2c-keys enable {keyset_id} {kid}`) or rotate again."
                )
            self._disable(keyset_id, retiring)
        return {k: v for k, v in outs.items() if k not in (RETIRING_KID, RETIRE_AT)}

    def _disable(self, keyset_id: str, kid: str) -> None:
        with suppress(NotFoundError):
            self.client().set_key_status(keyset_id, kid, "disabled")

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
