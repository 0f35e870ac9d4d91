"""One method per key-set operation of Graph, taking and returning the domain objects of ``b2c_policy_keys.model``.

Domain rules stay in ``model``; HTTP, retries and errors stay in ``transport``. Writes to one key set are
serialised in the process because the service rejects concurrent writes to the same set (AADB2C95053).
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

from b2c_policy_keys.errors import GraphError
from b2c_policy_keys.graph.settings import Settings
from b2c_policy_keys.graph.transport import Answer, Transport
from b2c_policy_keys.model import Key, KeySet, normalise_keyset_id, parse_moment

T = TypeVar("T")

#: The most pages ``list_keysets`` reads: 100,000 key sets at the default 100 a page, far above any tenant.
MAX_LIST_PAGES = 1000

_locks: dict[tuple[str, str, str], threading.RLock] = {}
_locks_guard = threading.Lock()


def _keyset_rlock(graph_url: str, tenant_id: str, keyset_id: str) -> threading.RLock:
    """One re-entrant lock per key set per process, shared by every client of the same tenant."""
    key = (graph_url, tenant_id.lower(), keyset_id.lower())
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = threading.RLock()
        return lock


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _dates(nbf: object, exp: object) -> dict[str, int]:
    """``nbf``/``exp`` as integer epoch seconds (the service rejects milliseconds and ISO strings)."""
    out = {}
    if nbf is not None:
        out["nbf"] = parse_moment(nbf)
    if exp is not None:
        out["exp"] = parse_moment(exp)
    return out


class GraphClient:
    """Graph ``trustFramework/keySets`` for one tenant and credential; get one with ``client_for(settings)``."""

    def __init__(self, settings: Settings, transport: Transport | None = None) -> None:
        self.settings = settings
        self._transport = transport or Transport(settings)

    # --- plumbing -----------------------------------------------------------------------------------------

    def keyset_lock(self, keyset_id: str) -> threading.RLock:
        """Hold it around read-then-write sequences on one key set; the client's own writes take it too."""
        return _keyset_rlock(self.settings.graph_url, self.settings.tenant_id, normalise_keyset_id(keyset_id))

    @staticmethod
    def _read(answer: Answer, read: Callable[[Mapping[str, Any]], T]) -> T:
        if not isinstance(answer.body, dict):
            raise answer.malformed("expected a JSON object")
        try:
            return read(answer.body)
        except (ValueError, TypeError, AttributeError, KeyError) as error:
            raise answer.malformed(str(error)[:200]) from None

    @staticmethod
    def _path(keyset_id: str, *rest: str) -> str:
        parts = ["/trustFramework/keySets", _segment(normalise_keyset_id(keyset_id)), *(_segment(p) for p in rest)]
        return "/".join(parts)

    @contextmanager
    def _writing(self, keyset_id: str) -> Iterator[None]:
        with self.keyset_lock(keyset_id):
            yield

    # --- key sets -----------------------------------------------------------------------------------------

    def list_keysets(self, *, page_size: int | None = None, max_pages: int = MAX_LIST_PAGES) -> list[KeySet]:
        """Every key set of the tenant (``.bak`` sets included), following ``@odata.nextLink``.

        At most ``max_pages`` pages, and never a link already followed: a service (or proxy) that links back to a
        page it served would otherwise keep the caller listing forever (issue 11 B18).
        """
        keysets: list[KeySet] = []
        path: str | None = "/trustFramework/keySets" + (f"?$top={int(page_size)}" if page_size else "")
        seen: set[str] = set()
        while path is not None:
            seen.add(self._absolute(path))
            answer = self._transport.request("GET", path)
            body = answer.body
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise answer.malformed("expected an object with a 'value' list")
            keysets.extend(self._read(replace(answer, body=item), KeySet.from_graph) for item in body["value"])
            path = self._next_link(answer, body.get("@odata.nextLink"))
            if path is not None and (self._absolute(path) in seen or len(seen) >= max_pages):
                looped = self._absolute(path) in seen
                why = "links back to a page already read" if looped else f"goes on past {max_pages} pages"
                raise GraphError(
                    f"Listing the key sets stopped: the service's @odata.nextLink {why}, so the list would never "
                    "end. Retry later; if it persists, read single key sets by name (b2c-keys show NAME).",
                    status=answer.status,
                    request_id=answer.request_id,
                    client_request_id=answer.client_request_id,
                )
        return keysets

    def _absolute(self, path: str) -> str:
        return path if path.startswith("https://") else self._transport.base_url + path

    def _next_link(self, answer: Answer, link: object) -> str | None:
        if link is None:
            return None
        # The token goes wherever the link points: follow it only under our own Graph root.
        if not isinstance(link, str) or not link.startswith(self._transport.base_url + "/"):
            raise answer.malformed("@odata.nextLink does not point under the configured Graph URL")
        return link

    def create_keyset(self, keyset_id: str) -> KeySet:
        keyset_id = normalise_keyset_id(keyset_id)
        with self._writing(keyset_id):
            answer = self._transport.request("POST", "/trustFramework/keySets", body={"id": keyset_id})
        if answer.body is None:
            return KeySet(id=keyset_id)
        return self._read(answer, KeySet.from_graph)

    def get_keyset(self, keyset_id: str) -> KeySet:
        return self._read(self._transport.request("GET", self._path(keyset_id)), KeySet.from_graph)

    def replace_keyset(self, keyset_id: str, keys: Sequence[Mapping[str, Any]]) -> KeySet:
        """PUT the whole set (the documented verb); keys must carry no ``kid`` (the service rejects it)."""
        with self._writing(keyset_id):
            answer = self._transport.request("PUT", self._path(keyset_id), body={"keys": [dict(k) for k in keys]})
            if answer.body is None:
                return self.get_keyset(keyset_id)
        return self._read(answer, KeySet.from_graph)

    def delete_keyset(self, keyset_id: str) -> None:
        """Delete the set; the service leaves ``<id>.bak`` behind, which callers delete separately if they wish."""
        with self._writing(keyset_id):
            self._transport.request("DELETE", self._path(keyset_id))

    # --- keys ---------------------------------------------------------------------------------------------

    def generate_key(self, keyset_id: str, *, use: str, kty: str, nbf: object = None, exp: object = None) -> Key:
        body = {"use": use, "kty": kty, **_dates(nbf, exp)}
        with self._writing(keyset_id):
            answer = self._transport.request("POST", self._path(keyset_id, "generateKey"), body=body)
        return self._read(answer, Key.from_graph)

    def get_active_key(self, keyset_id: str) -> Key:
        return self._read(self._transport.request("GET", self._path(keyset_id, "getActiveKey")), Key.from_graph)

    def upload_secret(self, keyset_id: str, *, use: str, value: str, nbf: object = None, exp: object = None) -> Key:
        body = {"use": use, "k": value, **_dates(nbf, exp)}
        with self._writing(keyset_id):
            answer = self._transport.request("POST", self._path(keyset_id, "uploadSecret"), body=body, secrets=(value,))
        return self._read(answer, Key.from_graph)

    def upload_certificate(self, keyset_id: str, *, certificate: str) -> Key:
        """``certificate``: base64 of the DER ``.cer`` file."""
        with self._writing(keyset_id):
            answer = self._transport.request(
                "POST", self._path(keyset_id, "uploadCertificate"), body={"key": certificate}
            )
        return self._read(answer, Key.from_graph)

    def upload_pkcs12(self, keyset_id: str, *, pfx: str, password: str) -> Key:
        """``pfx``: base64 of the ``.pfx`` file (TripleDES-SHA1; the service refuses AES-256 ones)."""
        with self._writing(keyset_id):
            answer = self._transport.request(
                "POST",
                self._path(keyset_id, "uploadPkcs12"),
                body={"key": pfx, "password": password},
                secrets=(password, pfx),
            )
        return self._read(answer, Key.from_graph)

    def get_key(self, keyset_id: str, kid: str) -> Key:
        return self._read(self._transport.request("GET", self._path(keyset_id, "keys_v2", kid)), Key.from_graph)

    def set_key_status(self, keyset_id: str, kid: str, status: str) -> None:
        """Enable or disable one key: the only way to retire a key without deleting the set."""
        with self._writing(keyset_id):
            self._transport.request("PATCH", self._path(keyset_id, "keys_v2", kid), body={"status": status})
