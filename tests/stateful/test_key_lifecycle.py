"""The model-based proof of issue 11: random sequences of stack commands, tenant changes and faults, checked throughout.

A hypothesis ``RuleBasedStateMachine`` drives two stacks through the program-level engine stand-in
(``stateful.engine``: real provider hosts over gRPC, the second Check, deferred deletes) against one emulator. Stack
``a`` declares the key set ``Shared`` and a secret in it; stack ``b`` declares a generated key in the same set. Rules:
up, rotate (at once, scheduled with a future ``not_before``, or with the same fixed dates), preview, refresh,
destroy, the clock moving on, an administrator disabling a key or uploading one out of band; half the runs of ``up``
meet one fault (dropped before or after the service, 429, 503, no answer in time) on one route.

After every step:
- **valid key**: a provider command that found the set with a valid key leaves it with one, unless no key a program
  still declares is left (the programs removed their keys, or an administrator disabled them);
- **nothing untracked**: every enabled key of the set is tracked by a state (its kid or the kid it is retiring), was
  made out of band, or was named by the error of the failed run that left it (the provider reported its candidates);
- **right value**: each state's kid holds that state's value (the emulator's secret check);
- **refresh tells the truth**: after a refresh, each state's kid exists with the status its outputs say;
- **preview writes nothing**.

CI runs it derandomized with a bounded example count; ``B2C_STATEFUL_EXAMPLES=200 ... -p no:randomly`` runs it
longer (docs/development.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from b2c_policy_keys import GeneratedKeyProvider, KeySetProvider, SecretKeyProvider
from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.errors import NotFoundError
from b2c_policy_keys.model import KeySet
from stateful.engine import Declared, Engine, Run, Stack, TestClock
from support.host import graph_client, graph_requests

SET = "B2C_1A_Shared"
EXPIRES = 4102444799
STACKS = ("a", "b")
EXAMPLES = int(os.environ.get("B2C_STATEFUL_EXAMPLES", "10"))
STEPS = int(os.environ.get("B2C_STATEFUL_STEPS", "8"))
#: How a rotation dates the new key: valid at once, from a future moment, or from the same fixed past moment.
ROTATIONS = ("now", "scheduled", "dates kept")
PINNED_NOT_BEFORE = 1_700_000_000

#: Faults the emulator injects (emulator/faults.py), each once, on one route of the provider's Graph calls.
FAULTS: dict[str, dict[str, Any]] = {
    "drop_before": {"kind": "drop_before"},
    "drop_after": {"kind": "drop_after"},
    "429": {"kind": "status", "status": 429, "retry_after": 0},
    "503": {"kind": "status", "status": 503},
    "timeout": {"kind": "latency", "latency_ms": 2500},  # past b2c:requestTimeout (2 s): the answer never comes
}
ROUTES: dict[str, dict[str, Any]] = {
    "upload": {"path_regex": r"uploadSecret$", "method": "POST"},
    "status": {"path_regex": r"keys_v2", "method": "PATCH"},
    "read": {"path_regex": r"keySets/[^/]+$", "method": "GET"},
    "create set": {"path_regex": r"keySets$", "method": "POST"},
}


#: No fault, or one (kind, route) pair: half the runs of ``up`` and ``rotate`` meet one.
FAULT = st.none() | st.tuples(st.sampled_from(sorted(FAULTS)), st.sampled_from(sorted(ROUTES)))


@dataclass
class Wish:
    """What a stack's program declares for its key."""

    value: str
    not_before: int | None = None


@dataclass
class Tenant:
    """The set as the tenant holds it now (None: no such set)."""

    keyset: KeySet | None
    now: int

    def valid(self) -> bool:
        return self.keyset is not None and self.keyset.active_key(self.now) is not None

    def enabled(self) -> set[str]:
        return set() if self.keyset is None else {k.kid for k in self.keyset.keys if k.enabled}


@dataclass
class Model:
    wishes: dict[str, Wish] = field(default_factory=dict)
    stacks: dict[str, Stack] = field(default_factory=lambda: {name: Stack() for name in STACKS})
    out_of_band: set[str] = field(default_factory=set)
    admin_disabled: set[str] = field(default_factory=set)
    excused: set[str] = field(default_factory=set)  # kids a failed run named in its error


class KeyLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.emulator = Emulator().start()
        self.dir = Path(tempfile.mkdtemp(prefix="b2c-stateful-"))
        self.clock = TestClock(self.emulator, self.dir / "clock")
        # Short budgets: a fault that never clears gives up in a second, and a lost answer is polled for briefly.
        config = {"b2c:retryTimeout": "1", "b2c:requestTimeout": "2"}
        self.engine = Engine(self.emulator, self.clock, preview_first=False, config=config)
        self.graph = graph_client(self.emulator)
        self.model = Model()
        self.counter = 0

    def teardown(self) -> None:
        self.emulator.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- the programs ---------------------------------------------------------------------------------------------

    def _value(self) -> str:
        self.counter += 1
        return f"secret-value-{self.counter}"

    def program(self, stack: str) -> list[Declared]:
        """Stack ``a``: the set and a secret in it. Stack ``b``: a generated key (oct, the same family) in that set."""
        wish = self.model.wishes[stack]
        news: dict[str, Any] = {"keyset_id": "Shared", "expires_at": EXPIRES}
        if wish.not_before is not None:
            news["not_before"] = wish.not_before
        if stack == "b":
            news.update(kty="oct", version=wish.value)  # a new version is b's rotation
            return [Declared(GeneratedKeyProvider(), "b-key", news)]
        key = Declared(SecretKeyProvider(), "a-key", {**news, "value": wish.value})
        return [Declared(KeySetProvider(), "set", {"name": "Shared"}), key]

    @initialize()
    def declare(self) -> None:
        for stack in STACKS:
            self.model.wishes[stack] = Wish(self._value())

    # --- observing the tenant -----------------------------------------------------------------------------------

    def tenant(self) -> Tenant:
        try:
            keyset: KeySet | None = self.graph.get_keyset(SET)
        except NotFoundError:
            keyset = None
        return Tenant(keyset, self.emulator.now())

    def tracked(self, *, condemned: bool = True) -> set[str]:
        kids: set[str] = set()
        for stack in self.model.stacks.values():
            for state in stack.all() if condemned else stack.resources.values():
                kids.update(v for k in ("kid", "retiring_kid") if isinstance(v := state.outputs.get(k), str))
        return kids

    # --- commands and their checks ------------------------------------------------------------------------------

    def command(self, stack: str, what: str) -> Run:
        before = self.tenant()
        state = self.model.stacks[stack]
        if what == "up":
            run = self.engine.up(state, self.program(stack))
        elif what == "refresh":
            run = self.engine.refresh(state)
        else:
            run = self.engine.destroy(state)
        after = self.tenant()
        if not run.ok and run.error is not None:
            self.model.excused |= {kid for kid in after.enabled() - before.enabled() if kid in run.error.details}
        self.check(before, after, run, f"{what} {stack}")
        if what == "refresh" and run.ok:
            self.check_refreshed(stack, after)
        return run

    def check(self, before: Tenant, after: Tenant, run: Run, step: str) -> None:
        tracked = self.tracked()
        detail = f"after {step}: {run}"
        # Keys a program still declares, minus those an administrator disabled (and nobody re-enabled).
        present = set() if after.keyset is None else {k.kid for k in after.keyset.keys}
        wanted = self.tracked(condemned=False) & present - (self.model.admin_disabled - after.enabled())
        if before.valid() and wanted:
            assert after.valid(), f"no valid key in {SET} {detail}"
        untracked = after.enabled() - tracked - self.model.out_of_band - self.model.excused
        assert not untracked, f"enabled keys no state tracks: {sorted(untracked)} {detail}"
        if after.keyset is None:
            return
        for name, stack in self.model.stacks.items():
            for state in stack.resources.values():
                kid = state.outputs.get("kid")
                if "value" in state.inputs and after.keyset.key(str(kid)) is not None:
                    assert self.emulator.secret_matches(SET, str(kid), state.inputs["value"]), (
                        f"{name}'s kid {kid} does not hold its state's value {detail}"
                    )

    def check_refreshed(self, stack: str, after: Tenant) -> None:
        for state in self.model.stacks[stack].resources.values():
            assert after.keyset is not None, f"refresh of {stack} kept {state.name} of a set that is gone"
            kid = state.outputs.get("kid")
            if kid is None:
                continue
            key = after.keyset.key(str(kid))
            assert key is not None and key.status == state.outputs["status"], f"refresh of {stack}: {state.outputs}"

    # --- rules ------------------------------------------------------------------------------------------------------

    @rule(stack=st.sampled_from(STACKS), fault=FAULT)
    def up(self, stack: str, fault: tuple[str, str] | None) -> None:
        self.faulted(stack, fault)

    def _rotate(self, stack: str, how: str, delay: int = 600) -> None:
        """A new value: valid at once, from a moment ``delay`` ahead, or from a fixed past moment (dates kept)."""
        nbf = {"now": None, "scheduled": self.emulator.now() + delay, "dates kept": PINNED_NOT_BEFORE}[how]
        self.model.wishes[stack] = Wish(self._value(), nbf)

    @rule(
        stack=st.sampled_from(STACKS),
        how=st.sampled_from(ROTATIONS),
        delay=st.sampled_from([600, 3600]),
        fault=FAULT,
    )
    def rotate(self, stack: str, how: str, delay: int, fault: tuple[str, str] | None) -> None:
        self._rotate(stack, how, delay)
        self.faulted(stack, fault)

    def faulted(self, stack: str, fault: tuple[str, str] | None) -> None:
        """``up``, with one fault on one route when ``fault`` names them."""
        if fault is not None:
            kind, route = fault
            self.emulator.add_fault(**FAULTS[kind], **ROUTES[route], count=1)
        try:
            self.command(stack, "up")
        finally:
            self.emulator.clear_faults()

    @rule(stack=st.sampled_from(STACKS))
    def refresh(self, stack: str) -> None:
        self.command(stack, "refresh")

    @rule(stack=st.sampled_from(STACKS))
    def destroy(self, stack: str) -> None:
        self.command(stack, "destroy")

    @rule(stack=st.sampled_from(STACKS))
    def preview(self, stack: str) -> None:
        self.emulator.clear_requests()
        self.engine.preview(self.model.stacks[stack], self.program(stack))
        writes = [r for r in graph_requests(self.emulator) if r["method"] != "GET"]
        assert not writes, f"preview wrote: {writes}"

    @rule(seconds=st.sampled_from([30, 700, 4000]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: self.tenant().keyset is not None)
    @rule(data=st.data())
    def admin_disables_a_key(self, data: st.DataObject) -> None:
        keyset = self.tenant().keyset
        assert keyset is not None
        enabled = sorted(k.kid for k in keyset.keys if k.enabled)
        if enabled:
            kid = data.draw(st.sampled_from(enabled))
            self.graph.set_key_status(SET, kid, "disabled")
            self.model.admin_disabled.add(kid)

    @precondition(lambda self: self.tenant().keyset is not None)
    @rule()
    def admin_uploads_a_key(self) -> None:
        key = self.graph.upload_secret(SET, use="sig", value=self._value(), nbf=self.emulator.now(), exp=EXPIRES)
        self.model.out_of_band.add(key.kid)


KeyLifecycle.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    derandomize=os.environ.get("B2C_STATEFUL_RANDOM") != "1",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    database=None,
)
TestKeyLifecycle = pytest.mark.timeout(900)(KeyLifecycle.TestCase)
