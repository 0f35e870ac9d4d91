"""SQLite persistence: what survives a restart, id matching, backups, paging, and thread safety."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from b2c_policy_keys.emulator.store import DB_FILE, Store


def test_a_tenant_on_disk_survives_reopening(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.insert("B2C_1A_kept", [{"kid": "k1", "kty": "oct", "use": "sig"}])
    store.close()
    again = Store.open(tmp_path)
    stored = again.get("B2C_1A_kept")
    assert stored is not None and stored.keys == ({"kid": "k1", "kty": "oct", "use": "sig"},)
    assert (tmp_path / DB_FILE).is_file()
    mode = sqlite3.connect(tmp_path / DB_FILE).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    again.close()


def test_two_stores_on_one_directory_see_each_others_writes(tmp_path: Path) -> None:
    first, second = Store.open(tmp_path), Store.open(tmp_path)
    first.insert("B2C_1A_shared", [])
    assert second.get("B2C_1A_shared") is not None
    assert second.insert("B2C_1A_SHARED", []) is None
    first.close()
    second.close()


def test_in_memory_stores_are_separate() -> None:
    one, two = Store.open(None), Store.open(None)
    one.insert("B2C_1A_x", [])
    assert two.get("B2C_1A_x") is None and one.count() == 1


def test_ids_match_in_any_case_and_keep_their_own() -> None:
    store = Store.open(None)
    store.insert("B2C_1A_MixedCase", [])
    stored = store.get("b2c_1a_mixedcase")
    assert stored is not None and stored.id == "B2C_1A_MixedCase"
    assert store.insert("b2c_1a_MIXEDCASE", []) is None


def test_replace_and_delete_of_a_missing_set_report_it() -> None:
    store = Store.open(None)
    assert store.replace_keys("B2C_1A_none", []) is None
    assert store.delete("B2C_1A_none", "B2C_1A_none.bak") is False
    assert store.count() == 0


def test_delete_moves_keys_to_the_backup_and_replaces_an_older_backup() -> None:
    store = Store.open(None)
    store.insert("B2C_1A_x", [{"kid": "old"}])
    assert store.delete("B2C_1A_x", "B2C_1A_x.bak")
    store.insert("B2C_1A_x", [{"kid": "new"}])
    assert store.delete("B2C_1A_x", "B2C_1A_x.bak")
    backup = store.get("B2C_1A_x.bak")
    assert backup is not None and backup.keys == ({"kid": "new"},)
    assert store.get("B2C_1A_x") is None and store.count() == 1
    assert store.delete("B2C_1A_x.bak", None) and store.count() == 0


def test_pages_follow_creation_order_and_stay_stable_across_deletes() -> None:
    store = Store.open(None)
    for i in range(5):
        store.insert(f"B2C_1A_s{i}", [])
    first = store.page(0, 2)
    assert [s.id for s in first] == ["B2C_1A_s0", "B2C_1A_s1"]
    store.delete("B2C_1A_s2", None)
    rest = store.page(first[-1].seq, 10)
    assert [s.id for s in rest] == ["B2C_1A_s3", "B2C_1A_s4"]


def test_reset_empties_everything() -> None:
    store = Store.open(None)
    store.insert("B2C_1A_a", [])
    store.reset()
    assert store.count() == 0 and store.page(0, 10) == []


def test_parallel_inserts_and_updates_from_threads_are_all_kept(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                keyset_id = f"B2C_1A_t{n}_{i}"
                assert store.insert(keyset_id, []) is not None
                assert store.replace_keys(keyset_id, [{"kid": str(i)}]) is not None
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert store.count() == 200
    assert all(s.keys for s in store.page(0, 500))
    store.close()


def test_update_is_one_transaction_and_a_failing_change_writes_nothing() -> None:
    store = Store.open(None)
    store.insert("B2C_1A_u", [{"kid": "a"}])
    updated = store.update("B2C_1A_u", lambda current: [*current.keys, {"kid": "b"}])
    assert updated is not None and [k["kid"] for k in updated.keys] == ["a", "b"]

    def refuse(_current: object) -> list[dict[str, str]]:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        store.update("B2C_1A_u", refuse)
    stored = store.get("B2C_1A_u")
    assert stored is not None and [k["kid"] for k in stored.keys] == ["a", "b"]
    assert store.update("B2C_1A_missing", lambda current: []) is None


def test_appends_through_two_stores_on_one_directory_lose_nothing(tmp_path: Path) -> None:
    """Two emulator processes may share a data directory: read-change-write must not lose either's keys."""
    stores = [Store.open(tmp_path), Store.open(tmp_path)]
    stores[0].insert("B2C_1A_shared", [])

    def append(store: Store, tag: str) -> None:
        for i in range(30):
            store.update("B2C_1A_shared", lambda current, i=i: [*current.keys, {"kid": f"{tag}{i}"}])

    threads = [threading.Thread(target=append, args=(s, tag)) for s, tag in zip(stores * 2, "abcd", strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    stored = stores[1].get("B2C_1A_shared")
    assert stored is not None and len(stored.keys) == 120 and len({k["kid"] for k in stored.keys}) == 120
    for store in stores:
        store.close()
