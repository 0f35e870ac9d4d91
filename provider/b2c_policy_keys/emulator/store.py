"""SQLite persistence of the emulated tenant: key sets and their keys, never any secret material.

One file, ``tenant.sqlite3``, in the data directory (WAL, so separate processes see each other's writes), or an
in-memory database for tests. Key sets are stored as one JSON document each: every write of the Graph semantics is a
whole-key-set read-modify-write, so a document per set keeps each write one statement.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DB_FILE = "tenant.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keysets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE COLLATE NOCASE,
    keys TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class StoredKeySet:
    """A key set as persisted: ``keys`` are the public JWK fields plus status and, for secrets, salt and MAC."""

    id: str
    keys: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    seq: int = 0


class Store:
    """Thread-safe access to one tenant. Ids match case-insensitively and keep the case they were created with."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        self._db = connection
        self._lock = threading.RLock()
        self.path = path

    @classmethod
    def open(cls, data_dir: Path | None) -> Store:
        if data_dir is None:
            db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            path = None
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            path = data_dir / DB_FILE
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        return cls(db, path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: another process writing the same file waits instead of interleaving."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @staticmethod
    def _row(row: tuple[int, str, str]) -> StoredKeySet:
        return StoredKeySet(id=row[1], keys=tuple(json.loads(row[2])), seq=row[0])

    def get(self, keyset_id: str) -> StoredKeySet | None:
        with self._lock:
            row = self._db.execute("SELECT seq, id, keys FROM keysets WHERE id = ?", (keyset_id,)).fetchone()
        return None if row is None else self._row(row)

    def page(self, after_seq: int, limit: int) -> list[StoredKeySet]:
        """Key sets in creation order after ``after_seq``: paging that stays stable while sets come and go."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, id, keys FROM keysets WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
            ).fetchall()
        return [self._row(r) for r in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM keysets").fetchone()[0])

    def insert(self, keyset_id: str, keys: list[dict[str, Any]]) -> StoredKeySet | None:
        """Create a key set; None when one with this id (any case) already exists."""
        with self._transaction() as db:
            try:
                cursor = db.execute("INSERT INTO keysets (id, keys) VALUES (?, ?)", (keyset_id, json.dumps(keys)))
            except sqlite3.IntegrityError:
                return None
            return StoredKeySet(id=keyset_id, keys=tuple(keys), seq=int(cursor.lastrowid or 0))

    def replace_keys(self, keyset_id: str, keys: list[dict[str, Any]]) -> StoredKeySet | None:
        """Overwrite a key set's keys; None when it does not exist."""
        with self._transaction() as db:
            db.execute("UPDATE keysets SET keys = ? WHERE id = ?", (json.dumps(keys), keyset_id))
            row = db.execute("SELECT seq, id, keys FROM keysets WHERE id = ?", (keyset_id,)).fetchone()
        return None if row is None else self._row(row)

    def update(self, keyset_id: str, change: Callable[[StoredKeySet], list[dict[str, Any]]]) -> StoredKeySet | None:
        """Read, change and write a key set's keys in one transaction; None when it does not exist.

        Atomic even between processes sharing the data directory; an exception from ``change`` writes nothing.
        """
        with self._transaction() as db:
            row = db.execute("SELECT seq, id, keys FROM keysets WHERE id = ?", (keyset_id,)).fetchone()
            if row is None:
                return None
            keys = change(self._row(row))
            db.execute("UPDATE keysets SET keys = ? WHERE seq = ?", (json.dumps(keys), row[0]))
        return StoredKeySet(id=row[1], keys=tuple(keys), seq=row[0])

    def delete(self, keyset_id: str, backup_id: str | None) -> bool:
        """Delete a key set, moving its keys to ``backup_id`` (replacing any older backup) when given."""
        with self._transaction() as db:
            row = db.execute("SELECT seq, id, keys FROM keysets WHERE id = ?", (keyset_id,)).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM keysets WHERE id = ?", (keyset_id,))
            if backup_id is not None:
                db.execute("DELETE FROM keysets WHERE id = ?", (backup_id,))
                db.execute("INSERT INTO keysets (id, keys) VALUES (?, ?)", (backup_id, row[2]))
            return True

    def reset(self) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM keysets")
