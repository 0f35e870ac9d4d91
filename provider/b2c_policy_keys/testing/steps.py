"""Steps, as ``pkg/resource/deploy/step.go`` names them; ``apply`` does what that step's ``Apply`` does.

Custom resources call the provider host; the stack, components and the default provider are state only. In a
preview (``dry_run``) Create and Update are not sent: the host does not support preview, so the engine answers with
the checked inputs (``provider_plugin.go`` ``Create``/``Update`` with ``req.Preview``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from b2c_policy_keys.testing.checkpoint import PendingOperation, ResourceState

PROVIDER_TYPE_PREFIX = "pulumi:providers:"

if TYPE_CHECKING:
    from b2c_policy_keys.testing.deployment import Deployment
    from b2c_policy_keys.testing.protocol import DiffResult


class EngineKilled(BaseException):
    """The run was killed mid-operation (a test asked for it): like ``kill -9`` of the CLI."""


class StepFailed(Exception):
    """A step's error, as the engine reports it: the resource and what went wrong."""


@dataclass
class Step:
    op: str
    urn: str
    type: str
    old: ResourceState | None = None
    new: ResourceState | None = None
    diff: DiffResult | None = None

    def apply(self, deployment: Deployment) -> ResourceState | None:
        """The step's effect; returns the state the program gets back (None for deletes)."""
        raise NotImplementedError


def secret_outputs(new: ResourceState, outputs: dict[str, Any], wrapped: frozenset[str]) -> frozenset[str]:
    """``step_executor.go`` ``executeStep`` / ``annotateSecrets``: wrapped by the provider, listed in
    ``additionalSecretOutputs``, or an input of the same top-level name was secret."""
    return frozenset(k for k in outputs if k in wrapped or k in new.additional_secret_outputs or k in new.secret_inputs)


class SameStep(Step):
    def apply(self, deployment: Deployment) -> ResourceState | None:
        # step.go SameStep.Apply: the new state keeps the old outputs with the new inputs.
        assert self.new is not None
        deployment.journal.record(self.new)
        return self.new


class CreateStep(Step):
    """``CreateStep``; with ``op="create-replacement"`` the new half of a replace (``NewCreateReplacementStep``)."""

    def apply(self, deployment: Deployment) -> ResourceState | None:
        new = self.new
        assert new is not None
        if not new.custom or deployment.dry_run:
            state = replace(new, outputs=dict(new.inputs), secret_outputs=new.secret_inputs)
        else:
            # step.go CreateStep.Apply: the journal holds a "creating" operation until Create returns.
            deployment.journal.begin(PendingOperation(new.urn, new.type, "creating", dict(new.inputs)))
            result = deployment.provider.create(new.urn, new.inputs)
            if deployment.kills(new):
                raise EngineKilled(new.urn)
            deployment.journal.end(new.urn)
            state = replace(new, id=result.id, outputs=result.outputs)
            state.secret_outputs = secret_outputs(state, result.outputs, result.secret_outputs)
            if self.old is not None and self.op == "create-replacement":
                deployment.journal.mark_replaced(self.old)
        deployment.journal.record(state)
        return state


class UpdateStep(Step):
    def apply(self, deployment: Deployment) -> ResourceState | None:
        old, new = self.old, self.new
        assert old is not None and new is not None
        if deployment.dry_run:
            state = replace(new, outputs=dict(new.inputs), secret_outputs=new.secret_inputs)
        else:
            result = deployment.provider.update(new.urn, old.id, old.outputs, old.inputs, new.inputs)
            state = replace(new, id=old.id, outputs=result.outputs)
            state.secret_outputs = secret_outputs(state, result.outputs, result.secret_outputs)
        deployment.journal.record(state)
        return state


class DeleteStep(Step):
    """``DeleteStep``; ``op="delete-replaced"`` for the old half of a replace (``replacing``: protect not checked)."""

    def apply(self, deployment: Deployment) -> ResourceState | None:
        old = self.old
        assert old is not None
        if self.op != "delete-replaced" and old.protect:
            # step.go DeleteStep.Apply: deleteProtectedError, in preview as in the update.
            raise StepFailed(
                f"resource {old.urn!r} cannot be deleted because it is protected. To unprotect the resource, either "
                f"remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`, or use "
                f"the command: `pulumi state unprotect '{old.urn}'`"
            )
        if deployment.dry_run:
            return None
        # A provider resource is the engine's own: closing it is not a Delete call (``providers.Registry.Delete``).
        # step.go DeleteStep.Apply: a resource with retainOnDelete leaves state without a Delete call.
        if old.custom and old.id and not old.type.startswith(PROVIDER_TYPE_PREFIX) and not old.retain_on_delete:
            deployment.provider.delete(old.urn, old.id, old.outputs, old.inputs)
        deployment.journal.deleted(old)
        return None


class RefreshStep(Step):
    def apply(self, deployment: Deployment) -> ResourceState | None:
        # step.go RefreshStep.Apply: Read(id, old outputs, old inputs); an empty id means gone; inputs returned by
        # Read replace the stored ones; then Diff(olds = refreshed outputs, news = old inputs) shows the drift.
        old = self.old
        assert old is not None
        read = deployment.provider.read(old.urn, old.id, old.outputs, old.inputs)
        if not read.id:
            deployment.journal.deleted(old)
            self.op = "refresh-deleted"
            return None
        inputs = read.inputs if read.inputs is not None else old.inputs
        state = replace(old, id=read.id, inputs=inputs, outputs=read.outputs)
        state.secret_outputs = secret_outputs(state, read.outputs, read.secret_outputs)
        self.diff = deployment.provider.diff(old.urn, read.id, read.outputs, inputs, old.inputs)
        if old.delete:
            deployment.journal.deleted(old)
            deployment.journal.mark_replaced(state)
        else:
            deployment.journal.record(state)
        return state
