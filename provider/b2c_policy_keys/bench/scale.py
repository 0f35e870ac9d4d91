"""``up``, ``refresh`` and ``destroy`` of a program of N key sets with one secret key each, through the engine.

The program is a real ``__main__.py`` run by ``b2c_policy_keys.testing.engine.Engine`` as ``pulumi up
--skip-preview``, ``pulumi refresh`` and ``pulumi destroy --skip-preview`` run it: the Python language host's rules
for the program, a provider host per command started by the launcher's rules, the step generator's one-at-a-time
Check/Diff and the step executor's parallel Create/Read/Delete against the host's four workers, in dependency
order (a key after its set on create, before it on destroy). With a fixed injected latency per Graph request the
ideal wall time is ``requests x latency / 4``. CPU is measured per process: the engine (this process), the
program and host processes it started (their rusage once they exit), and the emulator.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from b2c_policy_keys.bench.counts import graph_requests, token_requests
from b2c_policy_keys.bench.overhead import bare_session, bare_token
from b2c_policy_keys.bench.proc import process_cpu_seconds
from b2c_policy_keys.testing.target import emulator_environ

CONCURRENCY = 4

#: The benchmark's program. ``pulumi.dynamic.Resource`` serialises its provider with ``serialize_provider``
#: (``sdk/python/lib/pulumi/dynamic/dynamic.py``), which wraps ``pickle._Pickler._batch_setitems`` in a new sorting
#: wrapper on every call and never restores it: after about 950 dynamic resources in one program the chain of
#: wrappers exceeds Python's recursion limit (RecursionError). The program puts the unwrapped method back before
#: each resource so that the measurement can reach 10,000 resources.
PROGRAM = """\
import pickle

import pulumi
from b2c_policy_keys import KeySet, SecretKey

unwrapped = pickle._Pickler._batch_setitems
for i in range({scale}):
    pickle._Pickler._batch_setitems = unwrapped  # see b2c_policy_keys.bench.scale.PROGRAM
    keyset = KeySet(f"set{{i}}", name=f"BenchScale{{i:05d}}")
    SecretKey(f"key{{i}}", keyset_id=keyset.keyset_id, value=pulumi.Output.secret(f"bench-scale-secret-{{i}}"))
"""


@dataclass(frozen=True)
class Step:
    name: str
    resources: int
    requests: int
    token_requests: int
    seconds: float
    latency_ms: int
    peak_rss_kib: int  # the largest process the engine has started so far (program or provider host)
    host_cpu_seconds: float  # the program and provider host processes of the command
    engine_cpu_seconds: float  # this process: the engine stand-in (the real engine is Go)
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

    def per_resource_ms(self, cpu_seconds: float) -> float:
        return cpu_seconds * 1000 / max(self.resources, 1)


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


def emulator_cpu(emu: Any) -> float:
    """CPU the emulator process has used (0 when it runs in this process: its share is in the engine's then)."""
    pid = getattr(emu, "pid", None)
    return process_cpu_seconds(pid) if isinstance(pid, int) else 0.0


def _depends(scale: int, first: str, then: str) -> After:
    """Each ``(then, i)`` waits for ``(first, i)``."""
    return {(then, i): [(first, i)] for i in range(scale)}


def write_project(root: Path, scale: int) -> Path:
    """A root program (no ``main``) whose provider host runs in this interpreter's environment."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text(
        f"name: b2c-bench\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {sys.prefix}\n"
    )
    (root / "__main__.py").write_text(textwrap.dedent(PROGRAM.format(scale=scale)))
    return root


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_scale(emu: Any, *, scale: int, latency_ms: int) -> list[Step]:
    """``up --skip-preview``, ``refresh``, ``destroy --skip-preview`` of ``scale`` key sets and their keys."""
    from b2c_policy_keys.testing.engine import Engine

    with tempfile.TemporaryDirectory(prefix="b2c-bench-") as folder:
        engine = Engine(write_project(Path(folder) / "project", scale), "bench", environ=emulator_environ(emu))
        commands: list[tuple[str, Callable[[], Any]]] = [
            ("up", partial(engine.up, skip_preview=True)),
            ("refresh", engine.refresh),
            ("destroy", partial(engine.destroy, skip_preview=True)),
        ]
        steps = []
        for name, command in commands:
            emu.clear_requests()
            before = (_children_cpu(), time.process_time(), emulator_cpu(emu))
            started = time.perf_counter()
            command()
            seconds = time.perf_counter() - started
            children, engine_cpu, emu_cpu = (
                after - first
                for after, first in zip((_children_cpu(), time.process_time(), emulator_cpu(emu)), before, strict=True)
            )
            log = emu.requests_log()
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            steps.append(
                Step(
                    name,
                    2 * scale,
                    len(graph_requests(log)),
                    len(token_requests(log)),
                    seconds,
                    latency_ms,
                    peak,
                    children,
                    engine_cpu,
                    emu_cpu,
                )
            )
    bare = bare_floor(emu, scale)
    return [replace(s, bare_seconds=bare[s.name]) for s in steps]


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
