"""What the provider adds to the HTTP request it makes: one operation through the gRPC host vs. the bare request.

The bare side is ``requests`` on a warm keep-alive session with a token fetched beforehand: the least any client
could do. The two sides alternate call by call against the same emulator after the same warm-up, so drift (CPU
frequency, the emulator's store growing) lands on both equally; the ratio is of medians.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from b2c_policy_keys.testing.host import SECRET_CONFIG_KEYS, ProviderHost, emulator_config

SCOPE = "https://graph.microsoft.com/.default"


@dataclass(frozen=True)
class Overhead:
    operation: str
    bare_request: str
    repetitions: int
    host_ms: float
    bare_ms: float
    #: An empty gRPC call into the same host (GetPluginInfo): the least any provider operation costs through it.
    grpc_floor_ms: float = float("nan")

    @property
    def ratio(self) -> float:
        return self.host_ms / self.bare_ms


def bare_token(session: requests.Session, emu: Any) -> str:
    """One client-credentials token request, as msal would make it."""
    response = session.post(
        f"{emu.authority_host}/{emu.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
            "scope": SCOPE,
        },
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def bare_session(emu: Any) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emu.ca_bundle)
    return session


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


Call = Callable[[int], Any]


def _alternate(
    host_call: Call, bare_call: Call, floor_call: Call, warmup: int, reps: int
) -> tuple[float, float, float]:
    for i in range(warmup):
        host_call(-1 - i)
        bare_call(-1 - i)
        floor_call(-1 - i)
    samples: tuple[list[float], list[float], list[float]] = ([], [], [])
    for i in range(reps):
        for call, taken in zip((host_call, bare_call, floor_call), samples, strict=True):
            started = time.perf_counter()
            call(i)
            taken.append(time.perf_counter() - started)
    host, bare, floor = (_median_ms(taken) for taken in samples)
    return host, bare, floor


def measure_overhead(emu: Any, *, reps: int, warmup: int) -> list[Overhead]:
    from b2c_policy_keys.resources.keyset import KeySetProvider
    from b2c_policy_keys.resources.secret_key import SecretKeyProvider

    results: list[Overhead] = []
    with ProviderHost(reuse_pickles=True) as host, bare_session(emu) as session:
        host.configure(emulator_config(emu), SECRET_CONFIG_KEYS)
        host_set = host.up(KeySetProvider(), "host-set", {"name": "BenchOverheadHost"})
        bare_set = host.up(KeySetProvider(), "bare-set", {"name": "BenchOverheadBare"})
        session.headers["Authorization"] = "Bearer " + bare_token(session, emu)
        keysets = f"{emu.graph_url}/beta/trustFramework/keySets"

        # Refresh of a key set: Read through the host vs. the GET it makes.
        def bare_get(_: int) -> None:
            session.get(f"{keysets}/{bare_set.id}", timeout=30).raise_for_status()

        def grpc_floor(_: int) -> None:
            host.plugin_info()

        host_ms, bare_ms, floor_ms = _alternate(lambda _: host.read(host_set), bare_get, grpc_floor, warmup, reps)
        results.append(Overhead("KeySet read (refresh)", "GET keySets/{id}", reps, host_ms, bare_ms, floor_ms))

        # Create of a secret key (Check is the engine's call before Create and makes no request; timed apart).
        secret = SecretKeyProvider()
        checked = host.checked(secret, "k", {"keyset_id": host_set.id, "value": "bench-overhead-value"}).inputs

        def host_create(i: int) -> None:
            host.create("pulumi-python:dynamic/b2c:SecretKey", f"k{i}", checked)

        def bare_upload(_: int) -> None:
            body = {"use": "sig", "k": "bench-overhead-value", "nbf": int(time.time())}
            session.post(f"{keysets}/{bare_set.id}/uploadSecret", json=body, timeout=30).raise_for_status()

        host_ms, bare_ms, floor_ms = _alternate(host_create, bare_upload, grpc_floor, warmup, reps)
        results.append(Overhead("SecretKey create", "POST uploadSecret", reps, host_ms, bare_ms, floor_ms))
    return results
