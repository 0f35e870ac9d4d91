"""The engine's side of the dynamic-provider protocol, the part every stand-in for the Pulumi engine does the same way.

Two drivers start ``python -m pulumi.dynamic`` and speak gRPC to it as the engine does: the program-level engine's
(``b2c_policy_keys.testing.plugin``) and the engine-level one that tests and the benchmark share
(``b2c_policy_keys.testing.host``). What both do identically lives here, once: starting the host and reading its
port line, the channel and stub (``HostProcess``), ``__provider`` pickled as ``pulumi.dynamic.Resource`` pickles it,
type tokens and URNs, the Configure arguments (namespaced keys, secrets wrapped) and the property structs of every
request.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any, Protocol, Self

import grpc
from google.protobuf import json_format, struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from b2c_policy_keys.testing.target import CREDENTIAL_ENV_PREFIXES, emulator_config, emulator_environ

__all__ = [
    "CREDENTIAL_ENV_PREFIXES",
    "PROVIDER_KEY",
    "RPC_TIMEOUT_S",
    "SECRET_CONFIG_KEYS",
    "Checkpointed",
    "HostProcess",
    "check_request",
    "config_struct",
    "create_request",
    "delete_request",
    "diff_request",
    "drain",
    "emulator_config",
    "emulator_environ",
    "from_struct",
    "host_environment",
    "pickled",
    "plain",
    "read_request",
    "start_process",
    "stop_process",
    "to_struct",
    "type_token",
    "unwrap",
    "update_request",
    "urn",
    "with_provider",
    "wrap_secret",
]

PROVIDER_KEY = "__provider"
RPC_TIMEOUT_S = 120.0
#: Config keys the engine sends as secrets (``pulumi config set --secret``).
SECRET_CONFIG_KEYS = frozenset({"b2c:clientSecret", "b2c:clientCertificatePassword"})


class Checkpointed(Protocol):
    """One resource as the engine keeps it in the checkpoint: what Read, Diff, Update and Delete send back."""

    @property
    def id(self) -> str: ...

    @property
    def urn(self) -> str: ...

    @property
    def inputs(self) -> dict[str, Any]: ...

    @property
    def outputs(self) -> dict[str, Any]: ...


# --- the host process ---------------------------------------------------------------------------------------------


def host_environment(*, project: str, stack: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` as given, or this process's without credential variables; plus what the engine sets for the host."""
    if env is None:
        base = {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_ENV_PREFIXES)}
    else:
        base = dict(env)
    base.update(PULUMI_PROJECT=project, PULUMI_STACK=stack, PYTHONUNBUFFERED="1")
    return base


def start_process(env: Mapping[str, str], *, cwd: str | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """``python -u -m pulumi.dynamic`` as the engine starts it, and the port from its first line."""
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.dynamic"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
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


def drain(stream: IO[bytes], sink: list[str]) -> None:
    """Read a host's output into ``sink`` in the background, so the host never blocks on a full pipe."""

    def pump() -> None:
        for line in iter(stream.readline, b""):
            sink.append(line.decode(errors="replace"))

    threading.Thread(target=pump, daemon=True).start()


class HostProcess:
    """A running host and the ``ResourceProvider`` stub to call it; a driver adds ``start`` and the calls."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: Any = None

    def start(self) -> Self:
        """Start the host (``start_process``), drain its output, then ``_connect`` to its port."""
        raise NotImplementedError

    def _connect(self, port: int) -> None:
        try:
            self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(self._channel).result(timeout=30)
        except BaseException:
            self.close()  # never leave a host process behind
            raise
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
        if self._proc is not None:
            stop_process(self._proc)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid


# --- names and the provider ---------------------------------------------------------------------------------------


def type_token(provider: ResourceProvider) -> str:
    return f"pulumi-python:dynamic/b2c:{type(provider).__name__.removesuffix('Provider')}"


def urn(type_: str, name: str, *, stack: str, project: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def pickled(provider: ResourceProvider) -> str:
    """``__provider`` exactly as ``pulumi.dynamic.Resource`` builds it."""
    value, _contains_secrets = _serialize(True, serialize_provider, provider)
    return str(value)


def with_provider(props: Mapping[str, Any], pickle: str) -> dict[str, Any]:
    """``props`` carrying ``__provider``: the one they have, else ``pickle``."""
    return {**props, PROVIDER_KEY: props.get(PROVIDER_KEY, pickle)}


# --- properties ---------------------------------------------------------------------------------------------------


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return struct


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """The raw property map (secrets still wrapped), as the engine receives it."""
    return dict(json_format.MessageToDict(struct))


def unwrap(props: Mapping[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """Plain values and the names of the top-level properties that came back as secrets."""
    secret_names = frozenset(k for k, v in props.items() if rpc.is_rpc_secret(v))
    return {k: rpc.unwrap_rpc_secret(v) for k, v in props.items()}, secret_names


def plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Properties with secrets unwrapped, as the engine hands them back to the provider on the next call."""
    return {k: rpc.unwrap_rpc_secret(v) for k, v in json_format.MessageToDict(struct).items()}


def wrap_secret(value: Any) -> dict[str, Any]:
    return dict(rpc.wrap_rpc_secret(value))


def config_struct(config: Mapping[str, Any], secrets: Iterable[str] = ()) -> struct_pb2.Struct:
    """The Configure ``args``: keys namespaced (``b2c:tenantId``), secret values wrapped as the engine sends them."""
    secret_keys = set(secrets)
    args: dict[str, Any] = {}
    for key, value in config.items():
        if ":" not in key:
            raise ValueError(f"config key {key!r} must be namespaced, like 'b2c:tenantId'")
        args[key] = wrap_secret(value) if key in secret_keys else value
    return to_struct(args)


# --- answers ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A Check answer: the checked inputs (secrets unwrapped) and each failure as ``(property, reason)``."""

    inputs: dict[str, Any]
    failures: list[tuple[str, str]]


@dataclass(frozen=True)
class DiffResult:
    """A Diff answer as the engine reads it."""

    changes: str  # "none", "some" or "unknown"
    replaces: list[str]
    delete_before_replace: bool

    @property
    def op(self) -> str:
        """``same``, ``update`` or ``replace``: ``step_generator.go`` ``continueStepsFromDiff``."""
        if self.replaces:
            return "replace"
        return "same" if self.changes == "none" else "update"


def checked_from(response: Any) -> Checked:
    """A ``CheckResponse`` as ``Checked``."""
    inputs, _ = unwrap(from_struct(response.inputs))
    return Checked(inputs, [(f.property, f.reason) for f in response.failures])


def diff_from(response: Any) -> DiffResult:
    """A ``DiffResponse`` as ``DiffResult`` (``changes`` unset means the provider could not tell: "unknown")."""
    changes = {
        provider_pb2.DiffResponse.DIFF_NONE: "none",
        provider_pb2.DiffResponse.DIFF_SOME: "some",
    }.get(response.changes, "unknown")
    return DiffResult(changes, list(response.replaces), bool(response.deleteBeforeReplace))


# --- requests -----------------------------------------------------------------------------------------------------


def check_request(
    resource_urn: str, olds: Mapping[str, Any], news: Mapping[str, Any], pickle: str
) -> provider_pb2.CheckRequest:
    return provider_pb2.CheckRequest(
        urn=resource_urn,
        olds=to_struct(with_provider(olds, pickle) if olds else {}),
        news=to_struct(with_provider(news, pickle)),
    )


def create_request(resource_urn: str, inputs: Mapping[str, Any]) -> provider_pb2.CreateRequest:
    return provider_pb2.CreateRequest(urn=resource_urn, properties=to_struct(inputs))


def read_request(res: Checkpointed) -> provider_pb2.ReadRequest:
    return provider_pb2.ReadRequest(
        id=res.id, urn=res.urn, properties=to_struct(res.outputs), inputs=to_struct(res.inputs)
    )


def diff_request(res: Checkpointed, news: Mapping[str, Any]) -> provider_pb2.DiffRequest:
    return provider_pb2.DiffRequest(**_change(res, news))


def update_request(res: Checkpointed, news: Mapping[str, Any]) -> provider_pb2.UpdateRequest:
    return provider_pb2.UpdateRequest(**_change(res, news))


def delete_request(res: Checkpointed) -> provider_pb2.DeleteRequest:
    return provider_pb2.DeleteRequest(
        id=res.id, urn=res.urn, properties=to_struct(res.outputs), old_inputs=to_struct(res.inputs)
    )


def _change(res: Checkpointed, news: Mapping[str, Any]) -> dict[str, Any]:
    """The fields Diff and Update requests share: the resource, its old outputs and inputs, and the new inputs."""
    return {
        "id": res.id,
        "urn": res.urn,
        "olds": to_struct(res.outputs),
        "news": to_struct(news),
        "old_inputs": to_struct(res.inputs),
    }
