"""A program-level stand-in for the Pulumi engine: whole ``up``/``preview``/``refresh``/``destroy`` runs of a stack.

``support.host.ProviderHost.up`` drives one resource and creates a replacement with the first Check's inputs, then
deletes the old one at once. The real engine does neither, and the rotation safety of issue 11 depends on exactly
that, so this follows Pulumi v3.259.0 (see /work/shared/reference/pulumi-engine-semantics.md):

- ``up`` runs a preview in a host process of its own first, then the update in a second host
  (``pkg/backend/apply.go`` ``PreviewThenPromptThenExecute``).
- Per resource: Check(olds = old inputs) then Diff; a replace runs a **second Check with olds = {}** and creates the
  replacement with those inputs (``pkg/resource/deploy/step_generator.go`` ``continueStepsFromDiff``).
- The deletes of replaced and removed resources run after every create and update, in reverse order; when a step
  failed they are skipped and the condemned resources stay in state, deleted by the next successful ``up``
  (``performPostSteps`` -> ``GenerateDeletes`` -> ``ScheduleDeletes``). The first failure stops the run (no
  ``--continue-on-error``).
- ``refresh``: Read per resource; an empty id removes it from state (``pkg/resource/deploy/step.go``
  ``RefreshStep.Apply``). ``destroy``: Delete per resource in reverse order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
from pulumi.dynamic import ResourceProvider

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.model import TEST_CLOCK_ENV
from b2c_policy_keys.testing.protocol import CREDENTIAL_ENV_PREFIXES
from support.host import SECRET_CONFIG_KEYS, ProviderError, ProviderHost, State, emulator_config, type_token, urn

_INVALID = grpc.StatusCode.INVALID_ARGUMENT


@dataclass(frozen=True)
class Declared:
    """One resource of a program: its provider, its resource name (the URN's last part) and its inputs."""

    provider: ResourceProvider
    name: str
    news: Mapping[str, Any]


@dataclass
class Stack:
    """A stack's checkpoint: resources by name (creation order) and the condemned ones awaiting their delete."""

    resources: dict[str, State] = field(default_factory=dict)
    condemned: list[State] = field(default_factory=list)

    def all(self) -> list[State]:
        return [*self.resources.values(), *self.condemned]


@dataclass
class Run:
    """What a run did: the operation per resource name, and the error that stopped it (None: it succeeded)."""

    ops: dict[str, str] = field(default_factory=dict)
    error: ProviderError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


#: How ``pulumi stack export`` shows a secret value (``sdk/go/common/resource/sig``): never the value itself.
_SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "AAABAK..."}


def stack_export(stack: Stack, pending_creates: Sequence[Declared] = ()) -> dict[str, Any]:
    """The JSON of ``pulumi stack export`` (deployment version 3) for ``stack``: what ``b2c-keys untracked`` reads."""

    def resource(state: State, *, delete: bool = False) -> dict[str, Any]:
        outputs = {k: (_SECRET_SIG if k in state.secret_outputs else v) for k, v in state.outputs.items()}
        shown: dict[str, Any] = {"urn": state.urn, "custom": True, "type": state.type, "id": state.id}
        shown.update(inputs={k: (_SECRET_SIG if k == "value" else v) for k, v in state.inputs.items()}, outputs=outputs)
        return {**shown, "delete": True} if delete else shown

    pending = [
        {
            "resource": {
                "urn": urn(type_token(d.provider), d.name),
                "type": type_token(d.provider),
                "inputs": dict(d.news),
            },
            "type": "creating",
        }
        for d in pending_creates
    ]
    resources = [resource(s) for s in stack.resources.values()] + [resource(s, delete=True) for s in stack.condemned]
    return {"version": 3, "deployment": {"resources": resources, "pending_operations": pending}}


class TestClock:
    """The emulator's clock offset, mirrored into the file every provider host reads (``B2C_TEST_CLOCK_FILE``)."""

    __test__ = False  # not a pytest class

    def __init__(self, emulator: Emulator, path: Path) -> None:
        self.emulator = emulator
        self.path = path
        self.path.write_text(str(emulator.clock_offset_s))

    def advance(self, seconds: int) -> int:
        self.emulator.advance_clock(seconds)
        self.path.write_text(str(self.emulator.clock_offset_s))
        return self.emulator.now()


class Engine:
    """Runs commands for stacks against one emulator; every command starts its own provider host(s)."""

    def __init__(
        self,
        emulator: Emulator,
        clock: TestClock,
        *,
        preview_first: bool = True,
        config: Mapping[str, str] | None = None,
    ) -> None:
        self.emulator = emulator
        self.clock = clock
        self.preview_first = preview_first
        #: Stack config beyond the emulator's (e.g. a short ``b2c:retryTimeout`` so a fault gives up quickly).
        self.config = dict(config or {})
        self.hosts_started = 0
        #: Everything the hosts printed (stdout and stderr), for secret scans.
        self.host_output = ""

    @contextmanager
    def host(self) -> Iterator[ProviderHost]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_ENV_PREFIXES)}
        env[TEST_CLOCK_ENV] = str(self.clock.path)
        host = ProviderHost(env=env).start()
        self.hosts_started += 1
        try:
            host.configure({**emulator_config(self.emulator), **self.config}, secrets=SECRET_CONFIG_KEYS)
            yield host
        finally:
            host.close()
            self.host_output += host.output.text

    # --- commands -----------------------------------------------------------------------------------------------

    def preview(self, stack: Stack, program: Sequence[Declared]) -> dict[str, str]:
        """The operation each resource would get (``create``, ``same``, ``update``, ``replace``; ``delete``)."""
        with self.host() as host:
            return self._plan(host, stack, program)

    def up(self, stack: Stack, program: Sequence[Declared]) -> Run:
        """``pulumi up --yes``: the preview (its failure stops the run), then the update. Changes ``stack``."""
        if self.preview_first:
            try:
                self.preview(stack, program)
            except ProviderError as error:
                return Run(error=error)
        run = Run()
        with self.host() as host:
            try:
                self._update(host, stack, program, run)
            except ProviderError as error:
                run.error = error
                return run
            self._delete_condemned(host, stack, run)
        return run

    def refresh(self, stack: Stack) -> Run:
        run = Run()
        with self.host() as host:
            for name, state in list(stack.resources.items()):
                try:
                    fresh = host.read(state)
                except ProviderError as error:
                    run.error = run.error or error
                    continue
                run.ops[name] = "refresh"
                if fresh is None:
                    del stack.resources[name]
                else:
                    stack.resources[name] = fresh
        return run

    def destroy(self, stack: Stack) -> Run:
        run = Run()
        with self.host() as host:
            stack.condemned.extend(stack.resources.values())  # deleted in reverse: keys before their set
            stack.resources.clear()
            self._delete_condemned(host, stack, run)
        return run

    # --- steps --------------------------------------------------------------------------------------------------

    def _plan(self, host: ProviderHost, stack: Stack, program: Sequence[Declared]) -> dict[str, str]:
        ops: dict[str, str] = {}
        for declared in program:
            prior = stack.resources.get(declared.name)
            checked = host.check(declared.provider, declared.name, prior.inputs if prior else {}, declared.news)
            if checked.failures:
                raise ProviderError("Check", _INVALID, "; ".join(f"{p}: {r}" for p, r in checked.failures))
            if prior is None:
                ops[declared.name] = "create"
                continue
            diff = host.diff(prior, checked.inputs)
            ops[declared.name] = "replace" if diff.replaces else "update" if diff.changes != "none" else "same"
            if diff.replaces:
                host.check(declared.provider, declared.name, {}, declared.news)  # the second Check, olds = {}
        declared_names = {d.name for d in program}
        for name in stack.resources:
            if name not in declared_names:
                ops[name] = "delete"
        return ops

    def _update(self, host: ProviderHost, stack: Stack, program: Sequence[Declared], run: Run) -> None:
        for declared in program:
            prior = stack.resources.get(declared.name)
            checked = host.check(declared.provider, declared.name, prior.inputs if prior else {}, declared.news)
            if checked.failures:
                raise ProviderError("Check", _INVALID, "; ".join(f"{p}: {r}" for p, r in checked.failures))
            if prior is None:
                created = host.create(type_token(declared.provider), declared.name, checked.inputs)
                stack.resources[declared.name] = created
                run.ops[declared.name] = "create"
                continue
            diff = host.diff(prior, checked.inputs)
            if diff.replaces:
                second = host.check(declared.provider, declared.name, {}, declared.news)
                new = host.create(prior.type, declared.name, second.inputs)
                stack.resources[declared.name] = new
                stack.condemned.append(prior)
                run.ops[declared.name] = "replace"
            elif diff.changes != "none":
                stack.resources[declared.name] = host.update(prior, checked.inputs)
                run.ops[declared.name] = "update"
            else:
                stack.resources[declared.name] = replace(prior, inputs=checked.inputs)
                run.ops[declared.name] = "same"
        declared_names = {d.name for d in program}
        for name in [n for n in stack.resources if n not in declared_names]:
            stack.condemned.append(stack.resources.pop(name))

    @staticmethod
    def _delete_condemned(host: ProviderHost, stack: Stack, run: Run) -> None:
        for state in reversed(list(stack.condemned)):
            try:
                host.delete(state)
            except ProviderError as error:
                run.error = run.error or error
                continue
            stack.condemned.remove(state)
            run.ops.setdefault(state.name, "delete")
