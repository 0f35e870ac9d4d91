"""The checkpoint the engine stand-in keeps, shaped like Pulumi's (``pulumi stack export``, ``apitype.DeploymentV3``).

Values are kept plain in memory (a test reads them); the names of secret properties are kept beside them, and
``to_json`` never writes a secret value in clear: it encrypts it with the stack's passphrase crypter, or replaces it
with ``[secret]`` when there is none (the file can then not be imported back, as with a lost passphrase).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The signature Pulumi puts on a secret in state and on the wire (``sdk/go/common/resource/sig``).
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105  (a public constant, not a secret)
SIG_KEY = "4dabf18193072939515e22adb298388d"
REDACTED = "[secret]"
#: The default provider of every dynamic resource; its inputs are the config the last ``up`` configured it with
#: (``pkg/resource/deploy/providers`` registry: a default provider's inputs are ``GetPackageConfig``'s result).
DEFAULT_PROVIDER_URN_TYPE = "pulumi:providers:pulumi-python"


@dataclass
class ResourceState:
    """One resource of the checkpoint (``resource.State``): plain values, secret property names apart."""

    urn: str
    type: str
    custom: bool
    id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    parent: str = ""
    dependencies: list[str] = field(default_factory=list)
    protect: bool = False
    #: ``retainOnDelete``: dropped from state on delete, never deleted at the service.
    retain_on_delete: bool = False
    #: Marked by a create-before-delete replace whose delete has not run yet (``resource.State.Delete``).
    delete: bool = False
    secret_inputs: frozenset[str] = frozenset()
    secret_outputs: frozenset[str] = frozenset()
    additional_secret_outputs: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class PendingOperation:
    """An operation the engine started and never saw finish (``apitype.OperationV2``): ``creating`` and so on."""

    urn: str
    type: str
    kind: str
    inputs: dict[str, Any]


@dataclass
class Checkpoint:
    """What the engine knows after a run: resources in dependency order, pending operations, and nothing else."""

    resources: list[ResourceState] = field(default_factory=list)
    pending_operations: list[PendingOperation] = field(default_factory=list)

    def live(self) -> Iterator[ResourceState]:
        """Resources not marked for deletion."""
        return (r for r in self.resources if not r.delete)

    def get(self, urn_or_name: str) -> ResourceState | None:
        """The live resource with that URN, or with that name (the last ``::`` part of its URN)."""
        for res in self.live():
            if urn_or_name in (res.urn, res.name):
                return res
        return None

    def by_type(self, type_: str) -> list[ResourceState]:
        return [r for r in self.live() if r.type == type_]

    @property
    def stack(self) -> ResourceState | None:
        """The root ``pulumi:pulumi:Stack`` resource."""
        return next((r for r in self.live() if r.type == "pulumi:pulumi:Stack"), None)

    @property
    def outputs(self) -> dict[str, Any]:
        """The stack's outputs (``pulumi stack output``)."""
        return dict(self.stack.outputs) if self.stack else {}

    @property
    def provider(self) -> ResourceState | None:
        """The default ``pulumi-python`` provider: ``inputs`` is the config of the last ``up``."""
        return next((r for r in self.live() if r.type == DEFAULT_PROVIDER_URN_TYPE), None)

    def to_json(self, encrypt: Callable[[str], str] | None = None) -> dict[str, Any]:
        """The checkpoint as ``pulumi stack export`` writes it; secrets encrypted by ``encrypt`` or redacted."""

        def props(values: dict[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
            secret = set(secrets)
            return {k: _secret(v, encrypt) if k in secret else v for k, v in values.items()}

        resources = []
        for r in self.resources:
            entry: dict[str, Any] = {
                "urn": r.urn,
                "custom": r.custom,
                "type": r.type,
                "inputs": props(r.inputs, r.secret_inputs),
                "outputs": props(r.outputs, r.secret_outputs),
            }
            if r.id:
                entry["id"] = r.id
            if r.parent:
                entry["parent"] = r.parent
            if r.dependencies:
                entry["dependencies"] = list(r.dependencies)
            if r.protect:
                entry["protect"] = True
            if r.retain_on_delete:
                entry["retainOnDelete"] = True
            if r.delete:
                entry["delete"] = True
            if r.additional_secret_outputs:
                entry["additionalSecretOutputs"] = list(r.additional_secret_outputs)
            resources.append(entry)
        pending = [
            {"resource": {"urn": p.urn, "type": p.type, "custom": True, "inputs": {}}, "type": p.kind}
            for p in self.pending_operations
        ]
        deployment: dict[str, Any] = {"resources": resources}
        if pending:
            deployment["pending_operations"] = pending
        return {"version": 3, "deployment": deployment}

    def save(self, path: Path, encrypt: Callable[[str], str] | None = None) -> None:
        path.write_text(json.dumps(self.to_json(encrypt), indent=2), encoding="utf-8")


def _secret(value: Any, encrypt: Callable[[str], str] | None) -> dict[str, Any]:
    """A secret as Pulumi writes it in state: the signature, and ``ciphertext`` of the JSON of the value."""
    text = json.dumps(value)
    return {SIG_KEY: SECRET_SIG, "ciphertext": encrypt(text) if encrypt else REDACTED}
