"""Test-only glue between the stateful and rotation tests and the one engine stand-in, ``b2c_policy_keys.testing``.

The engine (``testing.engine.Engine``: preview in a host of its own, Check then Diff, the second Check with
olds = {} on a replace, deferred deletes skipped after a failure, refresh = Read then Diff, destroy in reverse
dependency order) does every step. This module only turns a test's declarations into the engine's in-process
registrations (``Engine.program``: a language host per command would make the state machine far too slow), keeps
one checkpoint per stack, and holds the test clock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi.dynamic import ResourceProvider

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.model import TEST_CLOCK_ENV
from b2c_policy_keys.testing.checkpoint import DEFAULT_PROVIDER_URN_TYPE, Checkpoint, ResourceState
from b2c_policy_keys.testing.engine import DeploymentFailed, Result
from b2c_policy_keys.testing.engine import Engine as StackEngine
from b2c_policy_keys.testing.monitor import Registration, new_urn
from b2c_policy_keys.testing.protocol import (
    CREDENTIAL_ENV_PREFIXES,
    SECRET_CONFIG_KEYS,
    emulator_config,
    pickled,
    type_token,
    with_provider,
)
from support.programs import root_program

#: Inputs the resource classes wrap as secrets, and the outputs they mark secret (``resources/secret_key.py``,
#: ``resources/certificate.py``): what the SDK would send for a program of these declarations.
SECRET_INPUTS = frozenset({"value", "pfx", "password"})
SECRET_OUTPUTS = ("value", "value_fingerprint", "pfx", "password")


@dataclass(frozen=True)
class Declared:
    """One resource of a program: its provider, its resource name (the URN's last part) and its inputs."""

    provider: ResourceProvider
    name: str
    news: Mapping[str, Any]


@dataclass
class Stack:
    """One stack's checkpoint (the engine's), seen as resources by name and the condemned ones (``delete: true``)."""

    checkpoint: Checkpoint = field(default_factory=Checkpoint)

    @property
    def resources(self) -> dict[str, ResourceState]:
        return {r.name: r for r in self.checkpoint.resources if not r.delete and r.type != DEFAULT_PROVIDER_URN_TYPE}

    @property
    def condemned(self) -> list[ResourceState]:
        return [r for r in self.checkpoint.resources if r.delete]

    def all(self) -> list[ResourceState]:
        return [*self.resources.values(), *self.condemned]


class RunFailed(Exception):
    """What stopped a run: ``details`` is the text the CLI would print (the provider's error among it)."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


@dataclass
class Run:
    """What a run did: the operation per resource name, and the error that stopped it (None: it succeeded)."""

    ops: dict[str, str] = field(default_factory=dict)
    error: RunFailed | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


#: A resource's first step names what happened to it; a replace's deferred delete does not hide its replace.
_OPS = {"create-replacement": "replace", "delete-replaced": "delete", "refresh-deleted": "refresh"}


def _run(result: Result) -> Run:
    run = Run()
    for op, urn, type_ in result.steps:
        if type_ != DEFAULT_PROVIDER_URN_TYPE:
            run.ops.setdefault(urn.rsplit("::", 1)[-1], _OPS.get(op, op))
    if result.errors:
        run.error = RunFailed("; ".join(result.errors))
    return run


def stack_export(stack: Stack, pending_creates: Sequence[Declared] = ()) -> dict[str, Any]:
    """The engine's ``pulumi stack export`` JSON for ``stack``, plus creates a killed run left pending (with the
    inputs Pulumi records in ``pending_operations``, which the in-memory checkpoint of a finished run never has)."""
    document = stack.checkpoint.to_json()
    pending = [
        {"resource": {"urn": _urn(d), "type": type_token(d.provider), "inputs": dict(d.news)}, "type": "creating"}
        for d in pending_creates
    ]
    if pending:
        document["deployment"].setdefault("pending_operations", []).extend(pending)
    return document


_STACK, _PROJECT = "dev", "b2c-stateful"


def _urn(declared: Declared) -> str:
    return new_urn(_STACK, _PROJECT, "", type_token(declared.provider), declared.name)


def registrations(program: Sequence[Declared]) -> list[Registration]:
    """The registrations the SDK would send for ``program``; each depends on those before it (a key on its set)."""
    regs: list[Registration] = []
    for declared in program:
        news = dict(declared.news)
        regs.append(
            Registration(
                urn=_urn(declared),
                type=type_token(declared.provider),
                name=declared.name,
                custom=True,
                parent="",
                inputs=with_provider(news, pickled(declared.provider)),
                secret_inputs=SECRET_INPUTS & news.keys(),
                dependencies=[r.urn for r in regs],
                protect=False,
                additional_secret_outputs=SECRET_OUTPUTS,
                delete_before_replace=False,
                ignore_changes=(),
            )
        )
    return regs


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
    """Commands for any number of stacks against one emulator: the one engine, its checkpoint swapped per stack."""

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
        env = {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_ENV_PREFIXES)}
        env[TEST_CLOCK_ENV] = str(clock.path)
        project = root_program(clock.path.parent / _PROJECT, "", name=_PROJECT)
        self._engine = StackEngine(project, _STACK, environ=env)
        # Stack config beyond the emulator's (e.g. a short ``b2c:retryTimeout`` so a fault gives up quickly).
        for key, value in {**emulator_config(emulator), **(config or {})}.items():
            self._engine.set_config(key, value, secret=key in SECRET_CONFIG_KEYS)
        #: Everything the hosts printed (stdout and stderr), for secret scans.
        self.host_output = ""

    @contextmanager
    def _on(self, stack: Stack, program: Sequence[Declared] = ()) -> Iterator[list[Result]]:
        """The engine on ``stack``'s checkpoint; the checkpoint it leaves goes back to ``stack``."""
        self._engine.checkpoint = stack.checkpoint
        self._engine.program = lambda: registrations(program)
        results: list[Result] = []
        try:
            yield results
        finally:
            stack.checkpoint = self._engine.checkpoint
            self.host_output += "".join(r.output for r in results)

    def _command(self, stack: Stack, program: Sequence[Declared], command: str) -> Run:
        with self._on(stack, program) as results:
            try:
                if command == "preview":
                    result = self._engine.preview()
                elif command == "up":
                    result = self._engine.up(skip_preview=not self.preview_first)
                    if result.preview is not None:
                        results.append(result.preview)
                elif command == "refresh":
                    result = self._engine.refresh()
                else:
                    result = self._engine.destroy(skip_preview=True)
            except DeploymentFailed as failed:
                result = failed.result
            results.append(result)
        return _run(result)

    def preview(self, stack: Stack, program: Sequence[Declared]) -> dict[str, str]:
        """The operation each resource would get (``create``, ``same``, ``update``, ``replace``; ``delete``)."""
        run = self._command(stack, program, "preview")
        if run.error is not None:
            raise run.error
        return run.ops

    def up(self, stack: Stack, program: Sequence[Declared]) -> Run:
        """``pulumi up --yes``: the preview (its failure stops the run), then the update. Changes ``stack``."""
        return self._command(stack, program, "up")

    def refresh(self, stack: Stack) -> Run:
        return self._command(stack, (), "refresh")

    def destroy(self, stack: Stack) -> Run:
        return self._command(stack, (), "destroy")
