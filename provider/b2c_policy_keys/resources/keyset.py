"""KeySet: one B2C policy key set (``trustFramework/keySets``) as a Pulumi dynamic resource.

One identity, the service's (issue 11, B07): a name that differs only in case or in the ``B2C_1A_`` prefix is the same
set, so diff shows no change and never a replace (whose deferred delete would delete the live set). A set adopted
under a new resource name is the old resource's set too: the engine then deletes the old resource in the same run and
host process (or, when that run failed, in the next one), and that delete must leave the set alone: the adopter
records the set at its create and again at every Diff, in the process that runs the delete.
"""

from __future__ import annotations

import secrets
import threading
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from b2c_policy_keys import model
from b2c_policy_keys.errors import AlreadyExistsError, NotFoundError, OutcomeUnknownError
from b2c_policy_keys.resources import _common as c

if TYPE_CHECKING:
    from b2c_policy_keys.graph import GraphClient

#: The service's code for a duplicate key set create.
ALREADY_EXISTS_CODE = "AADB2C95028"

_ADOPT_HINT = (
    "If another KeySet of this stack manages it (you renamed the resource or changed the name's case), keep one "
    'resource and rename with `opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="<old resource name>")])`. '
    "If nothing in this stack manages it, set adopt_existing=True to manage it (its keys are kept). "
    "`pulumi import` cannot help: Pulumi cannot import dynamic-provider resources."
)

# Key sets a create of this process adopted -> the adoption's token (also in the adopter's outputs): a delete of the
# same set in the same run by another resource (the one the adopter was renamed from) must not delete it.
_adopted: dict[str, str] = {}
_adopted_lock = threading.Lock()
#: Output of an adopting create: its token in ``_adopted``.
ADOPTION = "adoption"


def _identity(name: object) -> str:
    return model.keyset_key(str(c.plain(name)))


def _remember_adoption(outputs: dict[str, Any]) -> None:
    token, keyset_id = c.plain(outputs.get(ADOPTION)), c.plain(outputs.get("keyset_id"))
    if isinstance(token, str) and isinstance(keyset_id, str):
        with _adopted_lock:
            _adopted[_identity(keyset_id)] = token


@dataclass(frozen=True)
class KeySetArgs:
    """What a key set is declared with."""

    #: The key set's name, with or without the ``B2C_1A_`` prefix (both name the same key set).
    name: pulumi.Input[str]
    #: Manage a key set that already exists instead of failing on create.
    adopt_existing: pulumi.Input[bool] = False
    #: On delete, also delete the ``<id>.bak`` key set the service leaves behind.
    purge_backup_on_delete: pulumi.Input[bool] = False


def _exists(client: GraphClient, name: str) -> bool:
    try:
        client.get_keyset(name)
    except NotFoundError:
        return False
    return True


def _already_exists(name: str, exc: AlreadyExistsError | None) -> AlreadyExistsError:
    """The refusal, from the service's answer or from the read before the POST (then with the service's code)."""
    if exc is None:
        return AlreadyExistsError(f"The key set {name} already exists.", code=ALREADY_EXISTS_CODE, hint=_ADOPT_HINT)
    return AlreadyExistsError(f"The key set {name} already exists.", status=exc.status, code=exc.code, hint=_ADOPT_HINT)


class KeySetProvider(c.B2CProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[pulumi.dynamic.CheckFailure] = []
        c.check_keyset_name("name", news.get("name"), failures)
        inputs = dict(news)
        for prop in ("adopt_existing", "purge_backup_on_delete"):
            inputs[prop] = c.check_bool(prop, news, False, failures)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # An adopter seen again in a later run (its rename's run failed before the engine's deletes) records its set
        # once more, so the old resource's delete, now in this process, still leaves the set alone.
        _remember_adoption(olds)
        # olds are the old outputs: compare the id the service gave with the new name, normalised.
        name = c.plain(news.get("name"))
        replaces = [] if not c.is_unknown(name) and c.same_keyset(olds.get("keyset_id"), name) else ["name"]
        flags = [
            prop
            for prop, default in (("adopt_existing", False), ("purge_backup_on_delete", False))
            if c.is_unknown(news.get(prop)) or c.as_bool(olds.get(prop), default) != c.as_bool(news.get(prop), default)
        ]
        return DiffResult(changes=bool(replaces or flags), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = self.client()
        name = model.normalise_keyset_id(c.plain(props["name"]))
        adopt = c.as_bool(props.get("adopt_existing"), False)
        with client.keyset_lock(name):
            # Without adopt_existing, read first: a set absent just before the POST (under the lock) and empty after
            # a lost answer is provably this request's; without the read nothing could tell it from another's.
            if not adopt and _exists(client, name):
                raise _already_exists(name, None)
            try:
                keyset = client.create_keyset(name)
            except OutcomeUnknownError as lost:
                keyset = self._after_lost_create(client, name, lost, adopt)
            except AlreadyExistsError as exc:
                if not adopt:
                    raise _already_exists(name, exc) from None
                keyset = client.get_keyset(name)
        return CreateResult(keyset.id, self._created(keyset, props))

    def _created(self, keyset: model.KeySet, props: dict[str, Any]) -> dict[str, Any]:
        """A create's outputs. With ``adopt_existing`` the set may be another resource's of this run (a rename):
        record it, so that resource's delete leaves it alone (``delete``)."""
        outs = self._outputs(keyset, props)
        if c.as_bool(props.get("adopt_existing"), False):
            outs[ADOPTION] = secrets.token_hex(8)
            _remember_adoption(outs)
        return outs

    @staticmethod
    def _after_lost_create(client: GraphClient, name: str, lost: OutcomeUnknownError, adopt: bool) -> model.KeySet:
        """The POST may have created the set. Ids are unique, so asking again is safe. When it now exists: with
        ``adopt_existing`` it is adopted anyway; without, it was absent just before (read under the lock), so an
        empty set is the one the lost POST made, and one holding keys was written by someone else since."""
        try:
            return client.create_keyset(name)
        except AlreadyExistsError as exc:
            keyset = client.get_keyset(name)
            if adopt or not keyset.keys:
                return keyset
            raise AlreadyExistsError(
                f"The key set {name} did not exist just before this create, whose answer was lost ({lost}), and now "
                f"holds {len(keyset.keys)} key(s) this request cannot have made: another stack or admin created it "
                f"meanwhile, so it was not adopted. See who owns it with `b2c-keys show {name}`; set "
                "adopt_existing=True only if this stack should manage it.",
                status=exc.status,
                code=exc.code,
            ) from None

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        try:
            keyset = self.client().get_keyset(id_)
        except NotFoundError:
            return ReadResult("", {})
        outs = self._outputs(keyset, props)
        if c.plain(props.get(ADOPTION)):
            outs[ADOPTION] = c.plain(props.get(ADOPTION))
        inputs = {k: outs[k] for k in ("name", "adopt_existing", "purge_backup_on_delete")}
        return ReadResult(keyset.id, outs, inputs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only the flags can change in place; they act on create and delete, so there is nothing to send.
        return UpdateResult({**olds, **self._inputs(news)})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete the set (and its backup when asked), unless another resource of this run adopted it."""
        with _adopted_lock:
            adopter = _adopted.get(_identity(id_))
        if adopter is not None and adopter != c.plain(props.get(ADOPTION)):
            return  # the same set under a new resource name: it lives on there
        client = self.client()
        targets = [id_]
        if c.as_bool(props.get("purge_backup_on_delete"), False):
            targets.append(id_ + model.BACKUP_SUFFIX)
        for keyset_id in targets:
            with suppress(NotFoundError):  # already gone: what delete wanted
                client.delete_keyset(keyset_id)

    @staticmethod
    def _inputs(props: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": c.plain(props.get("name")),
            "adopt_existing": c.as_bool(props.get("adopt_existing"), False),
            "purge_backup_on_delete": c.as_bool(props.get("purge_backup_on_delete"), False),
        }

    def _outputs(self, keyset: model.KeySet, props: dict[str, Any]) -> dict[str, Any]:
        return {**self._inputs(props), **c.keyset_outputs(keyset)}


class KeySet(Resource, module="b2c", name="KeySet"):
    """A B2C policy key set. Its keys are managed by key resources (``SecretKey``, ...) that name its ``keyset_id``."""

    keyset_id: pulumi.Output[str]
    """The id the service gave the key set (``B2C_1A_...``); also the Pulumi id."""
    keys: pulumi.Output[list[dict[str, Any]]]
    """Each key's ``kid``, ``kty``, ``use``, ``not_before``, ``expires_at`` (epoch seconds and ``_iso``), ``status``,
    as of the last create or refresh."""
    active_kid: pulumi.Output[str | None]
    """The kid of the key the service uses now, as of the last create or refresh."""

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str],
        adopt_existing: pulumi.Input[bool] = False,
        purge_backup_on_delete: pulumi.Input[bool] = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = KeySetArgs(name, adopt_existing, purge_backup_on_delete)
        props: dict[str, Any] = {
            "keyset_id": None,
            "keys": None,
            "active_kid": None,
            "name": args.name,
            "adopt_existing": args.adopt_existing,
            "purge_backup_on_delete": args.purge_backup_on_delete,
        }
        super().__init__(KeySetProvider(), resource_name, props, opts)
