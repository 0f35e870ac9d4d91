"""Cold start: provider host start to the first completed Create, against its floor measured in the same run.

The floor is what no provider can avoid: start ``python -m pulumi.dynamic`` (nothing of ours imported) and wait for
its port line, then one token request and one Graph request made with bare ``requests`` on a new connection. The
host side is what the engine does: start the host, Configure, Check, Create a key set. Floor and host runs
alternate after one unmeasured run of each, so disk caches and CPU frequency favour neither.
"""

from __future__ import annotations

import compileall
import json
import re
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from b2c_policy_keys.bench.overhead import bare_session, bare_token
from b2c_policy_keys.testing.host import PROJECT, SECRET_CONFIG_KEYS, STACK, ProviderHost, emulator_config, type_token
from b2c_policy_keys.testing.protocol import host_environment, start_process, stop_process


@dataclass(frozen=True)
class HostPhases:
    """Seconds from the host's start to the end of each engine call (cumulative)."""

    port_line: float
    configured: float  # connected and Configure answered
    checked: float  # Check answered: the provider unpickled, so its resource module imported
    created: float  # Create answered: the Graph client imported, a token fetched, the key set created


@dataclass(frozen=True)
class ColdStart:
    repetitions: int
    host_seconds: float
    floor_seconds: float
    port_line_seconds: float  # the floor's first part: the bare host up and listening
    host_phases: HostPhases

    @property
    def ratio(self) -> float:
        return self.host_seconds / self.floor_seconds


@dataclass(frozen=True)
class ImportCost:
    """Seconds to import, in a fresh interpreter that already holds what the bare host imports."""

    resource_module_seconds: float  # b2c_policy_keys.resources.secret_key (what unpickling a provider imports)
    graph_seconds: float  # b2c_policy_keys.graph on top (msal, requests: what the first Graph call imports)
    host_seconds: float  # pulumi.dynamic's own imports, for scale
    heaviest: list[tuple[str, float]]  # top-level packages by cumulative import time, from ``-X importtime``


def compile_package() -> None:
    """Write the package's bytecode, as ``pip install`` does, so a host imports it as an installed package would.

    Python only writes bytecode itself when importing, and not at all under ``PYTHONDONTWRITEBYTECODE`` (set in some
    development environments, this one included): then every host start compiled the package's sources again,
    about 15 ms of a 0.3 s cold start here, which an installed package never pays. The floor's modules (pulumi,
    requests) come from site-packages, compiled at install.
    """
    import b2c_policy_keys

    compileall.compile_dir(str(Path(b2c_policy_keys.__file__).parent), quiet=1)


def _floor(emu: Any, name: str) -> tuple[float, float]:
    started = time.perf_counter()
    proc, _port = start_process(host_environment(project=PROJECT, stack=STACK))
    try:
        port_line = time.perf_counter() - started
        with bare_session(emu) as session:
            token = bare_token(session, emu)
            response = session.post(
                f"{emu.graph_url}/beta/trustFramework/keySets",
                json={"id": f"B2C_1A_{name}"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            response.raise_for_status()
        return time.perf_counter() - started, port_line
    finally:
        stop_process(proc)


def _host(emu: Any, name: str) -> HostPhases:
    from b2c_policy_keys.resources.keyset import KeySetProvider

    provider = KeySetProvider()
    started = time.perf_counter()
    host = ProviderHost(reuse_pickles=True).start()
    try:
        host.configure(emulator_config(emu), SECRET_CONFIG_KEYS)
        configured = time.perf_counter() - started
        inputs = host.checked(provider, "first", {"name": name}).inputs
        checked = time.perf_counter() - started
        host.create(type_token(provider), "first", inputs)
        created = time.perf_counter() - started
        return HostPhases(host.port_line_seconds, configured, checked, created)
    finally:
        host.close()


def measure_cold_start(emu: Any, *, reps: int) -> ColdStart:
    run = uuid.uuid4().hex[:8]  # key set names unique to this run: the emulator may outlive it
    _floor(emu, f"BenchColdWarmFloor{run}")
    _host(emu, f"BenchColdWarmHost{run}")
    floors: list[float] = []
    port_lines: list[float] = []
    hosts: list[HostPhases] = []
    for i in range(reps):
        floor, port_line = _floor(emu, f"BenchColdFloor{run}{i}")
        floors.append(floor)
        port_lines.append(port_line)
        hosts.append(_host(emu, f"BenchColdHost{run}{i}"))
    phases = HostPhases(*(statistics.median(getattr(h, f) for h in hosts) for f in HostPhases.__dataclass_fields__))
    return ColdStart(reps, phases.created, statistics.median(floors), statistics.median(port_lines), phases)


_HOST_IMPORTS = "import grpc, dill, pulumi.dynamic.dynamic, pulumi.runtime.proto, pulumi.runtime._serialization"
_MARKER = "colorsys"

_TIMED_IMPORTS = f"""
import json, time
t0 = time.perf_counter()
{_HOST_IMPORTS}
t1 = time.perf_counter()
import b2c_policy_keys.resources.secret_key
t2 = time.perf_counter()
import b2c_policy_keys.graph
t3 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1, t3 - t2]))
"""

_IMPORTTIME = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s+(\S+)")


def measure_imports(*, reps: int) -> ImportCost:
    runs = []
    for _ in range(reps + 1):  # the first run warms the disk cache and writes .pyc files
        out = subprocess.run([sys.executable, "-c", _TIMED_IMPORTS], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout))
    host, resource, graph = (statistics.median(r[i] for r in runs[1:]) for i in range(3))
    # What the bare host imports first, then a marker (a stdlib module importing nothing), then the package: only
    # the lines after the marker are the package's own cost on the host's path.
    statement = f"{_HOST_IMPORTS}; import {_MARKER}; import b2c_policy_keys.resources.secret_key, b2c_policy_keys.graph"
    profile = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement], capture_output=True, text=True, check=True
    )
    lines = profile.stderr.splitlines()
    marker = next(i for i, line in enumerate(lines) if line.rstrip().endswith(f"| {_MARKER}"))
    packages: dict[str, float] = {}
    for match in _IMPORTTIME.finditer("\n".join(lines[marker + 1 :])):
        top = match.group(3).split(".")[0]  # self times add up to the whole, so sum them per top-level package
        packages[top] = packages.get(top, 0.0) + int(match.group(1)) / 1e6
    heaviest = sorted(packages.items(), key=lambda item: item[1], reverse=True)[:8]
    return ImportCost(resource, graph, host, heaviest)
