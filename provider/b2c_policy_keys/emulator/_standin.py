"""Temporary stand-in for the Graph semantics (emulator-graph branch), deleted when ``service.py`` lands.

Implements the pinned ``GraphService``/``Store`` interface just enough for the shell to be wired and tested.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b2c_policy_keys.emulator.envelope import RequestIds, error_body
from b2c_policy_keys.emulator.principal import Principal

PERMISSION_MESSAGE = (
    "The application does not have any of the required application permissions "
    "(TrustFrameworkKeySet.Read.All, TrustFrameworkKeySet.ReadWrite.All) to access the resource. "
)


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class Store:
    def __init__(self) -> None:
        self.keysets: dict[str, dict[str, Any]] = {}
        self.secrets: dict[tuple[str, str], str] = {}
        self.lock = threading.Lock()

    @classmethod
    def open(cls, data_dir: Path | None) -> Store:
        return cls()

    def close(self) -> None:
        pass


class GraphService:
    def __init__(self, store: Store, *, tenant_id: str, graph_url: str, latency_s: float = 0.0) -> None:
        self.store = store
        self.tenant_id = tenant_id

    def handle(
        self, method: str, path: str, query: Mapping[str, str], body: bytes, principal: Principal, ids: RequestIds
    ) -> Reply:
        if not principal.can_read or (method != "GET" and not principal.can_write):
            return Reply(403, error_body("AADB2C", PERMISSION_MESSAGE, ids))
        parts = path.strip("/").split("/")
        if parts[0] != "beta" or parts[1:3] != ["trustFramework", "keySets"]:
            return Reply(400, error_body("BadRequest", f"Resource not found for the segment '{parts[1]}'.", ids))
        with self.store.lock:
            if len(parts) == 3 and method == "GET":
                return Reply(200, {"value": list(self.store.keysets.values())})
            if len(parts) == 3 and method == "POST":
                name = json.loads(body or b"{}").get("id", "")
                keyset_id = name if name.startswith("B2C_1A_") else f"B2C_1A_{name}"
                self.store.keysets[keyset_id] = {"id": keyset_id, "keys": []}
                return Reply(201, self.store.keysets[keyset_id])
            keyset = self.store.keysets.get(parts[3])
            if keyset is None:
                return Reply(
                    404, error_body("AADB2C90073", f"KeyContainer with 'id': '{parts[3]}' cannot be found.", ids)
                )
            if len(parts) == 4 and method == "GET":
                return Reply(200, keyset)
            if len(parts) == 5 and parts[4] == "uploadSecret" and method == "POST":
                payload = json.loads(body)
                kid = f"kid{len(keyset['keys'])}"
                key = {"kid": kid, "use": payload.get("use", "sig"), "kty": "oct"}
                keyset["keys"].append(key)
                self.store.secrets[(parts[3], kid)] = payload.get("k", "")
                return Reply(200, key)
        return Reply(400, error_body("BadRequest", "Not supported by the stand-in.", ids))

    def reset(self) -> None:
        with self.store.lock:
            self.store.keysets.clear()
            self.store.secrets.clear()

    def secret_matches(self, keyset_id: str, kid: str, value: str) -> bool:
        return self.store.secrets.get((keyset_id, kid)) == value
