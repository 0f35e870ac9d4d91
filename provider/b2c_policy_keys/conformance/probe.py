"""One probe run: every call checked against the scratch prefix, recorded as a template, and cleaned up after.

Cleanup runs whatever ends the script: its end, an error, Ctrl-C (SIGINT) or SIGTERM (both raise
KeyboardInterrupt in the main thread here), or interpreter exit (atexit); both signals are ignored while it runs so
a second Ctrl-C cannot leave key sets behind.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TextIO

import requests

from b2c_policy_keys.conformance.caller import Caller, Reply
from b2c_policy_keys.conformance.record import Entry, Record
from b2c_policy_keys.conformance.redact import Redactor
from b2c_policy_keys.conformance.scope import Scope, ScopeError, full_id
from b2c_policy_keys.errors import B2CKeysError

COLLECTION = "/trustFramework/keySets"
#: The headers a record keeps (values templated); the rest vary per request or say nothing about behaviour.
KEPT_HEADERS = ("Content-Type", "Location", "Retry-After", "WWW-Authenticate")
#: Not found, whatever the status (reference, "Not found").
NOT_FOUND_CODE = "AADB2C90073"
#: Cleanup rounds, and the wait between them, for a ``.bak`` the service makes after answering the delete.
CLEANUP_ROUNDS = 3
CLEANUP_WAIT_S = 2.0


class Skip(Exception):
    """A step that cannot run (what it needs is missing); its reason goes to the record's ``not_done``."""


@dataclass
class Step:
    """One call of the script. ``write``: needs the write role; ``read_only_app``: runs as the read-only app."""

    name: str
    run: Callable[[Probe], None]
    write: bool = False
    read_only_app: bool = False


@dataclass
class Target:
    """Who the probe talks to: the read-write (or read-only) credential, and optionally a read-only app."""

    kind: str
    main: Caller
    read_only: Caller | None = None
    sensitive: tuple[str, ...] = ()


@dataclass
class Probe:
    """One run: ``run(STEPS)`` calls each step, which sends its request through ``call``; then ``cleanup``."""

    target: Target
    scope: Scope
    run_token: str
    out: TextIO = field(default_factory=lambda: sys.stderr)
    ctx: dict[str, Any] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    cleanup_wait_s: float = CLEANUP_WAIT_S

    def __post_init__(self) -> None:
        self.redactor = Redactor(
            prefix=self.scope.prefix, graph_url=self.target.main.settings.graph_url, sensitive=self.target.sensitive
        )
        self.record = Record(target=self.target.kind, read_only_app=self.target.read_only is not None)
        self._cleaned = False
        #: Set by ``run``: stopped by Ctrl-C/SIGTERM; stopped by an unexpected error (its redacted text).
        self.interrupted = False
        self.error: str | None = None
        self._step = ""
        self._caller: Caller = self.target.main

    def name(self, tag: str) -> str:
        """A scratch key set name: the prefix, the step's tag and this run's token (so no real set is ever hit)."""
        return f"{self.scope.prefix}{tag}{self.run_token}"

    def secret(self, value: str) -> str:
        """Register a throwaway value so no record can hold it, and hand it back."""
        self.redactor.add_sensitive(value)
        return value

    # --- one call ----------------------------------------------------------------------------------------

    def call(self, method: str, template: str, *, keyset: str | None = None, kid: str | None = None,
             body: Any = None) -> Reply:  # fmt: skip
        """Send one request of the current step and record it; ScopeError before anything outside the prefix."""
        path = self._path(method, template, keyset, kid, body)
        try:
            reply = self._caller.send(method, path, body)
        finally:
            self.redactor.add_sensitive(self._caller.last_token)
        self._learn(reply.json)
        self.record.entries.append(self._entry(method, template, reply))
        if reply.throttled:
            self.record.notes.append({"step": self._step, "note": f"throttled {reply.throttled} time(s), waited"})
        return reply

    def _path(self, method: str, template: str, keyset: str | None, kid: str | None, body: Any) -> str:
        if template != COLLECTION and not template.startswith(COLLECTION + "/{keySet}"):
            raise ScopeError(f"the probe only calls {COLLECTION} and one key set under it, not {template}")
        if template == COLLECTION:
            if method != "POST" or not isinstance(body, dict):
                raise ValueError("the key set collection is only POSTed to (create)")
            created = full_id(self.scope.check(body.get("id")))
            if created not in self.created:
                self.created.append(created)  # before sending: a lost answer may still have created it
        else:
            self.scope.check(keyset)
        values = {"keySet": keyset or "", "kid": kid or ""}
        return template.format(**{k: urllib.parse.quote(v, safe="") for k, v in values.items()})

    def _learn(self, body: Any) -> None:
        """Kids and ids seen in answers are run-specific: hide them wherever they appear."""
        if isinstance(body, dict):
            for key, value in body.items():
                if key == "kid" and isinstance(value, str):
                    self.redactor.add_sensitive(value)
                else:
                    self._learn(value)
        elif isinstance(body, list):
            for item in body:
                self._learn(item)

    def _entry(self, method: str, template: str, reply: Reply) -> Entry:
        code = message = None
        error = reply.json.get("error") if isinstance(reply.json, dict) else None
        if isinstance(error, dict):
            code = error.get("code") if isinstance(error.get("code"), str) else None
            raw = error.get("message")
            message = self.redactor.template(raw) if isinstance(raw, str) else None
        headers = {}
        for name in KEPT_HEADERS:
            value = _header(reply.headers, name)
            if value is None:
                continue
            if name == "Retry-After":
                headers[name] = "integer" if value.strip().isdigit() else "fractional" if _is_number(value) else "date"
            else:
                headers[name] = self.redactor.template(value)
        if _header(reply.headers, "request-id") is not None:
            headers["request-id"] = "present"
        if reply.json is not None:
            body = self.redactor.shape(reply.json)
        elif reply.content_type and reply.status != 204:
            body = f"not JSON ({reply.content_type.split(';')[0]})"
        else:
            body = None
        return Entry(self._step, method, template, reply.status, code, message, headers, body)

    # --- the script ---------------------------------------------------------------------------------------

    def run(self, steps: list[Step]) -> Record:
        """Run ``steps`` in order, then clean up; the record says what did not run, also after an interrupt.

        A failed call is recorded and the script goes on; anything else that goes wrong stops the script (named in
        ``error``, never raised) so the record of what ran is still written.
        """
        index = 0
        with _signals_raise_interrupt():
            atexit.register(self.cleanup)
            try:
                can_write = self._can_write()
                for index, step in enumerate(steps):
                    if not self._run_step(index, len(steps), step, can_write):
                        index += 1
                        raise KeyboardInterrupt
                self.record.complete = not self.record.not_done
            except KeyboardInterrupt:
                self.interrupted = True
                print("interrupted: cleaning up", file=self.out, flush=True)
                self._not_done_from(steps[index:], "interrupted")
            except Exception as error:
                self.error = self.redactor.template(f"{type(error).__name__}: {error}")
                print(f"the probe stopped ({self.error}): cleaning up", file=self.out, flush=True)
                self._not_done_from(steps[index:], f"the probe stopped: {self.error}")
            finally:
                self.cleanup()
                atexit.unregister(self.cleanup)
        return self.record

    def _can_write(self) -> bool:
        try:
            return self.target.main.can_write()
        except (B2CKeysError, requests.RequestException):
            return True  # the first step records the failure to get a token

    def _run_step(self, index: int, total: int, step: Step, can_write: bool) -> bool:
        """One step; False when interrupted. A failed step is recorded and the script goes on."""
        self._step = step.name
        if step.write and not can_write:
            self._not_done(step.name, "the credential is read-only (no TrustFrameworkKeySet.ReadWrite.All role)")
            return True
        caller = self.target.read_only if step.read_only_app else self.target.main
        if caller is None:
            self._not_done(
                step.name, "no read-only app given (--read-only-client-id with --read-only-client-secret-file)"
            )
            return True
        self._caller = caller
        print(f"[{index + 1}/{total}] {step.name}", file=self.out, flush=True)
        before = len(self.record.entries)
        try:
            step.run(self)
        except Skip as skipped:
            self._not_done(step.name, str(skipped))
        except KeyboardInterrupt:
            self._not_done(step.name, "interrupted")
            return False
        except (B2CKeysError, requests.RequestException) as error:
            reason = self.redactor.template(f"{type(error).__name__}: {error}")
            self._not_done(step.name, reason)
        for entry in self.record.entries[before:]:
            print(f"    {entry.method} {entry.path} -> {entry.status} {entry.code or ''}", file=self.out, flush=True)
        return True

    def _not_done(self, step: str, reason: str) -> None:
        self.record.not_done.append({"step": step, "reason": reason})

    def _not_done_from(self, steps: list[Step], reason: str) -> None:
        done = {item["step"] for item in self.record.not_done} | {entry.step for entry in self.record.entries}
        for step in steps:
            if step.name not in done:
                self._not_done(step.name, reason)

    # --- cleanup ------------------------------------------------------------------------------------------

    def cleanup(self) -> None:
        """Delete every key set this run created (or may have), then its ``.bak``; check, and count what stays.

        The ``.bak`` of a set may appear only after its delete has been answered, so what still exists is deleted
        again, a few rounds apart, before it is reported (by name, to stderr) as left.
        """
        if self._cleaned:
            return
        self._cleaned = True
        victims = [victim for keyset in reversed(self.created) for victim in (keyset, keyset + ".bak")]
        deleted, remaining = 0, list(victims)
        with _signals_ignored():
            for round_ in range(CLEANUP_ROUNDS):
                if round_:
                    time.sleep(self.cleanup_wait_s)
                deleted += sum(self._delete_quietly(victim) == "deleted" for victim in remaining)
                # All of them again: deleting a set late makes its .bak, checked absent a round before.
                remaining = [victim for victim in victims if self._still_there(victim)]
                if not remaining:
                    break
        for victim in remaining:
            print(f"cleanup: could not delete {victim}: delete it by hand", file=self.out, flush=True)
        self.record.cleanup = {"deleted": deleted, "left": len(remaining)}
        if remaining:
            self.record.complete = False

    def _keyset_path(self, keyset: str) -> str:
        return f"{COLLECTION}/{urllib.parse.quote(self.scope.check(keyset), safe='')}"

    def _delete_quietly(self, keyset: str) -> str:
        try:
            reply = self.target.main.send("DELETE", self._keyset_path(keyset))
        except (B2CKeysError, requests.RequestException):
            return "failed"
        return "deleted" if reply.status == 204 else "gone" if _not_found(reply) else "failed"

    def _still_there(self, keyset: str) -> bool:
        """Whether ``keyset`` may still exist: only a not-found answer says it does not."""
        try:
            return not _not_found(self.target.main.send("GET", self._keyset_path(keyset)))
        except (B2CKeysError, requests.RequestException):
            return True


def _not_found(reply: Reply) -> bool:
    """A 404, or any status carrying AADB2C90073 (reference, "Not found": the service uses both)."""
    error = reply.json.get("error") if isinstance(reply.json, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return reply.status == 404 or code == NOT_FOUND_CODE


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _signals_raise_interrupt() -> Iterator[None]:
    """SIGTERM behaves as Ctrl-C does, so ``kill`` cleans up too (main thread only: signals cannot be set elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
