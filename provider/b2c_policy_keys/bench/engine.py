"""A small stand-in for the Pulumi engine: starts ``python -m pulumi.dynamic`` and speaks its gRPC protocol.

The benchmark runs from an installed package, so it cannot use the test harness (``tests/support/host.py``). This is
the part of it a benchmark needs: one host process, Configure with the stack config (secrets wrapped as the engine
sends them), then Check/Diff/Create/Read/Update/Delete with ``__provider`` pickled as ``pulumi.dynamic.Resource``
pickles it. Calls may be made from several threads at once; the host itself serves at most four at a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

PROVIDER_KEY = "__provider"
PROJECT = "b2c-bench"
STACK = "bench"
RPC_TIMEOUT_S = 120.0
SECRET_CONFIG_KEYS = frozenset({"b2c:clientSecret"})

# Variables that would let the provider find credentials without Configure: the bench uses the Configure path only.
_CREDENTIAL_ENV_PREFIXES = ("ARM_", "AZURE_", "B2C_", "IDENTITY_", "MSI_")


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


def type_token(provider: ResourceProvider) -> str:
    return f"pulumi-python:dynamic/b2c:{type(provider).__name__.removesuffix('Provider')}"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def pickled(provider: ResourceProvider) -> str:
    value, _ = _serialize(True, serialize_provider, provider)
    return str(value)


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return struct


def _plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Properties with secrets unwrapped, as the engine hands them back to the provider on the next call."""
    return {k: rpc.unwrap_rpc_secret(v) for k, v in json_format.MessageToDict(struct).items()}


def emulator_config(emu: Any) -> dict[str, str]:
    """The stack config a user sets to point the provider at an emulator."""
    return {
        "b2c:tenantId": emu.tenant_id,
        "b2c:clientId": emu.client_id,
        "b2c:clientSecret": emu.client_secret,
        "b2c:graphUrl": emu.graph_url,
        "b2c:authorityHost": emu.authority_host,
        "b2c:caBundle": str(emu.ca_bundle),
    }


def host_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CREDENTIAL_ENV_PREFIXES)}
    env.update(PULUMI_PROJECT=PROJECT, PULUMI_STACK=STACK, PYTHONUNBUFFERED="1")
    return env


def start_process(*, env: Mapping[str, str] | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """``python -u -m pulumi.dynamic`` as the engine starts it, and the port from its first line."""
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.dynamic"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env if env is not None else host_environment()),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode(errors="replace").strip()
    if not line.isdigit():
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise RuntimeError(f"the provider host did not print its port: {line!r} {err.decode(errors='replace')}")
    return proc, int(line)


def stop_process(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU a process has used so far (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class EngineHost:
    """One provider host process, driven as the engine drives it for one ``pulumi up``/``refresh``/``destroy``."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: Any = None
        self._stderr: list[str] = []
        self._pickles: dict[type, str] = {}
        self._pickles_lock = threading.Lock()
        self.port_line_seconds = 0.0

    def start(self) -> EngineHost:
        started = time.perf_counter()
        self._proc, port = start_process()
        self.port_line_seconds = time.perf_counter() - started
        assert self._proc.stderr is not None
        stream = self._proc.stderr
        threading.Thread(target=self._drain, args=(stream,), daemon=True).start()
        try:
            self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(self._channel).result(timeout=30)
        except BaseException:
            self.close()  # never leave a host process behind
            raise
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        return self

    def _drain(self, stream: Any) -> None:
        for line in iter(stream.readline, b""):
            self._stderr.append(line.decode(errors="replace"))

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
        if self._proc is not None:
            stop_process(self._proc)

    def __enter__(self) -> EngineHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

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
        wrapped = set(secrets)
        args = {k: (dict(rpc.wrap_rpc_secret(v)) if k in wrapped else v) for k, v in config.items()}
        self._call("Configure", provider_pb2.ConfigureRequest(args=_struct(args), acceptSecrets=True))

    def check(
        self, provider: ResourceProvider, name: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> dict[str, Any]:
        pickle = self._pickle(provider)
        request = provider_pb2.CheckRequest(
            urn=urn(type_token(provider), name),
            olds=_struct({**olds, PROVIDER_KEY: olds.get(PROVIDER_KEY, pickle)} if olds else {}),
            news=_struct({**news, PROVIDER_KEY: pickle}),
        )
        response = self._call("Check", request)
        if response.failures:
            raise ProviderCallError("Check", "; ".join(f.reason for f in response.failures))
        return _plain(response.inputs)

    def create(self, type_: str, name: str, inputs: Mapping[str, Any]) -> Resource:
        response = self._call("Create", provider_pb2.CreateRequest(urn=urn(type_, name), properties=_struct(inputs)))
        return Resource(type_, name, response.id, dict(inputs), _plain(response.properties))

    def read(self, res: Resource) -> Resource | None:
        request = provider_pb2.ReadRequest(
            id=res.id, urn=res.urn, properties=_struct(res.outputs), inputs=_struct(res.inputs)
        )
        response = self._call("Read", request)
        if not response.id:
            return None
        inputs = _plain(response.inputs) if response.HasField("inputs") else res.inputs
        return replace(res, id=response.id, inputs=inputs, outputs=_plain(response.properties))

    def diff(self, res: Resource, news: Mapping[str, Any]) -> tuple[bool, list[str]]:
        """(changes, replaces) as the engine reads them."""
        request = provider_pb2.DiffRequest(
            id=res.id, urn=res.urn, olds=_struct(res.outputs), news=_struct(news), old_inputs=_struct(res.inputs)
        )
        response = self._call("Diff", request)
        return response.changes != provider_pb2.DiffResponse.DIFF_NONE, list(response.replaces)

    def update(self, res: Resource, news: Mapping[str, Any]) -> Resource:
        request = provider_pb2.UpdateRequest(
            id=res.id, urn=res.urn, olds=_struct(res.outputs), news=_struct(news), old_inputs=_struct(res.inputs)
        )
        response = self._call("Update", request)
        return replace(res, inputs=dict(news), outputs=_plain(response.properties))

    def delete(self, res: Resource) -> None:
        request = provider_pb2.DeleteRequest(
            id=res.id, urn=res.urn, properties=_struct(res.outputs), old_inputs=_struct(res.inputs)
        )
        self._call("Delete", request)

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
