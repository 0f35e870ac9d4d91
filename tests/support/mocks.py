"""Run a Pulumi program under ``pulumi.runtime.set_mocks`` with mocks that delegate to the real, unpickled providers.

``set_mocks`` never calls a provider, so ``ProviderMocks.new_resource`` does what the engine and host would: unpickle
``__provider`` (proving the pickle is importable and small), configure it with the stack config, Check, then Create
(or Diff, then Update / replace, when the resource exists from an earlier run). The state is kept on the mocks, so a
second ``run_program`` with the same mocks is a second ``pulumi up`` that can diff.

    mocks = ProviderMocks(emulator_config(emu))
    result = run_program(lambda: {"kid": SecretKey("s", keyset_id="x", value="v").kid}, mocks)
    assert result["kid"].value and mocks.plans == {"s": "create"}
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dill
import pulumi
from pulumi.dynamic import ConfigureRequest, ResourceProvider
from pulumi.dynamic.config import Config
from pulumi.runtime import rpc

from support.host import PROJECT, PROVIDER_KEY, STACK

_DYNAMIC_PREFIX = "pulumi-python:dynamic/"


@dataclass
class Stored:
    type: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@dataclass(frozen=True)
class Resolved:
    value: Any
    secret: bool
    known: bool


class _Capture(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"{record.levelname}: {record.getMessage()}")


@dataclass
class ProviderMocks(pulumi.runtime.Mocks):
    """Mocks whose dynamic resources really run against Graph (the emulator); other resources echo their inputs."""

    config: Mapping[str, Any] = field(default_factory=dict)
    preview: bool = False
    state: dict[str, Stored] = field(default_factory=dict)
    #: (method, resource name) for every provider method called, in order.
    provider_calls: list[tuple[str, str]] = field(default_factory=list)
    #: Raw ``__provider`` strings seen, for size and secret checks.
    pickles: list[str] = field(default_factory=list)
    #: Names the program marked secret in its inputs, per resource.
    secret_inputs: dict[str, frozenset[str]] = field(default_factory=dict)
    #: What each dynamic resource's last run did or, in preview, would do: create, same, update or replace.
    plans: dict[str, str] = field(default_factory=dict)
    #: Messages the program logged (``pulumi.warn`` ...).
    messages: list[str] = field(default_factory=list)
    _providers: dict[str, ResourceProvider] = field(default_factory=dict)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.typ.startswith(_DYNAMIC_PREFIX):
            return f"{args.name}-id", dict(args.inputs)
        raw = dict(args.inputs)
        self.secret_inputs[args.name] = frozenset(k for k, v in raw.items() if rpc.is_rpc_secret(v))
        news = {k: rpc.unwrap_rpc_secret(v) for k, v in raw.items()}
        self.pickles.append(news[PROVIDER_KEY])
        provider = self._provider(news[PROVIDER_KEY])
        prior = self.state.get(args.name)
        self.provider_calls.append(("check", args.name))
        checked = provider.check(dict(prior.inputs) if prior else {}, news)
        if checked.failures:
            raise ValueError("; ".join(f"{f.property}: {f.reason}" for f in checked.failures))
        inputs = {**checked.inputs, PROVIDER_KEY: news[PROVIDER_KEY]}
        self.plans[args.name] = "create"
        if prior is not None:
            self.provider_calls.append(("diff", args.name))
            diff = provider.diff(prior.id, _plain(prior.outputs), inputs)
            self.plans[args.name] = "replace" if diff.replaces else "update" if diff.changes else "same"
            if not diff.changes:
                prior.inputs = inputs
                return prior.id, dict(prior.outputs)
        if self.preview:
            return (prior.id if prior else None), dict(prior.outputs if prior else inputs)
        if prior is not None and not diff.replaces:
            self.provider_calls.append(("update", args.name))
            outs = provider.update(prior.id, _plain(prior.outputs), inputs).outs or {}
            stored = Stored(args.typ, prior.id, inputs, {**outs, PROVIDER_KEY: news[PROVIDER_KEY]})
        else:
            self.provider_calls.append(("create", args.name))
            created = provider.create(inputs)
            stored = Stored(args.typ, created.id, inputs, {**(created.outs or {}), PROVIDER_KEY: news[PROVIDER_KEY]})
            if prior is not None:
                self.provider_calls.append(("delete", args.name))
                provider.delete(prior.id, _plain(prior.outputs))
        self.state[args.name] = stored
        return stored.id, dict(stored.outputs)

    def _provider(self, pickle: str) -> ResourceProvider:
        provider = self._providers.get(pickle)
        if provider is None:
            provider = dill.loads(base64.b64decode(pickle))  # noqa: S301  (our own pickle, as the host does)
            provider.configure(ConfigureRequest(Config(raw_config=dict(self.config), project_name=PROJECT)))
            self._providers[pickle] = provider
        return provider


def _plain(props: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs as the engine hands them back to a provider: secrets unwrapped."""
    return {k: rpc.unwrap_rpc_secret(v) for k, v in props.items()}


def run_program(
    program: Callable[[], Mapping[str, Any]],
    mocks: ProviderMocks,
    *,
    program_config: Mapping[str, str] | None = None,
    secret_config: frozenset[str] = frozenset(),
    project: str = PROJECT,
    stack: str = STACK,
) -> dict[str, Resolved]:
    """Run ``program`` (returning named outputs) once, as one ``pulumi up`` (or preview, per ``mocks.preview``).

    ``project`` and ``stack`` name the run (a real program reads its config under its project's namespace).
    """
    logger = logging.getLogger(f"support.mocks.{id(mocks)}")
    logger.propagate = False
    logger.handlers[:] = [_Capture(mocks.messages)]
    pulumi.runtime.set_all_config(dict(program_config or {}), list(secret_config))
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=mocks.preview, logger=logger)
    results: dict[str, Resolved] = {}

    async def collect(outputs: Mapping[str, Any]) -> None:
        for key, value in outputs.items():
            out = pulumi.Output.from_input(value)
            results[key] = Resolved(await out.future(), await out.is_secret(), await out.is_known())

    @pulumi.runtime.test
    def body() -> Any:
        return pulumi.Output.from_input(asyncio.ensure_future(collect(program())))

    body()
    return results
