"""Plumbing every B2C dynamic provider shares: credentials, check failures, unknowns, dates, outputs, fingerprints,
and adding a key exactly once.

Adding a key never adopts what it cannot prove it made (issue 11). The set is read under its lock just before the
write; after a lost or unreadable answer only keys new since that read are candidates, and a candidate is adopted
only with proof: a certificate's thumbprint (the same material), or a 2xx answer with exactly one new key of the
requested shape. Secrets and generated keys echo nothing of themselves, so a lost answer with a new key fails and
names the candidates and the ``b2c-keys`` commands; with none (and the connection closed) the add is sent again.

Why a base class: the engine pickles the provider instance into state and unpickles it in the provider host. The
instance must therefore carry nothing (``__getstate__`` returns ``{}``); credentials come from ``configure()`` (the
stack config) or the environment, and the Graph client is built lazily, once per process, in the host.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pulumi.dynamic import CheckFailure, ConfigureRequest, ReadResult, ResourceProvider, UpdateResult
from pulumi.output import Unknown
from pulumi.runtime import rpc

from b2c_policy_keys import model
from b2c_policy_keys.errors import B2CKeysError, GraphError, NotFoundError, OutcomeUnknownError, UncertainKeyError

if TYPE_CHECKING:
    from b2c_policy_keys.graph import GraphClient

#: Warn when a key expires within this many days (program side, during preview and up).
EXPIRY_WARNING_DAYS = 30

# Kids this process uploaded, per key set. Read under the key set lock when reconciling a lost upload, so a key
# another resource of the same deployment just created is never adopted twice.
_created_kids: dict[str, set[str]] = {}
_created_kids_lock = threading.Lock()


class B2CProvider(ResourceProvider):
    """A stateless provider: pickles to its class reference only, resolves credentials lazily in the host."""

    # The pickle is a class reference and holds no captured value, so it never needs to be a secret.
    serialize_as_secret_always = False

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Nothing to restore: a provider is rebuilt from configure() and the environment."""

    def configure(self, req: ConfigureRequest) -> None:
        # Keep the lookup, not the values: settings are resolved at first use, so a provider that never talks to
        # Graph (a no-change preview) never fails on missing credentials and never holds a secret.
        self._get_config: Callable[[str], object | None] = req.config.get
        self._client: GraphClient | None = None

    def client(self) -> GraphClient:
        # Resolved once per configured provider, not per call: resolving reads and checks the whole config and
        # environment (about 0.1 ms, a tenth of a loopback request), and the host's config never changes.
        client = getattr(self, "_client", None)
        if client is None:
            from b2c_policy_keys.graph import client_for, resolve_settings

            client = self._client = client_for(resolve_settings(getattr(self, "_get_config", None)))
        return client


# --- values as the engine sends them ------------------------------------------------------------------------


def is_unknown(value: object) -> bool:
    """Whether a preview value is not known yet (the host turns the engine's sentinel into ``Unknown``)."""
    return isinstance(value, Unknown) or value == rpc.UNKNOWN


def plain(value: Any) -> Any:
    """The value without a secret wrapper; the engine normally unwraps secrets itself, tests may not."""
    return rpc.unwrap_rpc_secret(value)


def secret(value: Any) -> Any:
    """Mark one output as a secret from the provider side (the engine keeps it encrypted in state)."""
    return value if value is None else rpc.wrap_rpc_secret(value)


def failure(prop: str, reason: str) -> CheckFailure:
    return CheckFailure(prop, f"{prop} {reason}")


#: Text a boolean input may arrive as (``pulumi.Config().get()`` returns strings), compared case-insensitively.
_BOOL_TEXT = {"true": True, "false": False}


def parse_bool(value: object) -> bool | None:
    """A boolean, or the text ``true``/``false`` in any case; None for anything else (never Python truthiness)."""
    value = plain(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _BOOL_TEXT.get(value.strip().lower())
    return None


def bool_problem(value: object) -> str:
    """Why ``value`` is not a boolean; names its type only, never the value (it might be a misplaced secret)."""
    shown = "text other than 'true' or 'false'" if isinstance(plain(value), str) else f"a {type(plain(value)).__name__}"
    return f"must be true or false (a boolean, or the text 'true'/'false'), got {shown}"


def as_bool(value: object, default: bool) -> bool:
    """A boolean input as check() accepted it: ``"false"`` is False. Raises ``ValueError`` for anything else."""
    if plain(value) is None:
        return default
    parsed = parse_bool(value)
    if parsed is None:
        raise ValueError(bool_problem(value))
    return parsed


def check_bool(prop: str, news: Mapping[str, Any], default: bool, failures: list[CheckFailure]) -> object:
    """A boolean input for check()'s inputs: parsed strictly (``"false"`` is False), unknown kept, else a failure."""
    value = plain(news.get(prop))
    if value is None:
        return default
    if is_unknown(value):
        return value
    parsed = parse_bool(value)
    if parsed is None:
        failures.append(failure(prop, bool_problem(value)))
        return default
    return parsed


def as_epoch(value: object) -> int | None:
    """An epoch-seconds number as the engine returns it (``1.7e9`` float) back to an int; None stays None.

    Old state is read with it too, and old state may hold anything (an ISO string, a list): what is not a date
    counts as absent instead of raising from check() or diff().
    """
    value = plain(value)
    if value is None or is_unknown(value):
        return None
    try:
        return model.parse_moment(value)
    except ValueError:
        return None


def normalise_version(value: object) -> str | None:
    """``version`` as text, so ``2`` and ``2.0`` (numbers arrive as floats) never differ."""
    value = plain(value)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def moment_input(value: Any) -> Any:
    """Program side: a ``datetime`` cannot be serialised to the engine, so send its ISO-8601 form for check()."""
    return value.isoformat() if isinstance(value, datetime) else value


#: How a Python author spells a date: resource arguments come from Python (the declaration gives YAML advice).
PYTHON_DATE_ADVICE = (
    "in Python pass a timezone-aware datetime (datetime(2027, 1, 31, tzinfo=timezone.utc)), "
    "an ISO-8601 string with an offset ('2027-01-31T00:00:00Z') or epoch seconds (an int)"
)


def check_moment(prop: str, value: object, failures: list[CheckFailure]) -> int | None:
    """Epoch seconds for a date input, or None (absent, unknown, or invalid with a failure recorded)."""
    value = plain(value)
    if value is None or is_unknown(value):
        return None
    try:
        return model.parse_moment(value)
    except ValueError as exc:
        failures.append(failure(prop, f"{exc}: {PYTHON_DATE_ADVICE}"))
        return None


def check_keyset_name(prop: str, value: object, failures: list[CheckFailure]) -> None:
    value = plain(value)
    if is_unknown(value):
        return
    failures.extend(failure(prop, problem) for problem in model.keyset_name_problems(value))


def same_keyset(a: object, b: object) -> bool:
    """Whether two spellings name the same key set: any case, with or without ``B2C_1A_`` (``model.same_keyset_id``)."""
    a, b = plain(a), plain(b)
    if not isinstance(a, str) or not isinstance(b, str):
        return a == b
    return model.same_keyset_id(a, b)


# --- outputs ------------------------------------------------------------------------------------------------


def keyset_outputs(keyset: model.KeySet) -> dict[str, Any]:
    active = keyset.active_key()
    return {
        "keyset_id": keyset.id,
        "keys": [key.to_output() for key in keyset.keys],
        "active_kid": None if active is None else active.kid,
    }


def key_outputs(keyset_id: str, key: model.Key) -> dict[str, Any]:
    return {"keyset_id": keyset_id, **key.to_output()}


# --- fingerprints -------------------------------------------------------------------------------------------


def new_salt() -> str:
    return secrets.token_hex(16)


def fingerprint(salt: str, value: str) -> str:
    """Salted HMAC-SHA256 of a secret value: detects a changed value without storing it, resists dictionaries."""
    return hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()


# --- adding a key exactly once ---------------------------------------------------------------------------
#
# What counts as proof that a key in the set is the one this very request added (issue 11):
# - Every add first reads the set, holding the per-set lock (``snapshot``): only keys that were not there just
#   before the write, and that this process did not add itself, can be the one it made ("new kids").
# - Certificates and PFX: a key carrying the certificate's thumbprint (``x5t``) holds the same material, which is
#   proof enough: after a lost answer the new key with that thumbprint is adopted, and an enabled key with it that
#   this process did not add (a run killed mid-upload) is adopted instead of uploading a duplicate.
# - Secrets and generated keys echo nothing of their content, and another stack may write into the same set between
#   the read and the write, so a new key after a lost answer is never proof: the create fails and names the
#   candidate kids and the commands that resolve it. Two facts are proof: the service answered 2xx (its body was
#   unreadable) and exactly one new key of the requested shape appeared; or, for a connection the service closed
#   (it is done with the request), no new key of that shape appeared, so the request made none and adding again is
#   safe.
# - "Same use and dates" alone proves nothing: the key being rotated, or another stack's, has them too.

#: The commands that find and retire a key a lost request may have added (``b2c-keys``, see the README).
UNTRACKED_COMMAND = "b2c-keys untracked"
DISABLE_COMMAND = "b2c-keys disable"


def remember_created(keyset_id: str, kid: str) -> None:
    with _created_kids_lock:
        _created_kids.setdefault(model.keyset_key(keyset_id), set()).add(kid)


def created_kids(keyset_id: str) -> frozenset[str]:
    with _created_kids_lock:
        return frozenset(_created_kids.get(model.keyset_key(keyset_id), ()))


@contextmanager
def keyset_writes(client: GraphClient, keyset_id: str) -> Iterator[None]:
    """Hold the client's per-key-set lock around a read-then-write, so adds and reconciliation never interleave."""
    with client.keyset_lock(keyset_id):
        yield


def same_use_and_dates(*, use: str, nbf: int | None, exp: int | None) -> Callable[[model.Key], bool]:
    """The shape of the key a request asked for: same use, not-before and expiry (a filter, never a proof)."""
    return lambda key: key.use == use and key.nbf == nbf and key.exp == exp


def add_key_once(
    client: GraphClient,
    keyset_id: str,
    add: Callable[[], model.Key],
    shape: Callable[[model.Key], bool],
    *,
    same_material: Callable[[model.Key], bool] | None = None,
) -> model.Key:
    """Run one key-adding POST (upload, generate) so that the set never gets a duplicate nor another's key.

    Two requests: a read of the set, then the POST, both holding the per-set lock (so no write of this process
    interleaves). ``shape`` tells the keys the request could have made (use, dates, type); ``same_material``, for
    certificates and PFX, tells a key holding the very same material (the thumbprint). See the proof rules above.
    """
    with client.keyset_lock(keyset_id):
        before = _snapshot(client, keyset_id)
        if same_material is not None:
            known = created_kids(keyset_id)
            present = next((k for k in before.keys if k.enabled and k.kid not in known and same_material(k)), None)
            if present is not None:  # a run killed mid-upload left it: the same material, so no second copy
                remember_created(keyset_id, present.kid)
                return present
        old = {k.kid for k in before.keys}
        key = _add_proven(client, keyset_id, add, shape, same_material, old)
        remember_created(keyset_id, key.kid)
        return key


def _snapshot(client: GraphClient, keyset_id: str) -> model.KeySet:
    try:
        return client.get_keyset(keyset_id)
    except NotFoundError as exc:
        raise NotFoundError(
            f"keyset_id: the key set {keyset_id} does not exist",
            status=exc.status,
            code=exc.code,
            request_id=exc.request_id,
            client_request_id=exc.client_request_id,
            hint="Declare it with a KeySet and pass its keyset_id, or correct keyset_id.",
        ) from None


def _add_proven(
    client: GraphClient,
    keyset_id: str,
    add: Callable[[], model.Key],
    shape: Callable[[model.Key], bool],
    same_material: Callable[[model.Key], bool] | None,
    old: set[str],
) -> model.Key:
    """The POST, and after a lost or unreadable answer the key it provably made (or a clear refusal)."""

    def new(key: model.Key) -> bool:
        return key.kid not in old and key.kid not in created_kids(keyset_id) and shape(key)

    def proven(key: model.Key) -> bool:
        return same_material is not None and same_material(key)

    for attempt in (1, 2):
        try:
            return add()
        except OutcomeUnknownError as lost:
            candidates = lost_key_candidates(client, keyset_id, lost, new, proven if same_material else None)
            if any(proven(k) for k in candidates):
                return next(k for k in candidates if proven(k))
            if candidates:
                raise UncertainKeyError(uncertain_message(keyset_id, str(lost), candidates)) from None
            if attempt == 2:
                raise
            # The service closed the connection and no new key of this shape exists: nothing was made, add again.
        except GraphError as unreadable:
            # A success whose body could not be read (a proxy mangled it): the service made exactly one key.
            if unreadable.status is None or not 200 <= unreadable.status < 300:
                raise
            try:
                candidates = [k for k in client.get_keyset(keyset_id).keys if new(k)]
            except B2CKeysError as unread:
                cause = f"{unreadable} Reading the set to find the key failed too: {unread}"
                raise UncertainKeyError(uncertain_message(keyset_id, cause, [])) from None
            if any(proven(k) for k in candidates) or len(candidates) == 1:
                return next((k for k in candidates if proven(k)), candidates[0])
            raise UncertainKeyError(uncertain_message(keyset_id, str(unreadable), candidates)) from None
    raise AssertionError("unreachable")  # pragma: no cover


#: Pauses between reads while a timed-out add may still be running in the service.
_LOST_ADD_POLL_S = (0.2, 0.4, 0.8, 1.6)


def lost_key_candidates(
    client: GraphClient,
    keyset_id: str,
    lost: OutcomeUnknownError,
    new: Callable[[model.Key], bool],
    proof: Callable[[model.Key], bool] | None,
) -> list[model.Key]:
    """The new keys a POST whose answer was lost may have made; empty when it provably made none.

    A connection the service closed means it is done with the request: one read tells. A timed-out request may
    still be running, so keep reading for as long again as an answer may take (``b2c:requestTimeout``), until a key
    that ``proof`` accepts (or, without one, any new key) appears; if none has, fail rather than risk a duplicate.
    A read that fails here fails the create with the same advice: the key may exist. Call it holding the set's lock.
    """
    deadline = time.monotonic() + (client.settings.request_timeout if lost.timed_out else 0.0)
    pauses = iter(_LOST_ADD_POLL_S)
    wanted = proof or new
    while True:
        try:
            keys = client.get_keyset(keyset_id).keys
        except B2CKeysError as unread:
            cause = f"{lost} Reading the set to learn whether it did failed too: {unread}"
            raise UncertainKeyError(uncertain_message(keyset_id, cause, [])) from None
        candidates = [k for k in keys if new(k)]
        remaining = deadline - time.monotonic()
        if any(wanted(k) for k in candidates) or remaining <= 0:
            break
        time.sleep(min(next(pauses, _LOST_ADD_POLL_S[-1]), remaining))
    if not candidates and lost.timed_out:
        raise UncertainKeyError(
            f"{lost} The key did not appear in {keyset_id} within {client.settings.request_timeout:g} s, so it was "
            f"not added again (that could duplicate it). It may still land: {_resolution(keyset_id)}"
        )
    return candidates


def uncertain_message(keyset_id: str, cause: str, candidates: Iterable[model.Key]) -> str:
    """Why a create stopped after a lost answer, the kids that may be its key, and the commands that resolve it."""
    kids = [k.kid for k in candidates]
    found = (
        f"The set holds {len(kids)} new key(s) that this request may have added, or another stack: {', '.join(kids)}. "
        if kids
        else "The key may have been added. "
    )
    return f"{cause} Nothing proves which key this request made, so none was adopted. {found}{_resolution(keyset_id)}"


def _resolution(keyset_id: str) -> str:
    return (
        f"Run `{UNTRACKED_COMMAND}` to list the keys of {keyset_id} no stack tracks, retire each with "
        f"`{DISABLE_COMMAND} {keyset_id} <kid>`, then run `pulumi up` again (a refresh does not help: the state does "
        "not know the key)."
    )


def without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def status_for(enabled: object) -> str:
    return "enabled" if as_bool(enabled, True) else "disabled"


def split_key_id(id_: str, props: Mapping[str, Any]) -> tuple[str, str]:
    """``(keyset_id, kid)`` of a key resource, from its outputs or else from its ``<keyset_id>/<kid>`` id."""
    keyset_id, _, kid = id_.partition("/")
    return (plain(props.get("keyset_id")) or keyset_id), (plain(props.get("kid")) or kid)


def warn_if_expiring(what: str, expires_at: object) -> None:
    """Program side: warn when a key expires within 30 days (only when the date is known in the program)."""
    import pulumi

    if expires_at is None or isinstance(expires_at, pulumi.Output):
        return
    try:
        seconds = model.parse_moment(moment_input(expires_at))
    except ValueError:
        return  # check() reports it with the property name
    days = (seconds - model.now_epoch()) / 86400
    # A past date is check()'s "must be in the future"; "plan a rotation" beside it would contradict it.
    if 0 < days < EXPIRY_WARNING_DAYS:
        when = model.iso_utc(seconds)
        pulumi.warn(f"{what}: expires_at {when} is within {EXPIRY_WARNING_DAYS} days; plan a rotation")


# --- key resources --------------------------------------------------------------------------------------------


class KeyProvider(B2CProvider):
    """What every key resource (one kid in one key set, id ``<keyset_id>/<kid>``) does alike: read, update, delete.

    Subclasses implement check, diff and create. Outputs carry the key as the service shows it plus whatever inputs
    the subclass echoed at create (diff receives old outputs only); ``secret_outputs`` are re-wrapped as secrets
    every time outputs are handed back.
    """

    #: Output names returned as secrets.
    secret_outputs: tuple[str, ...] = ()

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The key as the service shows it now; a retiring key (a scheduled rotation) that is gone is forgotten."""
        from b2c_policy_keys.resources._continuity import RETIRE_AT, RETIRING_KID  # local: keeps imports stable

        keyset_id, kid = split_key_id(id_, props)
        try:
            keyset = self.client().get_keyset(keyset_id)
        except NotFoundError:
            return ReadResult("", {})
        key = keyset.key(kid)
        if key is None:
            return ReadResult("", {})
        outs = {**self.carried(props), **key_outputs(keyset.id, key)}
        retiring = keyset.key(plain(props.get(RETIRING_KID)) or "")
        if retiring is None or not retiring.enabled:  # retired already (out of band, or never scheduled)
            outs.pop(RETIRING_KID, None)
            outs.pop(RETIRE_AT, None)
        # Inputs stay as they are: secret inputs are not in the outputs, and `enabled` is the wish, not the fact.
        return ReadResult(id_, outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Only ``enabled`` changes in place (every other input replaces): one PATCH when the status differs."""
        return UpdateResult(self.update_status(id_, olds, news))

    def update_status(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        """``olds`` carried with ``enabled`` and ``status`` as ``news`` asks (a PATCH only when the status differs)."""
        keyset_id, kid = split_key_id(id_, olds)
        wanted = status_for(news.get("enabled", True))
        if plain(olds.get("status")) != wanted:
            self.client().set_key_status(keyset_id, kid, wanted)
        return {**self.carried(olds), "enabled": as_bool(news.get("enabled"), True), "status": wanted}

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """B2C cannot delete one key: disable it (and a key it is retiring), so it is never active again.

        Never leaves the set dark while another of its keys is scheduled to take over: that refuses (see
        ``refuse_to_darken``), and the engine keeps the resource and retries the delete on the next ``up``, which
        succeeds once the other key is valid. Already gone is success. One read before the writes, under the key
        set's lock, to tell which keys would still be valid.
        """
        from b2c_policy_keys.resources._continuity import RETIRING_KID, refuse_to_darken

        keyset_id, kid = split_key_id(id_, props)
        kids = {k for k in (kid, plain(props.get(RETIRING_KID))) if isinstance(k, str) and k}
        client = self.client()
        with keyset_writes(client, keyset_id):
            try:
                keyset = client.get_keyset(keyset_id)
            except NotFoundError:
                return
            targets = [k for k in keyset.keys if k.kid in kids and k.enabled]
            refuse_to_darken(keyset, {k.kid for k in targets}, "deleting this key")
            for key in targets:
                with suppress(NotFoundError):
                    client.set_key_status(keyset.id, key.kid, "disabled")

    def carried(self, outputs: Mapping[str, Any]) -> dict[str, Any]:
        """Old outputs carried into new ones: plain values, secrets re-wrapped, ``__provider`` left to the host."""
        carried = {k: plain(v) for k, v in outputs.items() if k != "__provider"}
        for name in self.secret_outputs:
            carried[name] = secret(carried.get(name))
        return carried

    def finish_create(self, client: GraphClient, keyset_id: str, key: model.Key, props: Mapping[str, Any]) -> model.Key:
        """Disable a key declared ``enabled=False`` right after it was added (one more request, only then).

        The key exists once the add succeeded, so a failing PATCH must not fail the create: the engine would record
        nothing and the key would stay enabled and untracked. The create returns the key with its real status
        instead (the next ``up`` shows and makes the ``enabled`` update) and warns on stderr, which reaches the user.
        """
        if as_bool(props.get("enabled"), True) or key.status == "disabled":
            return key
        try:
            client.set_key_status(keyset_id, key.kid, "disabled")
        except B2CKeysError as failed:
            print(
                f"warning: {keyset_id}/{key.kid} was added but could not be disabled ({failed}); it is recorded as "
                "enabled and the next `pulumi up` disables it.",
                file=sys.stderr,
                flush=True,
            )
            return key
        return replace(key, status="disabled")


def enabled_differs(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    """Whether ``enabled`` asks for another status than the key has (after a refresh: also out-of-band changes)."""
    enabled = news.get("enabled", True)
    return is_unknown(enabled) or status_for(enabled) != plain(olds.get("status"))


def check_keyset_id(news: Mapping[str, Any], failures: list[CheckFailure]) -> None:
    """Every key resource's ``keyset_id``: required, and a valid key set name."""
    keyset_id = plain(news.get("keyset_id"))
    if keyset_id is None:
        failures.append(failure("keyset_id", "is required"))
    else:
        check_keyset_name("keyset_id", keyset_id, failures)
