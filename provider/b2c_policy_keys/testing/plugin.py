"""The engine's client of one provider host process (``pkg/resource/plugin/provider_plugin.go``'s ``provider``).

Started as the engine starts it (``plugin.go`` ``ExecPlugin``: the launcher's argv and environment, cwd = program
directory, the port read from the first line of stdout). Every call is recorded in order (``calls``); what the host
prints is kept as diagnostics. Secrets are unwrapped before every call but Configure: the host answers
``acceptSecrets: false`` (``provider_plugin.go`` ``Configure`` / ``pulumi/dynamic/__main__.py``).
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from b2c_policy_keys.testing.protocol import (
    RPC_TIMEOUT_S,
    Checked,
    DiffResult,
    checked_from,
    diff_from,
    drain,
    from_struct,
    stop_process,
    to_struct,
    unwrap,
    wrap_secret,
)


class ProviderCallFailed(Exception):
    """A provider call failed; the message is what the engine shows (the host's error text)."""

    def __init__(self, method: str, urn: str, details: str) -> None:
        self.method = method
        self.urn = urn
        self.details = details
        super().__init__(f"{urn}: {method} failed: {details}")


class HostStartFailed(Exception):
    """The provider host exited before printing its port (a missing virtualenv, a broken install)."""


@dataclass(frozen=True)
class Outputs:
    id: str
    outputs: dict[str, Any]
    secret_outputs: frozenset[str]
    inputs: dict[str, Any] | None = None


class Provider:
    """One ``pulumi-python`` provider host for one run (preview, update, refresh or destroy)."""

    def __init__(self, argv: list[str], env: Mapping[str, str], cwd: Path, calls: list[tuple[str, str]]) -> None:
        self.calls = calls
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        #: The most calls of each method that were in flight at once (Check and Diff: 1, the step generator's).
        self.peak: dict[str, int] = {}
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self._proc.stdout is not None and self._proc.stderr is not None
        line = self._proc.stdout.readline().decode(errors="replace").strip()
        if not line.isdigit():
            _, err = self._proc.communicate(timeout=30)
            raise HostStartFailed(
                f"could not start the pulumi-python provider host (exit {self._proc.returncode}): "
                f"{err.decode(errors='replace').strip() or line}"
            )
        drain(self._proc.stdout, self.stdout)
        drain(self._proc.stderr, self.stderr)
        self._channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        try:
            grpc.channel_ready_future(self._channel).result(timeout=30)
        except BaseException:
            self.close()
            raise
        self._stub: Any = provider_pb2_grpc.ResourceProviderStub(self._channel)

    def close(self) -> None:
        self._channel.close()
        stop_process(self._proc)

    def kill(self) -> None:
        """The CLI dying: the host goes with it, no goodbye."""
        self._proc.kill()
        self._proc.wait(timeout=10)

    def _call(self, method: str, request: Any, urn: str = "") -> Any:
        with self._lock:
            self.calls.append((method, urn))
            self._in_flight[method] = self._in_flight.get(method, 0) + 1
            self.peak[method] = max(self.peak.get(method, 0), self._in_flight[method])
        try:
            return getattr(self._stub, method)(request, timeout=RPC_TIMEOUT_S)
        except grpc.RpcError as exc:
            raise ProviderCallFailed(method, urn, exc.details() or exc.code().name) from None
        finally:
            with self._lock:
                self._in_flight[method] -= 1

    def configure(self, config: Mapping[str, tuple[str, bool]]) -> None:
        """The whole stack config, secrets wrapped (``target.go`` ``GetPackageConfig``)."""
        args = {k: wrap_secret(v) if secret else v for k, (v, secret) in config.items()}
        request = provider_pb2.ConfigureRequest(args=to_struct(args), acceptSecrets=True, acceptResources=True)
        self._call("Configure", request)

    def check(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Checked:
        request = provider_pb2.CheckRequest(urn=urn, olds=to_struct(olds), news=to_struct(news))
        return checked_from(self._call("Check", request, urn))

    def diff(
        self, urn: str, id_: str, old_outputs: Mapping[str, Any], old_inputs: Mapping[str, Any], news: Mapping[str, Any]
    ) -> DiffResult:
        request = provider_pb2.DiffRequest(
            id=id_, urn=urn, olds=to_struct(old_outputs), news=to_struct(news), old_inputs=to_struct(old_inputs)
        )
        return diff_from(self._call("Diff", request, urn))

    def create(self, urn: str, inputs: Mapping[str, Any]) -> Outputs:
        response = self._call("Create", provider_pb2.CreateRequest(urn=urn, properties=to_struct(inputs)), urn)
        outputs, secrets = unwrap(from_struct(response.properties))
        return Outputs(response.id, outputs, secrets)

    def read(self, urn: str, id_: str, outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> Outputs:
        request = provider_pb2.ReadRequest(id=id_, urn=urn, properties=to_struct(outputs), inputs=to_struct(inputs))
        response = self._call("Read", request, urn)
        new_outputs, secrets = unwrap(from_struct(response.properties))
        new_inputs = unwrap(from_struct(response.inputs))[0] if response.HasField("inputs") else None
        return Outputs(response.id, new_outputs, secrets, new_inputs)

    def update(
        self, urn: str, id_: str, old_outputs: Mapping[str, Any], old_inputs: Mapping[str, Any], news: Mapping[str, Any]
    ) -> Outputs:
        request = provider_pb2.UpdateRequest(
            id=id_, urn=urn, olds=to_struct(old_outputs), news=to_struct(news), old_inputs=to_struct(old_inputs)
        )
        response = self._call("Update", request, urn)
        outputs, secrets = unwrap(from_struct(response.properties))
        return Outputs(id_, outputs, secrets)

    def delete(self, urn: str, id_: str, outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
        request = provider_pb2.DeleteRequest(
            id=id_, urn=urn, properties=to_struct(outputs), old_inputs=to_struct(inputs)
        )
        self._call("Delete", request, urn)
