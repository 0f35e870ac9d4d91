"""Graph requests per operation, counted from the emulator's request log: the budget the README promises."""

from __future__ import annotations

from collections.abc import Callable

from b2c_policy_keys import KeySetProvider, SecretKeyProvider
from b2c_policy_keys.emulator import Emulator
from support.host import ProviderHost, graph_requests, token_requests

EXPIRES = "2099-12-31T23:59:59Z"


def test_requests_per_operation(host_factory: Callable[[], ProviderHost], emulator: Emulator) -> None:
    host = host_factory()
    counts: dict[str, int] = {}

    def measure(operation: str, action: Callable[[], object]) -> object:
        emulator.clear_requests()
        result = action()
        counts[operation] = len(graph_requests(emulator))
        return result

    keyset = measure("key set create", lambda: host.up(KeySetProvider(), "ks", {"name": "Counted"}))
    news = {"keyset_id": "B2C_1A_Counted", "value": "v-one", "expires_at": EXPIRES}
    key = measure("key upload", lambda: host.up(SecretKeyProvider(), "k", news))
    measure("no-change preview", lambda: host.preview(SecretKeyProvider(), "k", news, key))  # type: ignore[arg-type]
    measure("refresh (2 resources)", lambda: (host.refresh(keyset), host.refresh(key)))  # type: ignore[arg-type]
    rotated = measure("rotation", lambda: host.up(SecretKeyProvider(), "k", {**news, "value": "v-two"}, key))  # type: ignore[arg-type]
    measure("key delete", lambda: host.destroy(rotated))  # type: ignore[arg-type]
    off = {**news, "value": "v-off", "enabled": False}
    measure("key upload disabled", lambda: host.up(SecretKeyProvider(), "off", off))
    measure("key set delete", lambda: host.destroy(keyset))  # type: ignore[arg-type]
    adopting = {"name": "CountedToo", "adopt_existing": True}
    measure("key set create, adopt_existing", lambda: host.up(KeySetProvider(), "ks2", adopting))

    print("\noperation                       Graph requests")
    for operation, count in counts.items():
        print(f"{operation:<31} {count}")
    # Every add reads the set first (and a key set create reads before it posts): what the set held just before
    # the write is what proves, after a lost answer, which key (or set) the write made (issue 11).
    assert counts == {
        "key set create": 2,
        "key upload": 2,
        "no-change preview": 0,
        "refresh (2 resources)": 2,
        "rotation": 4,  # read, upload; the deferred delete: read the set (never leave it dark), disable
        "key delete": 2,  # read the set, disable
        "key upload disabled": 3,  # and a PATCH to disable it
        "key set delete": 1,
        # With adopt_existing a lost POST may adopt any set of that name, so nothing needs proving: no read first.
        "key set create, adopt_existing": 1,
    }


def test_one_token_request_per_provider_process(host_factory: Callable[[], ProviderHost], emulator: Emulator) -> None:
    first = host_factory()
    keyset = first.up(KeySetProvider(), "ks", {"name": "Tokens"})
    for i in range(5):
        first.up(SecretKeyProvider(), f"k{i}", {"keyset_id": keyset.id, "value": f"v{i}", "expires_at": EXPIRES})
    first.refresh(keyset)
    assert len(token_requests(emulator)) == 1

    second = host_factory()  # a second `pulumi up` is a second process: one more token
    second.refresh(keyset)
    assert len(token_requests(emulator)) == 2
