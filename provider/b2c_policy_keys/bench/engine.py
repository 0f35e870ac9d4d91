"""A small stand-in for the Pulumi engine: starts ``python -m pulumi.dynamic`` and speaks its gRPC protocol.

This is the part of an engine a benchmark needs: one host process, Configure with the stack config (secrets wrapped as
the engine sends them), then Check/Diff/Create/Read/Update/Delete with ``__provider`` pickled as
``pulumi.dynamic.Resource`` pickles it. The plumbing it shares with the test harness (``tests/support/host.py``) is in
``b2c_policy_keys.bench.protocol``; what is its own is the timing, a pickle made once per provider class, and errors
that stop a run. Calls may be made from several threads at once; the host itself serves at most four at a time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Self

import grpc
from google.protobuf import empty_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.runtime.proto import provider_pb2

from b2c_policy_keys.bench import protocol
from b2c_policy_keys.bench.protocol import (
    RPC_TIMEOUT_S,
    SECRET_CONFIG_KEYS,
    HostProcess,
    check_request,
    config_struct,
    create_request,
    delete_request,
    diff_request,
    drain,
    pickled,
    plain,
    read_request,
    start_process,
    type_token,
    update_request,
)

PROJECT = "b2c-bench"
STACK = "bench"


class ProviderCallError(Exception):
    def __init__(self, method: str, details: str) -> None:
        super().__init__(f"{method} failed: {details}")


@dataclass(frozen=True)
class Resource:
    """One resource as the engine keeps it in the checkpoint."""

    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]

    @property
    def urn(self) -> str:
        return urn(self.type, self.name)


def urn(type_: str, name: str) -> str:
    return protocol.urn(type_, name, stack=STACK, project=PROJECT)


def host_environment() -> dict[str, str]:
    return protocol.host_environment(project=PROJECT, stack=STACK)


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU a process has used so far (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class EngineHost(HostProcess):
    """One provider host process, driven as the engine drives it for one ``pulumi up``/``refresh``/``destroy``."""

    def __init__(self) -> None:
        super().__init__()
        self._stderr: list[str] = []
        self._pickles: dict[type, str] = {}
        self._pickles_lock = threading.Lock()
        self.port_line_seconds = 0.0

    def start(self) -> Self:
        started = time.perf_counter()
        self._proc, port = start_process(host_environment())
        self.port_line_seconds = time.perf_counter() - started
        assert self._proc.stderr is not None
        drain(self._proc.stderr, self._stderr)
        self._connect(port)
        return self

    def peak_rss_kib(self) -> int:
        """``VmHWM`` of the host: the most resident memory it has had so far."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise RuntimeError("VmHWM is not in /proc/<pid>/status")

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    # --- calls --------------------------------------------------------------------------------------------

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(request, timeout=RPC_TIMEOUT_S)
        except grpc.RpcError as error:
            raise ProviderCallError(method, error.details() or str(error.code())) from None

    def _pickle(self, provider: ResourceProvider) -> str:
        with self._pickles_lock:
            found = self._pickles.get(type(provider))
            if found is None:
                found = self._pickles[type(provider)] = pickled(provider)
            return found

    def plugin_info(self) -> str:
        """GetPluginInfo: a call the host answers without a provider, to time the gRPC round trip alone."""
        return str(self._call("GetPluginInfo", empty_pb2.Empty()).version)

    def configure(self, config: Mapping[str, Any], secrets: Iterable[str] = SECRET_CONFIG_KEYS) -> None:
        self._call("Configure", provider_pb2.ConfigureRequest(args=config_struct(config, secrets), acceptSecrets=True))

    def check(
        self, provider: ResourceProvider, name: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        pickle = self._pickle(provider)
        response = self._call("Check", check_request(urn(type_token(provider), name), olds, news, pickle))
        if response.failures:
            raise ProviderCallError("Check", "; ".join(f.reason for f in response.failures))
        return plain(response.inputs)

    def create(self, type_: str, name: str, inputs: Mapping[str, Any]) -> Resource:
        response = self._call("Create", create_request(urn(type_, name), inputs))
        return Resource(type_, name, response.id, dict(inputs), plain(response.properties))

    def read(self, res: Resource) -> Resource | None:
        response = self._call("Read", read_request(res))
        if not response.id:
            return None
        inputs = plain(response.inputs) if response.HasField("inputs") else res.inputs
        return replace(res, id=response.id, inputs=inputs, outputs=plain(response.properties))

    def diff(self, res: Resource, news: Mapping[str, Any]) -> tuple[bool, list[str]]:
        """(changes, replaces) as the engine reads them."""
        response = self._call("Diff", diff_request(res, news))
        return response.changes != provider_pb2.DiffResponse.DIFF_NONE, list(response.replaces)

    def update(self, res: Resource, news: Mapping[str, Any]) -> Resource:
        response = self._call("Update", update_request(res, news))
        return replace(res, inputs=dict(news), outputs=plain(response.properties))

    def delete(self, res: Resource) -> None:
        self._call("Delete", delete_request(res))

    # --- engine steps -------------------------------------------------------------------------------------

    def up(
        self, provider: ResourceProvider, name: str, news: Mapping[str, Any], prior: Resource | None = None
    ) -> Resource:
        """Check, then Create, or Diff and Update/replace (create-before-delete) as ``pulumi up`` does."""
        inputs = self.check(provider, name, prior.inputs if prior else {}, news)
        if prior is None:
            return self.create(type_token(provider), name, inputs)
        changes, replaces = self.diff(prior, inputs)
        if not changes:
            return replace(prior, inputs=inputs)
        if not replaces:
            return self.update(prior, inputs)
        new = self.create(prior.type, name, inputs)
        self.delete(prior)
        return new

    def preview(self, provider: ResourceProvider, name: str, news: Mapping[str, Any], prior: Resource) -> bool:
        """``pulumi preview`` of an existing resource: Check and Diff only; True when it would change."""
        inputs = self.check(provider, name, prior.inputs, news)
        return self.diff(prior, inputs)[0]


def timed(action: Any, *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action(*args)
    return time.perf_counter() - started, result
