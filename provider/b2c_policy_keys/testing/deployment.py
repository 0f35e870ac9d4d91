"""One run of the engine (``pkg/resource/deploy/deployment_executor.go``): generator, executor and journal together.

Registrations arrive from the resource monitor's threads; the step generator handles them one at a time, the step
executor (``step_executor.go``) applies steps in ``parallel`` workers. After the program exits and every step is
done, ``finish`` runs the deletes (``performPostSteps``) unless a step failed: then the replaced resources stay in
the checkpoint marked ``delete`` for the next successful ``up``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent import futures

from b2c_policy_keys.testing.checkpoint import Checkpoint, ResourceState
from b2c_policy_keys.testing.journal import Journal
from b2c_policy_keys.testing.monitor import Registration
from b2c_policy_keys.testing.plugin import Provider
from b2c_policy_keys.testing.step_generator import StepGenerator, schedule_deletes
from b2c_policy_keys.testing.steps import PROVIDER_TYPE_PREFIX, DeleteStep, EngineKilled, RefreshStep, Step, StepFailed


class Deployment:
    def __init__(
        self,
        base: Checkpoint,
        provider: Provider | None,
        *,
        dry_run: bool,
        parallel: int,
        kill_on_create: str | None = None,
    ) -> None:
        self.base = base
        self.provider: Provider = provider  # type: ignore[assignment]  # None only for runs with no custom step
        self.dry_run = dry_run
        self.journal = Journal(base)
        self.generator = StepGenerator(base.resources, provider)
        self.steps: list[Step] = []
        self.errors: list[str] = []
        self.killed = False
        #: Set when the run is killed, or by the engine once the program has exited: wakes the program's watcher.
        self.stopped = threading.Event()
        self._kill_on_create = kill_on_create
        self._generate = threading.Lock()
        self._lock = threading.Lock()
        self._pool = futures.ThreadPoolExecutor(max_workers=parallel)
        self._running: list[futures.Future[None]] = []

    @property
    def failed(self) -> bool:
        return bool(self.errors) or self.killed

    def kills(self, new: ResourceState) -> bool:
        return self._kill_on_create is not None and self._kill_on_create in (new.urn, new.name)

    # --- the step generator's side ------------------------------------------------------------------------

    def register(self, reg: Registration) -> None:
        with self._generate:
            if self.failed:
                reg.done.set_exception(StepFailed("the deployment was cancelled after an earlier failure"))
                return
            try:
                steps = self.generator.generate_steps(reg)
            except Exception as error:  # a check failure, a failed call, or a bug: the program must get an answer
                self._fail(error)
                reg.done.set_exception(error)
                return
            future = self._pool.submit(self._chain, steps, reg)
            with self._lock:
                self._running.append(future)

    def register_outputs(self, urn: str, outputs: dict[str, object], secrets: frozenset[str]) -> None:
        """``RegisterResourceOutputs`` of a component or the stack (``source_eval.go``): outputs and their secrets."""
        state = self.journal.new_state(urn)
        if state is not None:
            state.outputs, state.secret_outputs = dict(outputs), secrets

    # --- the step executor's side -------------------------------------------------------------------------

    def _chain(self, steps: list[Step], reg: Registration | None) -> None:
        """``stepExecutor.executeChain``: the steps of one resource in order; its registration answered at the end."""
        state: ResourceState | None = None
        try:
            for step in steps:
                with self._lock:
                    self.steps.append(step)
                state = step.apply(self)
        except EngineKilled:
            self.killed = True
            self.stopped.set()
            if reg is not None:
                reg.done.set_exception(StepFailed("the engine was killed"))
            return
        except Exception as error:  # StepFailed, ProviderCallFailed, or a bug: never leave the program waiting
            self._fail(error)
            if reg is not None:
                reg.done.set_exception(error)
            return
        if reg is not None:
            assert state is not None
            reg.done.set_result((state.id, state.outputs, state.secret_outputs))

    def _fail(self, error: Exception) -> None:
        with self._lock:
            self.errors.append(str(error))

    def wait(self) -> None:
        """Every submitted chain done (``stepExecutor.WaitForCompletion``)."""
        while True:
            with self._lock:
                pending = [f for f in self._running if not f.done()]
                self._running = pending
            if not pending:
                return
            futures.wait(pending)

    def run_chains(self, chains: Iterable[list[Step]]) -> None:
        """Antichains one after the other, each in parallel; none starts after a failure."""
        for chain in chains:
            if self.failed:
                return
            for step in chain:
                future = self._pool.submit(self._chain, [step], None)
                with self._lock:
                    self._running.append(future)
            self.wait()

    def finish(self) -> None:
        """``performPostSteps``: the deferred deletes, reverse dependency order, skipped when any step failed."""
        self.wait()
        if self.failed:
            return
        deletes = self.generator.generate_deletes(self.journal.replaced(), self.base.resources)
        self.run_chains(schedule_deletes(deletes))

    def refresh(self) -> None:
        """``pulumi refresh``: a RefreshStep per custom resource, in parallel (``refreshSteps``)."""
        steps: list[Step] = [
            RefreshStep("refresh", r.urn, r.type, r)
            for r in self.base.resources
            if r.custom and r.id and not r.type.startswith(PROVIDER_TYPE_PREFIX)  # providers are not read
        ]
        self.run_chains([steps])

    def destroy(self) -> None:
        """``pulumi destroy``: every resource deleted, dependents first (``GenerateDeletes`` over all of them)."""
        steps: list[Step] = [
            DeleteStep("delete-replaced" if r.delete else "delete", r.urn, r.type, r) for r in self.base.resources
        ]
        self.run_chains(schedule_deletes(steps))

    def close(self) -> None:
        self._pool.shutdown(wait=not self.killed, cancel_futures=self.killed)
