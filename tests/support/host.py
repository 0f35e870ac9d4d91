"""Drive the real dynamic-provider host (``python -m pulumi.dynamic``) over gRPC, the way the Pulumi engine does.

No Pulumi CLI can run here, so this is the engine for tests: it starts the host the engine would start, reads its port
line, sends ``Configure`` with the whole stack config (namespaced keys, secrets wrapped), then the resource calls with
``__provider`` pickled exactly as ``pulumi.dynamic.Resource`` pickles it. Secrets are unwrapped before every call but
Configure, as the engine does (the host declares ``acceptSecrets: false``).

Low level: ``check``/``diff``/``create``/``read``/``update``/``delete``. Engine level: ``preview``, ``up``, ``refresh``,
``destroy`` on a ``State`` (what the engine keeps in the checkpoint for one resource). The host's stdout and stderr are
captured (``host.output``) for secret scans; ``host.calls`` lists every call made, in order.

    with ProviderHost() as host:
        host.configure(emulator_config(emu), secrets={"b2c:clientSecret"})
        state = host.up(KeySetProvider(), "signing", {"name": "TokenSigning"})
        plan = host.preview(KeySetProvider(), "signing", {"name": "TokenSigning"}, state)
        assert plan.op == "same"
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from b2c_policy_keys.graph import GraphClient, client_for, resolve_settings

#: The engine's marker for a value not known yet during preview; put it in ``news`` to preview unknown inputs.
UNKNOWN = rpc.UNKNOWN
PROVIDER_KEY = "__provider"
STACK = "test"
PROJECT = "b2c-test"
RPC_TIMEOUT_S = 120

# Variables that would let the provider find credentials without Configure: tests must prove the Configure path.
_CREDENTIAL_ENV_PREFIXES = ("ARM_", "AZURE_", "B2C_", "IDENTITY_", "MSI_")


class ProviderError(Exception):
    """A provider call failed; ``details`` is what the engine would show the user (the host's traceback)."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        self.method = method
        self.code = code
        self.details = details
        super().__init__(f"{method} failed ({code.name}): {details}")


class CheckFailed(Exception):
    def __init__(self, failures: list[tuple[str, str]]) -> None:
        self.failures = failures
        super().__init__("; ".join(f"{prop}: {reason}" for prop, reason in failures))


@dataclass(frozen=True)
class Checked:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]


@dataclass(frozen=True)
class Diff:
    changes: str  # "none", "some" or "unknown"
    replaces: list[str]
    delete_before_replace: bool


@dataclass(frozen=True)
class State:
    """One resource in the checkpoint: inputs and outputs plain (as the engine passes them), secret names apart."""

    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    secret_outputs: frozenset[str] = frozenset()

    @property
    def urn(self) -> str:
        return urn(self.type, self.name)

    def provider_free(self) -> dict[str, Any]:
        return {k: v for k, v in self.outputs.items() if k != PROVIDER_KEY}


@dataclass(frozen=True)
class Plan:
    """What a preview would show: ``create``, ``same``, ``update`` or ``replace``."""

    op: str
    inputs: dict[str, Any]
    diff: Diff | None = None


@dataclass
class Output:
    """Captured host output; ``text`` is stdout and stderr together."""

    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)


def type_token(provider: ResourceProvider) -> str:
    name = type(provider).__name__.removesuffix("Provider")
    return f"pulumi-python:dynamic/b2c:{name}"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def pickled(provider: ResourceProvider) -> str:
    """``__provider`` exactly as ``pulumi.dynamic.Resource`` builds it."""
    value, _contains_secrets = _serialize(True, serialize_provider, provider)
    return str(value)


def _change(state: State, news: Mapping[str, Any]) -> dict[str, Any]:
    """The fields Diff and Update requests share: the resource, its old outputs and inputs, and the new inputs."""
    return {
        "id": state.id,
        "urn": state.urn,
        "olds": to_struct(state.outputs),
        "news": to_struct(news),
        "old_inputs": to_struct(state.inputs),
    }


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


class ProviderHost:
    """One provider process, as the engine starts for one ``pulumi up``/``preview``/``refresh``/``destroy``."""

    def __init__(self, *, env: Mapping[str, str] | None = None, cwd: str | None = None) -> None:
        base = dict(os.environ if env is None else env)
        if env is None:
            base = {k: v for k, v in base.items() if not k.startswith(_CREDENTIAL_ENV_PREFIXES)}
        base.update(PULUMI_PROJECT=PROJECT, PULUMI_STACK=STACK, PYTHONUNBUFFERED="1")
        self._env = base
        self._cwd = cwd
        self.output = Output()
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: Any = None

    # --- process ------------------------------------------------------------------------------------------

    def start(self) -> ProviderHost:
        self._proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._env,
            cwd=self._cwd,
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        port_line = self._proc.stdout.readline().decode()
        self._drain(self._proc.stderr, self.output.stderr)
        self._drain(self._proc.stdout, self.output.stdout)
        if not port_line.strip().isdigit():
            self._proc.wait(timeout=10)
            raise RuntimeError(f"provider host did not print its port: {port_line!r} {self.output.text}")
        self._channel = grpc.insecure_channel(f"127.0.0.1:{int(port_line)}")
        grpc.channel_ready_future(self._channel).result(timeout=30)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        return self

    def _drain(self, stream: Any, sink: list[str]) -> None:
        def pump() -> None:
            for line in iter(stream.readline, b""):
                sink.append(line.decode(errors="replace"))

        threading.Thread(target=pump, daemon=True).start()

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)

    def __enter__(self) -> ProviderHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    # --- raw calls ----------------------------------------------------------------------------------------

    def _call(self, method: str, request: Any, resource_urn: str = "") -> Any:
        with self._lock:
            self.calls.append((method, resource_urn))
        try:
            return getattr(self._stub, method)(request, timeout=RPC_TIMEOUT_S)
        except grpc.RpcError as exc:
            raise ProviderError(method, exc.code(), exc.details() or "") from None

    def configure(self, config: Mapping[str, Any], secrets: Iterable[str] = ()) -> bool:
        """Send the stack config; returns the host's ``acceptSecrets`` (False: the engine unwraps secrets)."""
        request = provider_pb2.ConfigureRequest(
            args=config_struct(config, secrets), acceptSecrets=True, acceptResources=True
        )
        return bool(self._call("Configure", request).acceptSecrets)

    def check(
        self, provider: ResourceProvider | str, name: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> Checked:
        type_, pickle = self._identify(provider)
        request = provider_pb2.CheckRequest(
            urn=urn(type_, name),
            olds=to_struct(_with_provider(olds, pickle) if olds else {}),
            news=to_struct(_with_provider(news, pickle)),
        )
        response = self._call("Check", request, urn(type_, name))
        inputs, _ = unwrap(from_struct(response.inputs))
        return Checked(inputs, [(f.property, f.reason) for f in response.failures])

    def diff(self, state: State, news: Mapping[str, Any]) -> Diff:
        request = provider_pb2.DiffRequest(**_change(state, news))
        response = self._call("Diff", request, state.urn)
        changes = {
            provider_pb2.DiffResponse.DIFF_NONE: "none",
            provider_pb2.DiffResponse.DIFF_SOME: "some",
        }.get(response.changes, "unknown")
        return Diff(changes, list(response.replaces), bool(response.deleteBeforeReplace))

    def create(self, type_: str, name: str, inputs: Mapping[str, Any]) -> State:
        request = provider_pb2.CreateRequest(urn=urn(type_, name), properties=to_struct(inputs))
        response = self._call("Create", request, urn(type_, name))
        outputs, secret_names = unwrap(from_struct(response.properties))
        return State(type_, name, response.id, dict(inputs), outputs, secret_names)

    def read(self, state: State) -> State | None:
        request = provider_pb2.ReadRequest(
            id=state.id, urn=state.urn, properties=to_struct(state.outputs), inputs=to_struct(state.inputs)
        )
        response = self._call("Read", request, state.urn)
        if not response.id:
            return None
        outputs, secret_names = unwrap(from_struct(response.properties))
        inputs = unwrap(from_struct(response.inputs))[0] if response.HasField("inputs") else state.inputs
        return replace(state, id=response.id, inputs=inputs, outputs=outputs, secret_outputs=secret_names)

    def update(self, state: State, news: Mapping[str, Any]) -> State:
        request = provider_pb2.UpdateRequest(**_change(state, news))
        response = self._call("Update", request, state.urn)
        outputs, secret_names = unwrap(from_struct(response.properties))
        return replace(state, inputs=dict(news), outputs=outputs, secret_outputs=secret_names)

    def delete(self, state: State) -> None:
        request = provider_pb2.DeleteRequest(
            id=state.id, urn=state.urn, properties=to_struct(state.outputs), old_inputs=to_struct(state.inputs)
        )
        self._call("Delete", request, state.urn)

    # --- engine steps -------------------------------------------------------------------------------------

    def preview(
        self, provider: ResourceProvider, name: str, news: Mapping[str, Any], prior: State | None = None
    ) -> Plan:
        """``pulumi preview`` for one resource: Check, then Diff when it exists. Never Create/Update/Delete."""
        checked = self._checked(provider, name, news, prior)
        if prior is None:
            return Plan("create", checked.inputs)
        diff = self.diff(prior, checked.inputs)
        return Plan(_op(diff), checked.inputs, diff)

    def up(self, provider: ResourceProvider, name: str, news: Mapping[str, Any], prior: State | None = None) -> State:
        """``pulumi up`` for one resource, create-before-delete on replacement, as the engine orders it."""
        checked = self._checked(provider, name, news, prior)
        if prior is None:
            return self.create(type_token(provider), name, checked.inputs)
        diff = self.diff(prior, checked.inputs)
        op = _op(diff)
        if op == "same":
            return replace(prior, inputs=checked.inputs)
        if op == "update":
            return self.update(prior, checked.inputs)
        if diff.delete_before_replace:
            self.delete(prior)
            return self.create(prior.type, name, checked.inputs)
        new = self.create(prior.type, name, checked.inputs)
        self.delete(prior)
        return new

    def refresh(self, state: State) -> State | None:
        """``pulumi refresh`` for one resource: None when the provider reads it as gone."""
        return self.read(state)

    def destroy(self, state: State) -> None:
        self.delete(state)

    def _checked(self, provider: ResourceProvider, name: str, news: Mapping[str, Any], prior: State | None) -> Checked:
        checked = self.check(provider, name, prior.inputs if prior else {}, news)
        if checked.failures:
            raise CheckFailed(checked.failures)
        return checked

    @staticmethod
    def _identify(provider: ResourceProvider | str) -> tuple[str, str]:
        if isinstance(provider, str):  # an already pickled provider (e.g. from old state)
            return "pulumi-python:dynamic/b2c:Unknown", provider
        return type_token(provider), pickled(provider)


def _with_provider(props: Mapping[str, Any], pickle: str) -> dict[str, Any]:
    return {**props, PROVIDER_KEY: props.get(PROVIDER_KEY, pickle)}


def _op(diff: Diff) -> str:
    if diff.replaces:
        return "replace"
    return "update" if diff.changes != "none" else "same"


def emulator_config(emu: Any, *, secret: str | None = None) -> dict[str, str]:
    """The stack config a user would set to point the provider at an emulator (``pulumi config set b2c:...``)."""
    return {
        "b2c:tenantId": emu.tenant_id,
        "b2c:clientId": emu.client_id,
        "b2c:clientSecret": secret if secret is not None else emu.client_secret,
        "b2c:graphUrl": emu.graph_url,
        "b2c:authorityHost": emu.authority_host,
        "b2c:caBundle": str(emu.ca_bundle),
    }


def graph_client(emu: Any) -> GraphClient:
    """A Graph client in the test process configured like that stack: to see or change what the emulator holds."""
    return client_for(resolve_settings(emulator_config(emu).get, env={}))


#: Config keys the engine sends as secrets (``pulumi config set --secret``).
SECRET_CONFIG_KEYS = frozenset({"b2c:clientSecret", "b2c:clientCertificatePassword"})


def graph_requests(emu: Any) -> list[dict[str, Any]]:
    """The Graph calls in the emulator's request log (token and discovery requests left out)."""
    return [r for r in emu.requests_log() if r["path"].startswith("/beta/")]


def token_requests(emu: Any) -> list[dict[str, Any]]:
    return [r for r in emu.requests_log() if r["path"].endswith("/oauth2/v2.0/token")]


def request_summary(emu: Any) -> list[str]:
    """``["POST uploadSecret", "PATCH keys_v2", ...]``: method and the last meaningful path segment."""
    summary = []
    for r in graph_requests(emu):
        parts = r["path"].split("/")
        tail = next((p for p in reversed(parts) if p in _OPERATIONS), "keySets" if parts[-1] == "keySets" else "keySet")
        summary.append(f"{r['method']} {tail}")
    return summary


_OPERATIONS = frozenset({"uploadSecret", "generateKey", "uploadCertificate", "uploadPkcs12", "getActiveKey", "keys_v2"})
