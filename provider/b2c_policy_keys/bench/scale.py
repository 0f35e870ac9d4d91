"""``up``, ``refresh`` and ``destroy`` of N key sets with one secret key each, against the ideal for the service.

Each step gets its own host process, as each ``pulumi`` command does, and four calls in flight at once (the host's
gRPC pool has four workers) in dependency order: a key is created after its key set and deleted before it. With a
fixed injected latency per Graph request the ideal wall time is ``requests x latency / 4``.

On ``up``, Check is not one of the four: the engine's step generator calls Check for each resource as it registers,
one at a time, while the step executor runs Creates in parallel, so a resource's Check overlaps other Creates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from b2c_policy_keys.bench.counts import graph_requests, token_requests
from b2c_policy_keys.bench.engine import EngineHost, Resource, process_cpu_seconds
from b2c_policy_keys.bench.overhead import bare_session, bare_token
from b2c_policy_keys.bench.protocol import emulator_config

CONCURRENCY = 4
KEY_TYPE = "pulumi-python:dynamic/b2c:SecretKey"
KEYSET_TYPE = "pulumi-python:dynamic/b2c:KeySet"


@dataclass(frozen=True)
class Step:
    name: str
    resources: int
    requests: int
    token_requests: int
    seconds: float
    latency_ms: int
    peak_rss_kib: int
    host_cpu_seconds: float
    engine_cpu_seconds: float  # this process: the stand-in for the engine (the real one is Go)
    emulator_cpu_seconds: float
    bare_seconds: float = float("nan")  # the same requests made with bare ``requests``, four at a time

    @property
    def bare_ratio(self) -> float:
        """What the provider costs over the least a client could do, under the same concurrency and latency."""
        return self.seconds / self.bare_seconds

    @property
    def ideal_seconds(self) -> float:
        return self.requests * self.latency_ms / 1000 / CONCURRENCY

    @property
    def ratio(self) -> float:
        return self.seconds / self.ideal_seconds if self.ideal_seconds else float("nan")


def run_graph(
    tasks: Mapping[Hashable, Callable[[], Any]],
    after: Mapping[Hashable, Sequence[Hashable]],
    workers: int,
    serial: Callable[[Hashable], bool] = lambda name: False,
) -> dict[Hashable, Any]:
    """Run every task once at most ``workers`` at a time, each only after the tasks it depends on have finished.

    Tasks for which ``serial`` is true run one at a time on a lane of their own (the engine's step generator) and
    do not count against ``workers`` (the step executor's parallelism).
    """
    waiting = {name: set(after.get(name, ())) for name in tasks}
    dependants: dict[Hashable, list[Hashable]] = {}
    for name, needs in waiting.items():
        for need in needs:
            dependants.setdefault(need, []).append(name)
    results: dict[Hashable, Any] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool, ThreadPoolExecutor(max_workers=1) as generator:
        running: dict[Future[Any], Hashable] = {}

        def submit_ready() -> None:
            for name in [n for n, needs in waiting.items() if not needs]:
                del waiting[name]
                running[(generator if serial(name) else pool).submit(tasks[name])] = name

        submit_ready()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                results[name] = future.result()  # a failure stops the run: the figures would mean nothing
                for dependant in dependants.get(name, ()):
                    waiting[dependant].discard(name)
            submit_ready()
    return results


Tasks = dict[Hashable, Callable[[], Any]]
After = dict[Hashable, list[Hashable]]


def _step(
    emu: Any, name: str, latency_ms: int, work: Callable[[EngineHost], dict[Hashable, Any]]
) -> tuple[Step, dict[Hashable, Any]]:
    emu.clear_requests()
    with EngineHost() as host:
        host.configure(emulator_config(emu))
        cpu = (host.cpu_seconds(), time.process_time(), emulator_cpu(emu))
        started = time.perf_counter()
        result = work(host)
        seconds = time.perf_counter() - started
        host_cpu, engine_cpu, emu_cpu = (
            after - before
            for after, before in zip((host.cpu_seconds(), time.process_time(), emulator_cpu(emu)), cpu, strict=True)
        )
        peak = host.peak_rss_kib()
    log = emu.requests_log()
    tokens = len(token_requests(log))
    step = Step(
        name, len(result), len(graph_requests(log)), tokens, seconds, latency_ms, peak, host_cpu, engine_cpu, emu_cpu
    )
    return step, result


def emulator_cpu(emu: Any) -> float:
    """CPU the emulator process has used (0 when it runs in this process: its share is in the engine's then)."""
    pid = getattr(emu, "pid", None)
    return process_cpu_seconds(pid) if isinstance(pid, int) else 0.0


def _is_check(name: Hashable) -> bool:
    return isinstance(name, tuple) and str(name[0]).startswith("check")


def _depends(scale: int, first: str, then: str) -> After:
    """Each ``(then, i)`` waits for ``(first, i)``."""
    return {(then, i): [(first, i)] for i in range(scale)}


def measure_scale(emu: Any, *, scale: int, latency_ms: int) -> list[Step]:
    from b2c_policy_keys.resources.keyset import KeySetProvider
    from b2c_policy_keys.resources.secret_key import SecretKeyProvider

    keyset_provider, key_provider = KeySetProvider(), SecretKeyProvider()

    def up(host: EngineHost) -> dict[Hashable, Any]:
        created: dict[Hashable, Resource] = {}
        checked: dict[Hashable, dict[str, Any]] = {}

        def check_set(i: int) -> None:
            checked[("set", i)] = host.check(keyset_provider, f"set{i}", {}, {"name": f"BenchScale{i:05d}"})

        def check_key(i: int) -> None:
            news = {"keyset_id": created[("set", i)].outputs["keyset_id"], "value": f"bench-scale-secret-{i}"}
            checked[("key", i)] = host.check(key_provider, f"key{i}", {}, news)

        def make(kind: str, type_: str, i: int) -> Resource:
            res = created[(kind, i)] = host.create(type_, f"{kind}{i}", checked[(kind, i)])
            return res

        tasks: Tasks = {}
        after: After = {}
        for i in range(scale):
            tasks[("check set", i)] = partial(check_set, i)
            tasks[("set", i)] = partial(make, "set", KEYSET_TYPE, i)
            tasks[("check key", i)] = partial(check_key, i)  # the key registers once its set's outputs are known
            tasks[("key", i)] = partial(make, "key", KEY_TYPE, i)
            after[("set", i)] = [("check set", i)]
            after[("check key", i)] = [("set", i)]
            after[("key", i)] = [("check key", i)]
        results = run_graph(tasks, after, CONCURRENCY, serial=_is_check)
        return {name: res for name, res in results.items() if isinstance(res, Resource)}

    def refresh(host: EngineHost) -> dict[Hashable, Any]:
        read = run_graph({k: partial(host.read, r) for k, r in state.items()}, {}, CONCURRENCY)
        if any(r is None for r in read.values()):
            raise RuntimeError("refresh found a resource gone that the bench had just created")
        return read

    def destroy(host: EngineHost) -> dict[Hashable, Any]:
        return run_graph(
            {k: partial(host.delete, r) for k, r in state.items()}, _depends(scale, "key", "set"), CONCURRENCY
        )

    up_step, state = _step(emu, "up", latency_ms, up)
    refresh_step, state = _step(emu, "refresh", latency_ms, refresh)
    destroy_step, _ = _step(emu, "destroy", latency_ms, destroy)
    bare = bare_floor(emu, scale)
    return [replace(s, bare_seconds=bare[s.name]) for s in (up_step, refresh_step, destroy_step)]


def bare_floor(emu: Any, scale: int) -> dict[str, float]:
    """Wall time of each step's Graph requests made with bare ``requests`` (a pre-fetched token, one keep-alive
    session per worker), in the same dependency order and concurrency: the floor on this machine."""
    local = threading.local()
    session = bare_session(emu)
    token = bare_token(session, emu)
    session.close()

    def call(method: str, path: str, body: Any = None) -> Any:
        if not hasattr(local, "session"):
            local.session = bare_session(emu)
            local.session.headers["Authorization"] = f"Bearer {token}"
        url = f"{emu.graph_url}/beta/trustFramework/keySets{path}"
        response = local.session.request(method, url, json=body, timeout=60)
        response.raise_for_status()
        return response.json() if response.content else None

    kids: dict[int, str] = {}

    def make_set(i: int) -> None:
        call("POST", "", {"id": f"B2C_1A_BenchBare{i:05d}"})

    def upload(i: int) -> None:
        body = {"use": "sig", "k": f"bench-bare-secret-{i}", "nbf": int(time.time())}
        kids[i] = call("POST", f"/B2C_1A_BenchBare{i:05d}/uploadSecret", body)["kid"]

    def read(i: int) -> None:
        call("GET", f"/B2C_1A_BenchBare{i:05d}")

    def disable(i: int) -> None:
        call("PATCH", f"/B2C_1A_BenchBare{i:05d}/keys_v2/{kids[i]}", {"status": "disabled"})

    def delete(i: int) -> None:
        call("DELETE", f"/B2C_1A_BenchBare{i:05d}")

    def pair(set_task: Callable[[int], None], key_task: Callable[[int], None]) -> Tasks:
        tasks: Tasks = {("set", i): partial(set_task, i) for i in range(scale)}
        tasks.update({("key", i): partial(key_task, i) for i in range(scale)})
        return tasks

    steps: list[tuple[str, Callable[[], Tasks], After]] = [
        ("up", lambda: pair(make_set, upload), _depends(scale, "set", "key")),
        ("refresh", lambda: pair(read, read), {}),
        ("destroy", lambda: pair(delete, disable), _depends(scale, "key", "set")),
    ]
    seconds: dict[str, float] = {}
    for name, tasks, after in steps:
        work = tasks()
        started = time.perf_counter()
        run_graph(work, after, CONCURRENCY)
        seconds[name] = time.perf_counter() - started
    return seconds
