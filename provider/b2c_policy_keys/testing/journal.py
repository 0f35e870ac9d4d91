"""The journal of one run and the checkpoint it makes (``pkg/backend/snapshot.go`` ``SnapshotManager``).

Starts from the old checkpoint; records each finished step's new state, the resources a replace left marked
``delete``, the deletes done, and the operations in flight (``pending_operations``). ``snapshot()`` merges them the
way the snapshot manager does: resources the run never touched stay as they were.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from b2c_policy_keys.testing.checkpoint import Checkpoint, PendingOperation, ResourceState


class Journal:
    def __init__(self, base: Checkpoint) -> None:
        self.base = base
        self._news: dict[str, ResourceState] = {}
        self._replaced: dict[str, ResourceState] = {}
        self._deleted: set[int] = set()
        self._pending: dict[str, PendingOperation] = {p.urn: p for p in base.pending_operations}
        self._lock = threading.Lock()

    def begin(self, op: PendingOperation) -> None:
        """An operation about to be sent (``SnapshotManager.BeginMutation``)."""
        with self._lock:
            self._pending[op.urn] = op

    def end(self, urn: str) -> None:
        with self._lock:
            self._pending.pop(urn, None)

    def record(self, new: ResourceState) -> None:
        """A step's new state (``sameSnapshotMutation``, ``createSnapshotMutation``, ``updateSnapshotMutation``)."""
        with self._lock:
            self._news[new.urn] = new

    def mark_replaced(self, old: ResourceState) -> ResourceState:
        """The old resource of a create-before-delete replace: kept, ``delete: true``, until its delete runs."""
        marked = replace(old, delete=True)
        with self._lock:
            self._replaced[old.urn] = marked
            self._deleted.add(id(old))
        return marked

    def deleted(self, old: ResourceState) -> None:
        with self._lock:
            self._deleted.add(id(old))
            if self._replaced.get(old.urn) is old:
                del self._replaced[old.urn]

    def replaced(self) -> list[ResourceState]:
        """Resources marked ``delete`` by this run's replaces (their deletes are deferred to the end)."""
        with self._lock:
            return list(self._replaced.values())

    def new_state(self, urn: str) -> ResourceState | None:
        return self._news.get(urn)

    def snapshot(self) -> Checkpoint:
        with self._lock:
            resources: list[ResourceState] = []
            for urn, new in self._news.items():
                if urn in self._replaced:
                    resources.append(self._replaced[urn])
                resources.append(new)
            for old in self.base.resources:
                if id(old) in self._deleted or (not old.delete and old.urn in self._news):
                    continue
                resources.append(old)
            for urn, marked in self._replaced.items():
                if urn not in self._news:
                    resources.append(marked)
            return Checkpoint(resources, list(self._pending.values()))
