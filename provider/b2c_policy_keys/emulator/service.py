"""The Graph semantics of trustFramework/keySets: a pure request handler the HTTPS shell calls for /beta and /v1.0.

It knows nothing of sockets or tokens: the shell authenticates the caller and hands over a ``Principal``; this module
routes the OData path, enforces roles, validates bodies, serialises writes per key set and answers a ``Reply``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from b2c_policy_keys import certificates
from b2c_policy_keys.emulator import keys, refusals
from b2c_policy_keys.emulator import query as odata_query
from b2c_policy_keys.emulator.envelope import RequestIds, error_body
from b2c_policy_keys.emulator.principal import Principal
from b2c_policy_keys.emulator.refusals import Refusal
from b2c_policy_keys.emulator.store import Store, StoredKeySet
from b2c_policy_keys.model import BACKUP_SUFFIX, Key, active_key, keyset_name_problems, normalise_keyset_id, now_epoch

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
ACTIONS = ("generateKey", "getActiveKey", "uploadSecret", "uploadCertificate", "uploadPkcs12")
_ACTION_BY_NAME = {name.lower(): name for name in ACTIONS}
_QUALIFIER = "microsoft.graph."
_KEYSETS_KEY = re.compile(r"^keySets\((?:id=)?'(.*)'\)$", re.IGNORECASE)
_KEYS_V2_KEY = re.compile(r"^keys_v2\((?:kid=)?'(.*)'\)$", re.IGNORECASE)


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any] | None = None  # JSON body; None means empty (204)
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. Location


@dataclass(frozen=True)
class _Route:
    """What a path addresses: the collection, one key set, an action on it, or one of its keys."""

    kind: str  # "collection" | "count" | "keyset" | "action" | "keys" | "key"
    version: str
    keyset_id: str = ""
    action: str = ""
    kid: str = ""


# PATCH on a key set stays unserved (chosen): the docs say PUT, the SDKs' PATCH is unverified, and an emulator that
# took what the service may refuse would hide that from SDK users; the client sends PUT.
_ALLOWED = {
    "collection": ("GET", "POST"),
    "count": ("GET",),
    "keyset": ("GET", "PUT", "DELETE"),
    "keys": ("GET",),
    "key": ("GET", "PATCH"),
}


def _odata_literal(text: str) -> str:
    return text.replace("''", "'")


def _route(path: str) -> _Route:
    segments = [unquote(s) for s in path.split("/") if s]
    if not segments or segments[0].lower() not in ("beta", "v1.0"):
        raise refusals.segment_not_found(segments[0] if segments else "")
    version = segments[0].lower()
    rest = segments[1:]
    if not rest:
        raise refusals.segment_not_found(version)
    if version == "v1.0" or rest[0].lower() != "trustframework":
        # There is no trustFramework in v1.0: Graph names the first segment it cannot resolve.
        raise refusals.segment_not_found(rest[0])
    if len(rest) == 1:
        raise refusals.segment_not_found(rest[0])
    head, tail = rest[1], rest[2:]
    keyed = _KEYSETS_KEY.match(head)
    if keyed:
        keyset_id = _odata_literal(keyed.group(1))
    elif head.lower() == "keysets":
        if not tail:
            return _Route("collection", version)
        if tail == ["$count"]:
            return _Route("count", version)
        keyset_id, tail = tail[0], tail[1:]
    else:
        raise refusals.segment_not_found(head)
    if not tail:
        return _Route("keyset", version, keyset_id)
    first = tail[0]
    key_match = _KEYS_V2_KEY.match(first)
    if key_match and len(tail) == 1:
        return _Route("key", version, keyset_id, kid=_odata_literal(key_match.group(1)))
    if first.lower() == "keys_v2" and len(tail) == 1:
        return _Route("keys", version, keyset_id)
    if first.lower() == "keys_v2" and tail[1:] == ["$count"]:
        return _Route("count", version, keyset_id)
    if first.lower() == "keys_v2" and len(tail) == 2:
        return _Route("key", version, keyset_id, kid=tail[1])
    name = first[len(_QUALIFIER) :] if first.lower().startswith(_QUALIFIER) else first
    name = name[:-2] if name.endswith("()") else name
    action = _ACTION_BY_NAME.get(name.lower())
    if action is None or len(tail) != 1:
        raise refusals.segment_not_found(tail[0] if action is None else tail[1])
    return _Route("action", version, keyset_id, action=action)


class GraphService:
    """Everything under /beta/trustFramework (and the /v1.0 refusal), for one emulated B2C tenant."""

    def __init__(
        self,
        store: Store,
        *,
        tenant_id: str,
        graph_url: str,
        latency_s: float = 0.0,
        clock: Callable[[], int] = now_epoch,
    ) -> None:
        self._store = store
        self._tenant_id = tenant_id
        self._graph_url = graph_url.rstrip("/")
        self._latency_s = latency_s
        self._clock = clock
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()

    # --- the shell's entry points ------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: str | Mapping[str, str], body: bytes, principal: Principal, ids: RequestIds
    ) -> Reply:
        """Answer one Graph request. ``query`` is the raw query string (or the shell's already-parsed mapping)."""
        method = method.upper()
        waited = False  # latency is spent once per request, refused or not
        try:
            route = _route(path)
            allowed: tuple[str, ...] = ("GET",) if route.action == "getActiveKey" else ("POST",)
            allowed = _ALLOWED.get(route.kind, allowed)
            if method not in allowed and route.kind == "action":
                raise refusals.no_action(route.keyset_id, route.action)
            if method not in allowed:
                raise refusals.method_not_supported(method)
            writes = method != "GET"
            # keys_v2 reads need ReadWrite.All too (doc: permissions of trustFrameworkKey_v2 get; the collection
            # by analogy, chosen).
            needs_write = writes or route.kind in ("key", "keys")
            if not (principal.can_write if needs_write else principal.can_read):
                raise refusals.permission_denied(write=needs_write)
            payload = self._json(body) if method in ("POST", "PUT", "PATCH") else {}
            if not writes:
                self._spend_latency()
                waited = True
                return self._read(route, query)
            name = payload.get("id")
            flight = route.keyset_id
            if route.kind == "collection":
                flight = normalise_keyset_id(name) if isinstance(name, str) else ""
            with self._write_in_flight(flight):
                self._spend_latency()  # inside the flight: overlapping writes become observable
                waited = True
                return self._write(method, route, payload)
        except Refusal as refusal:
            if not waited:
                self._spend_latency()
            return Reply(refusal.status, error_body(refusal.code, refusal.message, ids))

    def reset(self) -> None:
        self._store.reset()

    def secret_matches(self, keyset_id: str, kid: str, value: str) -> bool:
        stored = self._store.get(keyset_id)
        key = next((k for k in stored.keys if k["kid"] == kid), None) if stored else None
        return key is not None and keys.secret_matches(key, value)

    # --- plumbing ------------------------------------------------------------------------------------------------

    def _spend_latency(self) -> None:
        if self._latency_s > 0:
            time.sleep(self._latency_s)

    @contextmanager
    def _write_in_flight(self, keyset_id: str) -> Iterator[None]:
        """One write per key set at a time; a second one arriving meanwhile is refused, as B2C does."""
        token = keyset_id.casefold()
        with self._in_flight_lock:
            if token in self._in_flight:
                raise refusals.concurrent_write()
            self._in_flight.add(token)
        try:
            yield
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(token)

    @staticmethod
    def _json(body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise refusals.malformed_json() from None
        if not isinstance(parsed, dict):
            raise refusals.malformed_json()
        return parsed

    def _context(self, version: str, fragment: str) -> str:
        return f"{self._graph_url}/{version}/$metadata#{fragment}"

    @staticmethod
    def _keyset_entity(stored: StoredKeySet) -> dict[str, Any]:
        return {"id": stored.id, "keys": [keys.public_view(k) for k in stored.keys]}

    def _keyset_body(self, version: str, stored: StoredKeySet) -> dict[str, Any]:
        context = self._context(version, "trustFramework/keySets/$entity")
        return {"@odata.context": context, **self._keyset_entity(stored)}

    def _key_body(self, version: str, key: Mapping[str, Any]) -> dict[str, Any]:
        # kty is "oct" everywhere, action answers included (ci: a real uploadSecret answer in the Schumann-IT
        # provider's acceptance test; the docs' "OCT" sits in an example of placeholders).
        view = keys.public_view(key)
        return {"@odata.context": self._context(version, "microsoft.graph.trustFrameworkKey"), **view}

    def _existing(self, keyset_id: str) -> StoredKeySet:
        stored = self._store.get(keyset_id)
        if stored is None:
            raise refusals.keyset_not_found(keyset_id, self._tenant_id)
        return stored

    # --- reads ---------------------------------------------------------------------------------------------------

    def _read(self, route: _Route, query: str | Mapping[str, str]) -> Reply:
        params = odata_query.parse(query)
        odata_query.check(params, route.kind)
        if route.kind == "count":
            raise refusals.query_option_not_allowed("$count")  # the /$count segment, refused like the option
        if route.kind == "collection":
            return self._list(route.version, params)
        stored = self._existing(route.keyset_id)
        if route.kind == "keyset":
            selected = odata_query.selection(params)
            body = self._keyset_body(route.version, stored)
            if selected is None:
                return Reply(200, body)
            fragment = f"trustFramework/keySets{odata_query.context_suffix(selected)}/$entity"
            entity = {name: body[name] for name in selected}
            return Reply(200, {"@odata.context": self._context(route.version, fragment), **entity})
        if route.kind == "keys":
            # Advertised by the metadata, runtime unverified: an OData collection of the keys (chosen).
            fragment = f"trustFramework/keySets('{stored.id}')/keys_v2"
            values = [keys.public_view(k) for k in stored.keys]
            return Reply(200, {"@odata.context": self._context(route.version, fragment), "value": values})
        if route.kind == "key":
            key = self._find_key(stored, route.kid)
            body = self._key_body(route.version, key)
            fragment = f"trustFramework/keySets('{stored.id}')/keys_v2/$entity"
            body["@odata.context"] = self._context(route.version, fragment)
            return Reply(200, body)
        # getActiveKey
        models = [(Key.from_graph(keys.public_view(k)), k) for k in stored.keys]
        chosen = active_key([m for m, _ in models], self._clock())
        if chosen is None:
            raise refusals.no_valid_key(stored.id, self._tenant_id)
        raw = next(k for m, k in models if m is chosen)
        return Reply(200, self._key_body(route.version, raw))

    def _list(self, version: str, params: Mapping[str, str]) -> Reply:
        selected = odata_query.selection(params)
        top = DEFAULT_PAGE_SIZE
        if "$top" in params:
            text = params["$top"]
            if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
                raise refusals.bad_query(f"Invalid $top value '{text}': expected an integer from 1 to {MAX_PAGE_SIZE}.")
            top = int(text)
        after = 0
        if "$skiptoken" in params:
            token = params["$skiptoken"]
            if not token.isdigit():
                raise refusals.bad_query("Invalid $skiptoken value.")
            after = int(token)
        page = self._store.page(after, top + 1)
        entities = [self._keyset_entity(s) for s in page[:top]]
        if selected is not None:
            entities = [{name: entity[name] for name in selected} for entity in entities]
        fragment = "trustFramework/keySets" + odata_query.context_suffix(selected)
        body: dict[str, Any] = {"@odata.context": self._context(version, fragment), "value": entities}
        if len(page) > top:
            link = f"{self._graph_url}/{version}/trustFramework/keySets?$top={top}&$skiptoken={page[top - 1].seq}"
            body["@odata.nextLink"] = link + (f"&$select={','.join(selected)}" if selected is not None else "")
        return Reply(200, body)

    @staticmethod
    def _find_key(stored: StoredKeySet, kid: str) -> dict[str, Any]:
        key = next((k for k in stored.keys if k["kid"] == kid), None)
        if key is None:
            raise refusals.key_not_found(stored.id, kid)
        return key

    # --- writes --------------------------------------------------------------------------------------------------

    def _write(self, method: str, route: _Route, payload: dict[str, Any]) -> Reply:
        if route.kind == "collection":
            return self._create(route.version, payload)
        if route.kind == "keyset" and method == "DELETE":
            return self._delete(route.keyset_id)
        if route.kind == "keyset":
            return self._replace(route.version, route.keyset_id, payload)
        if route.kind == "key":
            return self._set_status(route.keyset_id, route.kid, payload)
        stored = self._existing(route.keyset_id)
        key = self._new_key(route.action, payload, stored.id)  # outside the transaction: RSA generation takes a while

        def append(current: StoredKeySet) -> list[dict[str, Any]]:
            keys.check_family([*current.keys, key])
            return [*current.keys, key]

        if self._store.update(stored.id, append) is None:  # deleted by another process meanwhile
            raise refusals.keyset_not_found(route.keyset_id, self._tenant_id)
        return Reply(200, self._key_body(route.version, key))

    def _payload_keys(self, payload: Mapping[str, Any], keyset_id: str) -> list[dict[str, Any]]:
        raw = payload.get("keys")
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise refusals.keyset_field_invalid()
        if any(isinstance(k, Mapping) and "@odata.type" in k for k in raw):
            raise refusals.keyset_field_invalid()
        now = self._clock()
        where = keys.Container(self._tenant_id, keyset_id)
        made = [keys.from_jwk(k, now, where) for k in raw]
        keys.check_family(made)
        return made

    def _create(self, version: str, payload: dict[str, Any]) -> Reply:
        if "@odata.type" in payload:
            raise refusals.keyset_field_invalid()
        name = payload.get("id")
        if name is None or name == "":
            raise refusals.missing_parameter("id")
        if not isinstance(name, str):
            raise refusals.keyset_field_invalid()
        problems = keyset_name_problems(name)
        if problems:
            raise refusals.invalid_keyset_id(name, problems)
        keyset_id = normalise_keyset_id(name)
        made = self._payload_keys(payload, keyset_id)
        stored = self._store.insert(keyset_id, made)
        if stored is None:
            raise refusals.already_exists(keyset_id)
        body = self._keyset_body(version, stored)
        return Reply(201, body, {"Location": f"/trustFramework/keySets('{keyset_id}')"})

    def _replace(self, version: str, keyset_id: str, payload: dict[str, Any]) -> Reply:
        if "@odata.type" in payload:
            raise refusals.keyset_field_invalid()
        if "keys" not in payload:
            raise refusals.missing_parameter("keys")
        stored = self._existing(keyset_id)
        made = self._payload_keys(payload, stored.id)
        updated = self._store.update(stored.id, lambda _current: made)
        if updated is None:
            raise refusals.keyset_not_found(keyset_id, self._tenant_id)
        return Reply(200, self._keyset_body(version, updated))

    def _delete(self, keyset_id: str) -> Reply:
        stored = self._existing(keyset_id)
        backup = None if stored.id.lower().endswith(BACKUP_SUFFIX) else stored.id + BACKUP_SUFFIX
        if not self._store.delete(stored.id, backup):
            raise refusals.keyset_not_found(keyset_id, self._tenant_id)
        return Reply(204)

    def _set_status(self, keyset_id: str, kid: str, payload: dict[str, Any]) -> Reply:
        stored = self._existing(keyset_id)
        self._find_key(stored, kid)
        others = sorted(set(payload) - {"status", "@odata.type"})
        if others:
            raise refusals.badly_formatted(f"only status can be changed, not {', '.join(others)}")
        status = payload.get("status")
        if status is None or status == "":
            raise refusals.missing_parameter("status")
        if status not in ("enabled", "disabled"):
            raise refusals.badly_formatted(f"status must be enabled or disabled, not {status}")

        def change(current: StoredKeySet) -> list[dict[str, Any]]:
            self._find_key(current, kid)
            return [({**k, "status": status} if k["kid"] == kid else k) for k in current.keys]

        if self._store.update(stored.id, change) is None:
            raise refusals.keyset_not_found(keyset_id, self._tenant_id)
        return Reply(204)

    def _new_key(self, action: str, payload: Mapping[str, Any], keyset_id: str) -> dict[str, Any]:
        now = self._clock()
        where = keys.Container(self._tenant_id, keyset_id)
        if action == "generateKey":
            use, kty = keys.check_use(payload.get("use")), keys.check_kty(payload.get("kty"))
            nbf, exp = keys.check_validity(payload, now, where)
            return keys.generated(kty, use, nbf, exp)
        if action == "uploadSecret":
            use = keys.check_use(payload.get("use"))
            value = payload.get("k")
            if value is None or value == "":
                raise refusals.missing_parameter("k")
            if not isinstance(value, str):
                raise refusals.badly_formatted("k must be a string")
            nbf, exp = keys.check_validity(payload, now, where)
            return keys.uploaded_secret(value, use, nbf, exp)
        if action == "uploadCertificate":
            data = keys.decode_upload(payload.get("key"), "key", where)
            try:
                cert = certificates.load_certificate(data)
            except ValueError as exc:
                raise refusals.bad_certificate(keyset_id, self._tenant_id, str(exc)) from None
            return keys.from_certificate(certificates.certificate_facts(cert), now, where)
        # uploadPkcs12
        data = keys.decode_upload(payload.get("key"), "key", where)
        password = payload.get("password")
        if password is None:
            raise refusals.missing_parameter("password")
        if not isinstance(password, str):
            raise refusals.badly_formatted("password must be a string")
        if certificates.pkcs12_uses_aes256(data):
            raise refusals.wrong_pfx_password()  # B2C cannot open AES-256 PFX files and says so this way
        try:
            _private, cert = certificates.open_pkcs12(data, password)
        except certificates.Pkcs12PasswordError:
            raise refusals.wrong_pfx_password() from None
        except certificates.Pkcs12NoKeyError:
            raise refusals.badly_formatted("the PFX holds no private key") from None
        except ValueError as exc:
            raise refusals.bad_certificate(keyset_id, self._tenant_id, str(exc)) from None
        del _private  # only the certificate's public parts are kept
        return keys.from_certificate(certificates.certificate_facts(cert), now, where)
