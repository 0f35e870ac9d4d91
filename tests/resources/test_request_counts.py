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
    measure("key set delete", lambda: host.destroy(keyset))  # type: ignore[arg-type]

    print("\noperation              Graph requests")
    for operation, count in counts.items():
        print(f"{operation:<22} {count}")
    assert counts == {
        "key set create": 1,
        "key upload": 1,
        "no-change preview": 0,
        "refresh (2 resources)": 2,
        "rotation": 3,  # upload, then the deferred delete: read the set (never leave it dark), disable
        "key delete": 2,  # read the set, disable
        "key set delete": 1,
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
