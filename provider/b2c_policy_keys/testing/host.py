"""Drive the real dynamic-provider host (``python -m pulumi.dynamic``) over gRPC, the way the Pulumi engine does.

No Pulumi CLI can run here, so this is the engine for tests: it starts the host the engine would start, reads its port
line, sends ``Configure`` with the whole stack config (namespaced keys, secrets wrapped), then the resource calls with
``__provider`` pickled exactly as ``pulumi.dynamic.Resource`` pickles it. Secrets are unwrapped before every call but
Configure, as the engine does (the host declares ``acceptSecrets: false``).

Low level: ``check``/``diff``/``create``/``read``/``update``/``delete``. Engine level: ``preview``, ``up``, ``refresh``,
``destroy`` on a ``State`` (what the engine keeps in the checkpoint for one resource). The host's stdout and stderr are
captured (``host.output``) for secret scans; ``host.calls`` lists every call made, in order. The benchmark drives
this same class: ``port_line_seconds``, ``plugin_info`` (an empty round trip) and ``reuse_pickles`` are for it.

The protocol plumbing this shares with the benchmark's stand-in engine (starting the host, the stub, pickling, URNs,
Configure arguments, property structs) is ``b2c_policy_keys.testing.protocol``, re-exported here under the same names.

    with ProviderHost() as host:
        host.configure(emulator_config(emu), secrets={"b2c:clientSecret"})
        state = host.up(KeySetProvider(), "signing", {"name": "TokenSigning"})
        plan = host.preview(KeySetProvider(), "signing", {"name": "TokenSigning"}, state)
        assert plan.op == "same"
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.dynamic import ResourceProvider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2

from b2c_policy_keys.graph import GraphClient, client_for, resolve_settings
from b2c_policy_keys.testing import protocol
from b2c_policy_keys.testing.protocol import (
    PROVIDER_KEY,
    RPC_TIMEOUT_S,
    Checked,
    DiffResult,
    HostProcess,
    check_request,
    checked_from,
    config_struct,
    create_request,
    delete_request,
    diff_from,
    diff_request,
    drain,
    emulator_config,
    from_struct,
    host_environment,
    pickled,
    read_request,
    start_process,
    type_token,
    unwrap,
    update_request,
)

# Re-exported for tests, unused here.
from b2c_policy_keys.testing.protocol import SECRET_CONFIG_KEYS as SECRET_CONFIG_KEYS
from b2c_policy_keys.testing.protocol import to_struct as to_struct
from b2c_policy_keys.testing.protocol import wrap_secret as wrap_secret

__all__ = [
    "PROJECT",
    "PROVIDER_KEY",
    "SECRET_CONFIG_KEYS",
    "STACK",
    "UNKNOWN",
    "CheckFailed",
    "Checked",
    "Diff",
    "Output",
    "Plan",
    "ProviderError",
    "ProviderHost",
    "State",
    "emulator_config",
    "graph_client",
    "graph_requests",
    "pickled",
    "request_summary",
    "to_struct",
    "token_requests",
    "type_token",
    "urn",
    "wrap_secret",
]

#: The engine's marker for a value not known yet during preview; put it in ``news`` to preview unknown inputs.
UNKNOWN = rpc.UNKNOWN
STACK = "test"
PROJECT = "b2c-test"


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


#: What ``diff`` answers (the name this driver has always used for it).
Diff = DiffResult


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


def urn(type_: str, name: str) -> str:
    return protocol.urn(type_, name, stack=STACK, project=PROJECT)


class ProviderHost(HostProcess):
    """One provider process, as the engine starts for one ``pulumi up``/``preview``/``refresh``/``destroy``."""

    def __init__(
        self, *, env: Mapping[str, str] | None = None, cwd: str | None = None, reuse_pickles: bool = False
    ) -> None:
        """``reuse_pickles``: pickle each provider class once, not on every call. The real engine gets ``__provider``
        ready-made from the program, so a benchmark must not time this process pickling it; tests leave it off."""
        super().__init__()
        # With no ``env``, credential variables are left out: tests must prove the Configure path.
        self._env = host_environment(project=PROJECT, stack=STACK, env=env)
        self._cwd = cwd
        self.output = Output()
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._pickles: dict[type, str] | None = {} if reuse_pickles else None
        #: Seconds from starting the process to its port line (the host up and listening), for cold-start figures.
        self.port_line_seconds = 0.0

    # --- process ------------------------------------------------------------------------------------------

    def start(self) -> ProviderHost:
        started = time.perf_counter()
        self._proc, port = start_process(self._env, cwd=self._cwd)
        self.port_line_seconds = time.perf_counter() - started
        assert self._proc.stdout is not None and self._proc.stderr is not None
        drain(self._proc.stderr, self.output.stderr)
        drain(self._proc.stdout, self.output.stdout)
        self._connect(port)
        return self

    # --- raw calls ----------------------------------------------------------------------------------------

    def _call(self, method: str, request: Any, resource_urn: str = "") -> Any:
        with self._lock:
            self.calls.append((method, resource_urn))
        try:
            return getattr(self._stub, method)(request, timeout=RPC_TIMEOUT_S)
        except grpc.RpcError as exc:
            raise ProviderError(method, exc.code(), exc.details() or "") from None

    def plugin_info(self) -> str:
        """GetPluginInfo: a call the host answers without a provider, to time the gRPC round trip alone."""
        return str(self._call("GetPluginInfo", empty_pb2.Empty()).version)

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
        return checked_from(self._call("Check", check_request(urn(type_, name), olds, news, pickle), urn(type_, name)))

    def diff(self, state: State, news: Mapping[str, Any]) -> Diff:
        return diff_from(self._call("Diff", diff_request(state, news), state.urn))

    def create(self, type_: str, name: str, inputs: Mapping[str, Any]) -> State:
        response = self._call("Create", create_request(urn(type_, name), inputs), urn(type_, name))
        outputs, secret_names = unwrap(from_struct(response.properties))
        return State(type_, name, response.id, dict(inputs), outputs, secret_names)

    def read(self, state: State) -> State | None:
        response = self._call("Read", read_request(state), state.urn)
        if not response.id:
            return None
        outputs, secret_names = unwrap(from_struct(response.properties))
        inputs = unwrap(from_struct(response.inputs))[0] if response.HasField("inputs") else state.inputs
        return replace(state, id=response.id, inputs=inputs, outputs=outputs, secret_outputs=secret_names)

    def update(self, state: State, news: Mapping[str, Any]) -> State:
        response = self._call("Update", update_request(state, news), state.urn)
        outputs, secret_names = unwrap(from_struct(response.properties))
        return replace(state, inputs=dict(news), outputs=outputs, secret_outputs=secret_names)

    def delete(self, state: State) -> None:
        self._call("Delete", delete_request(state), state.urn)

    # --- engine steps -------------------------------------------------------------------------------------

    def preview(
        self, provider: ResourceProvider, name: str, news: Mapping[str, Any], prior: State | None = None
    ) -> Plan:
        """``pulumi preview`` for one resource: Check, then Diff when it exists. Never Create/Update/Delete."""
        checked = self.checked(provider, name, news, prior)
        if prior is None:
            return Plan("create", checked.inputs)
        diff = self.diff(prior, checked.inputs)
        return Plan(diff.op, checked.inputs, diff)

    def up(self, provider: ResourceProvider, name: str, news: Mapping[str, Any], prior: State | None = None) -> State:
        """``pulumi up`` for one resource, create-before-delete on replacement, as the engine orders it."""
        checked = self.checked(provider, name, news, prior)
        if prior is None:
            return self.create(type_token(provider), name, checked.inputs)
        diff = self.diff(prior, checked.inputs)
        op = diff.op
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

    def checked(
        self, provider: ResourceProvider, name: str, news: Mapping[str, Any], prior: State | None = None
    ) -> Checked:
        """Check as the engine does before every step (olds from ``prior``); failures raise ``CheckFailed``."""
        checked = self.check(provider, name, prior.inputs if prior else {}, news)
        if checked.failures:
            raise CheckFailed(checked.failures)
        return checked

    def _identify(self, provider: ResourceProvider | str) -> tuple[str, str]:
        if isinstance(provider, str):  # an already pickled provider (e.g. from old state)
            return "pulumi-python:dynamic/b2c:Unknown", provider
        if self._pickles is None:
            return type_token(provider), pickled(provider)
        with self._lock:
            pickle = self._pickles.get(type(provider))
            if pickle is None:
                pickle = self._pickles[type(provider)] = pickled(provider)
        return type_token(provider), pickle


def graph_client(emu: Any) -> GraphClient:
    """A Graph client in the test process configured like that stack: to see or change what the emulator holds."""
    return client_for(resolve_settings(emulator_config(emu).get, env={}))


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
