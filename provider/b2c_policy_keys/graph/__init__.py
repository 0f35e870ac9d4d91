"""The Graph client layer: settings, credentials, transport and one method per key-set operation.

``client_for(settings)`` is how every resource, lookup and CLI command gets a client: one per distinct settings per
process, so the session, the token and the per-key-set locks are shared by everything the process does.
"""

from __future__ import annotations

import threading

from b2c_policy_keys.graph.client import GraphClient
from b2c_policy_keys.graph.settings import Settings, resolve_settings

__all__ = ["GraphClient", "Settings", "client_for", "resolve_settings"]

_clients: dict[Settings, GraphClient] = {}
_clients_lock = threading.Lock()


def client_for(settings: Settings) -> GraphClient:
    """The process-wide client for ``settings`` (thread-safe; built on first use, no network call until a request)."""
    client = _clients.get(settings)
    if client is not None:
        return client
    with _clients_lock:
        client = _clients.get(settings)
        if client is None:
            client = _clients[settings] = GraphClient(settings)
        return client
