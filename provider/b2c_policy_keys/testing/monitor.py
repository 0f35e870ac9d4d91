"""The resource monitor and engine services a program talks to (``pkg/resource/deploy/source_eval.go`` ``resmon``).

``RegisterResource`` computes the URN, unwraps the inputs (secret names kept apart) and blocks until the deployment
has run the resource's step, then answers with its outputs (secrets wrapped again, so the program sees them as
secrets). ``RegisterResourceOutputs`` records a component's or the stack's outputs; ``Log`` collects diagnostics.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, resource_pb2, resource_pb2_grpc

from b2c_policy_keys.testing.protocol import from_struct, to_struct, wrap_secret

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
#: Features this monitor supports (``source_eval.go`` ``SupportsFeature``): secrets only, so the SDK sends output
#: values and resource references as plain values, and secrets wrapped.
FEATURES = frozenset({"secrets"})


@dataclass
class Registration:
    """One ``RegisterResource`` (``source_eval.go`` ``registerResourceEvent``): what the program asked for."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict[str, Any]
    secret_inputs: frozenset[str]
    dependencies: list[str]
    protect: bool
    additional_secret_outputs: tuple[str, ...]
    delete_before_replace: bool
    ignore_changes: tuple[str, ...]
    retain_on_delete: bool = False
    done: futures.Future[tuple[str, dict[str, Any], frozenset[str]]] = field(default_factory=futures.Future)


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    message: str
    urn: str = ""


def unwrap(props: dict[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """Plain values, and the top-level names holding a secret anywhere inside (``annotateSecrets`` keeps them)."""
    secret: set[str] = set()

    def plain(value: Any, key: str) -> Any:
        if rpc.is_rpc_secret(value):
            secret.add(key)
            return plain(rpc.unwrap_rpc_secret(value), key)
        if isinstance(value, dict):
            return {k: plain(v, key) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v, key) for v in value]
        return value

    return {k: plain(v, k) for k, v in props.items()}, frozenset(secret)


def new_urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    """``resource.NewURN``: the parent's qualified type, unless the parent is the root stack, prefixes the type."""
    parent_type = ""
    if parent:
        qualified = parent.split("::")[2]
        if qualified != ROOT_STACK_TYPE:
            parent_type = qualified + "$"
    return f"urn:pulumi:{stack}::{project}::{parent_type}{type_}::{name}"


class ResourceMonitor(resource_pb2_grpc.ResourceMonitorServicer, engine_pb2_grpc.EngineServicer):
    """Both services on one server; ``register`` and ``register_outputs`` are the deployment's."""

    def __init__(
        self,
        *,
        stack: str,
        project: str,
        register: Callable[[Registration], None],
        register_outputs: Callable[[str, dict[str, Any], frozenset[str]], None],
        diagnostics: list[Diagnostic],
    ) -> None:
        self._stack = stack
        self._project = project
        self._register = register
        self._register_outputs = register_outputs
        self.diagnostics = diagnostics
        self.root_urn = ""
        # The SDK calls RegisterResource from up to 4 x parallel threads, each blocking until its step is done.
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=128))
        resource_pb2_grpc.add_ResourceMonitorServicer_to_server(self, self._server)
        engine_pb2_grpc.add_EngineServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.stop(grace=None)

    # --- ResourceMonitor ----------------------------------------------------------------------------------

    def SupportsFeature(self, request: Any, context: Any) -> Any:
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id in FEATURES)

    def GetDeploymentInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        # Older engines: UNIMPLEMENTED, and the SDK probes SupportsFeature one feature at a time.
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "GetDeploymentInfo")

    def SignalAndWaitForShutdown(self, request: Any, context: Any) -> Any:
        # source_eval.go: returns once the program's registrations are done (no resource hooks here).
        return empty_pb2.Empty()

    def RegisterResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        raw = from_struct(request.object)
        inputs, secret_inputs = unwrap(raw)
        reg = Registration(
            urn=new_urn(self._stack, self._project, request.parent, request.type, request.name),
            type=request.type,
            name=request.name,
            custom=request.custom,
            parent=request.parent,
            inputs=inputs,
            secret_inputs=secret_inputs,
            dependencies=list(request.dependencies),
            protect=bool(request.protect),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=tuple(request.ignoreChanges),
            retain_on_delete=bool(request.retainOnDelete),
        )
        self._register(reg)
        try:
            id_, outputs, secrets = reg.done.result()
        except Exception as error:
            context.abort(grpc.StatusCode.UNKNOWN, str(error))
        wrapped = {k: wrap_secret(v) if k in secrets else v for k, v in outputs.items()}
        return resource_pb2.RegisterResourceResponse(urn=reg.urn, id=id_, object=to_struct(wrapped))

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:
        self._register_outputs(request.urn, *unwrap(from_struct(request.outputs)))
        return empty_pb2.Empty()

    # --- Engine -------------------------------------------------------------------------------------------

    def Log(self, request: Any, context: Any) -> Any:
        severity = engine_pb2.LogSeverity.Name(request.severity).lower()
        if severity == "debug":  # shown by the CLI only with -v / --debug
            return empty_pb2.Empty()
        self.diagnostics.append(Diagnostic(severity, request.message, request.urn))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn=self.root_urn)

    def SetRootResource(self, request: Any, context: Any) -> Any:
        self.root_urn = request.urn
        return engine_pb2.SetRootResourceResponse()
