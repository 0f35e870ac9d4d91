"""One token request per process until the token nears expiry, also with four threads asking at once."""

from __future__ import annotations

import threading
import time
from typing import Any

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.graph import GraphClient, client_for
from b2c_policy_keys.graph.credentials import TokenSource
from b2c_policy_keys.graph.http import MsalHttpClient, RequestOptions, shared_session
from b2c_policy_keys.graph.transport import Transport

from .support import emulator_settings, token_requests


def test_one_token_request_for_many_calls(emulator: Emulator) -> None:
    client = client_for(emulator_settings(emulator, **{"b2c:retryTimeout": "21"}))
    client.create_keyset("many")
    for _ in range(20):
        client.get_keyset("many")
    assert token_requests(emulator) == 1


def test_one_token_request_for_four_threads_at_once(emulator: Emulator) -> None:
    client = GraphClient(emulator_settings(emulator))
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            for _ in range(10):
                client.list_keysets()
        except BaseException as error:  # reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert token_requests(emulator) == 1
    assert sum(1 for e in emulator.requests_log() if e["path"] == "/beta/trustFramework/keySets") == 40


def test_writes_to_one_key_set_from_four_threads_are_serialised(emulator: Emulator) -> None:
    """The emulator answers overlapping writes to one set with AADB2C95053; the per-set lock prevents them."""
    client = GraphClient(emulator_settings(emulator))
    client.create_keyset("busy")
    start = threading.Barrier(4)

    def work(i: int) -> None:
        start.wait()
        client.upload_secret("busy", use="sig", value=f"value-number-{i}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(client.get_keyset("busy").keys) == 4
    assert all(e["status"] == 200 for e in emulator.requests_log() if e["path"].endswith("/uploadSecret"))


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def test_a_token_near_expiry_is_renewed(emulator_factory: Any) -> None:
    emu = emulator_factory(token_lifetime_s=60)
    settings = emulator_settings(emu)
    clock = Clock()
    tokens = TokenSource(settings, MsalHttpClient(shared_session(), RequestOptions.for_settings(settings)), clock)
    client = GraphClient(settings, Transport(settings, tokens=tokens))
    client.list_keysets()
    clock.offset = 25  # still more than half the lifetime left: reused
    client.list_keysets()
    assert token_requests(emu) == 1
    clock.offset = 35  # within the refresh margin: renewed once, then reused
    client.list_keysets()
    client.list_keysets()
    assert token_requests(emu) == 2
