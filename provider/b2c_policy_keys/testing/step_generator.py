"""What to do for each registration, given the old checkpoint (``pkg/resource/deploy/step_generator.go``).

Called one registration at a time (the generator is one goroutine in Pulumi; here one lock), so Check and Diff are
never concurrent. Deletes are generated after the program has run and every step is done (``GenerateDeletes``) and
scheduled in reverse dependency order, in antichains that may run in parallel (``ScheduleDeletes``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from b2c_policy_keys.testing.checkpoint import ResourceState
from b2c_policy_keys.testing.monitor import Registration
from b2c_policy_keys.testing.plugin import Provider
from b2c_policy_keys.testing.protocol import DiffResult
from b2c_policy_keys.testing.steps import CreateStep, DeleteStep, SameStep, Step, StepFailed, UpdateStep

DYNAMIC_PREFIX = "pulumi-python:dynamic/"


class StepGenerator:
    def __init__(self, olds: Iterable[ResourceState], provider: Provider | None) -> None:
        # The old checkpoint by URN, once: no scan per registration (the engine's cost must stay flat).
        self._olds: dict[str, ResourceState] = {r.urn: r for r in olds if not r.delete}
        self._provider = provider
        self._seen: set[str] = set()

    def mark_seen(self, urn: str) -> None:
        """A resource the engine registered itself (the default provider): not deleted at the end."""
        self._seen.add(urn)

    def generate_steps(self, reg: Registration) -> list[Step]:
        """``GenerateSteps`` → ``generateSteps`` / ``continueStepsFromDiff`` for one registration."""
        if reg.urn in self._seen:
            raise StepFailed(f"Duplicate resource URN '{reg.urn}'; try giving it a unique name")
        self._seen.add(reg.urn)
        old = self._olds.get(reg.urn)
        new = ResourceState(
            urn=reg.urn,
            type=reg.type,
            custom=reg.custom,
            inputs=dict(reg.inputs),
            parent=reg.parent,
            dependencies=list(reg.dependencies),
            protect=reg.protect,
            retain_on_delete=reg.retain_on_delete,
            secret_inputs=reg.secret_inputs,
            additional_secret_outputs=reg.additional_secret_outputs,
        )
        if not reg.custom:
            # Components and the stack: no provider; outputs come from RegisterResourceOutputs.
            if old is None:
                return [CreateStep("create", reg.urn, reg.type, None, new)]
            new.outputs = dict(old.outputs)
            new.secret_outputs = old.secret_outputs
            return [SameStep("same", reg.urn, reg.type, old, new)]
        if not reg.type.startswith(DYNAMIC_PREFIX) or self._provider is None:
            raise StepFailed(f"{reg.urn}: this engine stand-in runs only {DYNAMIC_PREFIX}* resources")
        news = _ignore_changes(reg.inputs, old, reg.ignore_changes)
        # generateSteps: Check(olds = old inputs, {} when new).
        checked = self._check(reg.urn, old.inputs if old else {}, news)
        new.inputs = checked
        if old is None:
            return [CreateStep("create", reg.urn, reg.type, None, new)]
        diff = self._diff(old, checked)
        if diff.op == "same":
            new.id, new.outputs, new.secret_outputs = old.id, dict(old.outputs), old.secret_outputs
            return [SameStep("same", reg.urn, reg.type, old, new, diff)]
        if diff.op == "update":
            return [UpdateStep("update", reg.urn, reg.type, old, new, diff)]
        if old.protect:
            # continueStepsFromDiff: a protected resource is never replaced.
            raise StepFailed(
                f"unable to replace resource {reg.urn!r} as it is currently marked for protection. To unprotect "
                "the resource, remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`"
            )
        # continueStepsFromDiff: "We need to recompute the default values": Check again with no olds, and create the
        # replacement with those inputs.
        new.inputs = self._check(reg.urn, {}, news)
        if diff.delete_before_replace or reg.delete_before_replace:
            return [
                DeleteStep("delete-replaced", reg.urn, reg.type, old, None, diff),
                CreateStep("create-replacement", reg.urn, reg.type, None, new, diff),
            ]
        return [CreateStep("create-replacement", reg.urn, reg.type, old, new, diff)]

    def _check(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        assert self._provider is not None
        checked = self._provider.check(urn, olds, news)
        if checked.failures:
            # step_generator.go: check failures are reported per property and fail the deployment.
            raise StepFailed(
                f"{urn}: " + "; ".join(f"{prop}: {reason}" if prop else reason for prop, reason in checked.failures)
            )
        return checked.inputs

    def _diff(self, old: ResourceState, news: Mapping[str, Any]) -> DiffResult:
        assert self._provider is not None
        diff = self._provider.diff(old.urn, old.id, old.outputs, old.inputs, news)
        if diff.changes == "unknown":
            # diffResource: with no answer from the provider, the engine compares the inputs itself.
            return DiffResult("none" if dict(news) == old.inputs else "some", diff.replaces, diff.delete_before_replace)
        return diff

    def generate_deletes(self, replaced: Iterable[ResourceState], base: Iterable[ResourceState]) -> list[Step]:
        """``GenerateDeletes``: what this or an earlier run replaced (``delete: true``), and what the program no
        longer registers."""
        steps: list[Step] = [DeleteStep("delete-replaced", r.urn, r.type, r, None) for r in replaced]
        for old in base:
            if old.delete:
                steps.append(DeleteStep("delete-replaced", old.urn, old.type, old, None))
            elif old.urn not in self._seen:
                steps.append(DeleteStep("delete", old.urn, old.type, old, None))
        return steps


def schedule_deletes(steps: list[Step]) -> list[list[Step]]:
    """``ScheduleDeletes``: antichains, dependents before what they depend on (parent and ``dependencies``)."""
    by_urn: dict[str, list[Step]] = {}
    for step in steps:
        by_urn.setdefault(step.urn, []).append(step)
    dependents: dict[int, list[Step]] = {id(s): [] for s in steps}
    for step in steps:
        assert step.old is not None
        for dep in (step.old.parent, *step.old.dependencies):
            for target in by_urn.get(dep, ()):
                if target is not step:
                    dependents[id(target)].append(step)
    level: dict[int, int] = {}

    def depth(step: Step, trail: frozenset[int] = frozenset()) -> int:
        key = id(step)
        if key not in level:
            below = [depth(d, trail | {key}) for d in dependents[key] if id(d) not in trail]
            level[key] = 1 + max(below) if below else 0
        return level[key]

    chains: list[list[Step]] = []
    for step in steps:
        n = depth(step)
        while len(chains) <= n:
            chains.append([])
        chains[n].append(step)
    return chains


def _ignore_changes(news: Mapping[str, Any], old: ResourceState | None, ignored: Iterable[str]) -> dict[str, Any]:
    """``processIgnoreChanges``: ignored (top-level) properties keep their old input values, before Check."""
    result = dict(news)
    if old is not None:
        for prop in ignored:
            if prop in old.inputs:
                result[prop] = old.inputs[prop]
    return result
