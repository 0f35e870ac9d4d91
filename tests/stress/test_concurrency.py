"""Concurrency: 100 secret keys in 10 key sets through one four-worker provider host, one set also written by another
process at the same time. The emulator refuses overlapping writes to one set (AADB2C95053) as B2C does: the provider
must absorb every refusal, and each set must end up holding exactly its keys.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from b2c_policy_keys import KeySetProvider, SecretKeyProvider
from b2c_policy_keys.emulator import Emulator
from support.host import SECRET_CONFIG_KEYS, ProviderHost, State, emulator_config

from .conftest import inspector

KEYSETS = 10
KEYS_PER_SET = 10
HOT = "B2C_1A_Concurrent0"
EXPIRES = "2099-12-31T23:59:59Z"
#: Every write holds its key set this long in the emulator, so that writes from two processes overlap.
WRITE_LATENCY_MS = 30
#: Collisions to see before the other process stops writing.
COLLISIONS = 3


def _value(set_number: int, key_number: int) -> str:
    return f"concurrency-secret-{set_number}-{key_number}-b71e"


def test_100_secret_keys_in_10_sets_with_colliding_writes(emulator_factory: Any) -> None:
    emu: Emulator = emulator_factory(latency_ms=WRITE_LATENCY_MS)
    with ProviderHost() as host:
        host.configure(emulator_config(emu), secrets=SECRET_CONFIG_KEYS)
        with ThreadPoolExecutor(KEYSETS) as pool:
            list(pool.map(lambda n: host.up(KeySetProvider(), f"set{n}", {"name": f"Concurrent{n}"}), range(KEYSETS)))

        # Another process (here: the test, with its own client and locks) writes the hot set the whole time.
        other = inspector(emu)
        stop = threading.Event()
        other_kids: list[str] = []

        def refusals() -> int:
            prefix = f"/beta/trustFramework/keySets/{HOT}/"
            return sum(1 for r in emu.requests_log() if r["status"] == 409 and r["path"].startswith(prefix))

        def other_writer() -> None:
            # Writing back to back keeps the hot set busy most of the time, so the host's writes to it collide; a
            # few collisions prove the point, after which it stops (each one costs the host a back-off).
            number = 0
            while not stop.is_set() and refusals() < COLLISIONS:
                other_kids.append(other.upload_secret(HOT, use="sig", value=f"other-process-{number}-c4d2").kid)
                number += 1

        def create(pair: tuple[int, int]) -> State:
            set_number, key_number = pair
            news = {
                "keyset_id": f"Concurrent{set_number}",
                "value": _value(set_number, key_number),
                "expires_at": EXPIRES,
            }
            return host.up(SecretKeyProvider(), f"key{set_number}-{key_number}", news)

        writer = threading.Thread(target=other_writer)
        writer.start()
        try:
            pairs = [(s, k) for k in range(KEYS_PER_SET) for s in range(KEYSETS)]
            with ThreadPoolExecutor(16) as pool:  # more callers than the host's four workers: it queues them
                states = list(pool.map(create, pairs))
        finally:
            stop.set()
            writer.join(timeout=120)
        assert not writer.is_alive()

        assert "AADB2C95053" not in host.output.text
        assert refusals() >= 1, "no write collided: the test proved nothing about AADB2C95053"

    graph = inspector(emu)
    by_set: dict[str, set[str]] = {}
    for (set_number, key_number), state in zip(pairs, states, strict=True):
        keyset_id = f"B2C_1A_Concurrent{set_number}"
        assert state.outputs["keyset_id"] == keyset_id
        by_set.setdefault(keyset_id, set()).add(state.outputs["kid"])
        assert emu.secret_matches(keyset_id, state.outputs["kid"], _value(set_number, key_number))
    for keyset_id, kids in by_set.items():
        held = [k.kid for k in graph.get_keyset(keyset_id).keys]
        expected = kids | (set(other_kids) if keyset_id == HOT else set())
        assert len(held) == len(set(held)) == len(expected), f"{keyset_id}: duplicate or missing keys"
        assert set(held) == expected
    assert sum(len(kids) for kids in by_set.values()) == KEYSETS * KEYS_PER_SET
