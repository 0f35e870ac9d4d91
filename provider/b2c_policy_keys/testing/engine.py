"""``Engine``: ``pulumi preview``/``up``/``refresh``/``destroy`` of a real project against the real provider host.

    engine = Engine(Path("infra"), "local", environ=b2c_emulator.environ, passphrase="...")
    engine.up()
    assert engine.checkpoint.get("TokenSigningKeyContainer").id == "B2C_1A_TokenSigningKeyContainer"

Each command follows the Pulumi function named beside it. The program runs in a subprocess as the Python language
host runs it (``_exec``); the provider host is started by the launcher's rules (cwd = program directory).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from b2c_policy_keys.testing.checkpoint import DEFAULT_PROVIDER_URN_TYPE, Checkpoint, ResourceState
from b2c_policy_keys.testing.deployment import Deployment
from b2c_policy_keys.testing.launcher import provider_host_command
from b2c_policy_keys.testing.monitor import Diagnostic, Registration, ResourceMonitor
from b2c_policy_keys.testing.passphrase import Crypter
from b2c_policy_keys.testing.plugin import Provider
from b2c_policy_keys.testing.project import Project, load_project, load_stack_config
from b2c_policy_keys.testing.protocol import drain

#: ``pkg/cmd/pulumi/operations/up.go`` ``defaultParallel``: 4 x CPUs.
DEFAULT_PARALLEL = 4 * (os.cpu_count() or 1)

#: A program run in the test's own process: a fresh list of registrations per run (each ``Registration.done``
#: answers once), in program order.
InProcessProgram = Callable[[], Sequence[Registration]]


@dataclass
class Result:
    """What one command did: its steps, the provider calls in order, and what the program and host printed."""

    command: str
    steps: list[tuple[str, str, str]] = field(default_factory=list)  # (op, urn, type)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, urn)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    output: str = ""
    #: ``up`` only: the preview it ran first (None with ``skip_preview``).
    preview: Result | None = None
    drift: dict[str, str] = field(default_factory=dict)  # refresh: name -> the Diff's verdict (same/update/replace)
    #: Per provider method, the most calls in flight at once in this command's host.
    peak_concurrency: dict[str, int] = field(default_factory=dict)

    def ops(self) -> dict[str, str]:
        """Resource name -> what happened to it (``replace`` for the steps of a replace)."""
        out: dict[str, str] = {}
        for op, urn, _ in self.steps:
            name = urn.rsplit("::", 1)[-1]
            out[name] = "replace" if op in ("create-replacement", "delete-replaced") else op
        return out

    @property
    def text(self) -> str:
        return "\n".join([*(d.message for d in self.diagnostics), self.output, *self.errors])


class DeploymentFailed(Exception):
    """The command failed: ``result`` holds what it did before, ``errors`` what the engine would print."""

    def __init__(self, result: Result) -> None:
        self.result = result
        super().__init__(f"{result.command} failed: " + "; ".join(result.errors or ["see diagnostics"]))


class EngineKilledMidRun(Exception):
    """A test killed the run (``kill_on_create``): the checkpoint keeps the pending operation."""


class Engine:
    """One stack of one project: the commands, and the checkpoint they share (``.checkpoint``)."""

    def __init__(
        self,
        project_root: Path,
        stack: str,
        *,
        environ: Mapping[str, str] | None = None,
        passphrase: str | None = None,
        parallel: int = DEFAULT_PARALLEL,
        program: InProcessProgram | None = None,
    ) -> None:
        self.project: Project = load_project(Path(project_root))
        #: When set, ``preview``/``up`` register these instead of running the project's program file: a model test
        #: that runs hundreds of commands cannot afford a language host per command (the stateful tests).
        self.program = program
        self.stack = stack
        self.environ = dict(os.environ if environ is None else environ)
        self.passphrase = passphrase
        self.parallel = parallel
        self.config: dict[str, tuple[str, bool]] = {
            k: (_text(v), False) for k, v in self.project.config_defaults.items()
        }
        self.config.update(load_stack_config(self.project, stack, passphrase))
        self.checkpoint = Checkpoint()

    def set_config(self, key: str, value: str, *, secret: bool = False) -> None:
        """``pulumi config set [--secret] key value``, in memory."""
        self.config[key if ":" in key else f"{self.project.name}:{key}"] = (value, secret)

    # --- commands -----------------------------------------------------------------------------------------

    def preview(self, *, refresh: bool = False) -> Result:
        """``pulumi preview``: a host of its own, Configure, Check/Diff only; the checkpoint is not changed."""
        return self._update(dry_run=True, refresh=refresh)

    def up(self, *, skip_preview: bool = False, refresh: bool = False, kill_on_create: str | None = None) -> Result:
        """``pulumi up``: a preview in its own host first (``apply.go`` ``PreviewThenPromptThenExecute``), then
        the update in a second host. ``kill_on_create`` (a resource name) kills the run once that Create returned,
        before the engine records it, as a killed CLI would."""
        preview = None if skip_preview else self.preview(refresh=refresh)
        result = self._update(dry_run=False, refresh=refresh, kill_on_create=kill_on_create)
        result.preview = preview
        return result

    def refresh(
        self, *, clear_pending_creates: bool = False, import_pending_creates: Mapping[str, str] | None = None
    ) -> Result:
        """``pulumi refresh``: the provider configured from the checkpoint's config (``Deployment.EnsureProvider``)."""
        result = Result("refresh")
        pending = self.checkpoint.pending_operations
        if pending and not (clear_pending_creates or import_pending_creates):
            # pkg/cmd/pulumi/operations/refresh.go: non-interactively, pending creates must be resolved explicitly.
            result.errors.append(
                "the stack has pending create operations: pass clear_pending_creates=True "
                "(`pulumi refresh --clear-pending-creates`) or import_pending_creates={urn: id} "
                "(`--import-pending-creates URN ID`)"
            )
            raise DeploymentFailed(result)
        base = self.checkpoint
        if import_pending_creates is not None:
            base = Checkpoint(list(base.resources), [])
            for op in pending:
                if op.urn in import_pending_creates or op.urn.rsplit("::", 1)[-1] in import_pending_creates:
                    id_ = import_pending_creates.get(op.urn) or import_pending_creates[op.urn.rsplit("::", 1)[-1]]
                    base.resources.append(ResourceState(op.urn, op.type, True, id_, dict(op.inputs), dict(op.inputs)))
        elif clear_pending_creates:
            base = Checkpoint(list(base.resources), [])
        self._run(result, base, self._stored_config(), lambda d: d.refresh(), dry_run=False)
        return result

    def destroy(self, *, skip_preview: bool = False) -> Result:
        """``pulumi destroy``: no program, reverse dependency order, ``protect`` honoured; a preview first unless
        ``skip_preview`` (a protected resource fails the preview, so nothing is deleted)."""
        config = self._stored_config()
        preview = None
        if not skip_preview:
            preview = Result("destroy-preview")
            self._run(preview, self.checkpoint, config, lambda d: d.destroy(), dry_run=True)
        result = Result("destroy")
        result.preview = preview
        self._run(result, self.checkpoint, config, lambda d: d.destroy(), dry_run=False)
        return result

    def export(self, path: Path) -> None:
        """``pulumi stack export --file path``: secrets encrypted with the stack's passphrase (``secrets_providers``
        holds its salt, as the CLI writes it), or redacted when the engine has no passphrase."""
        crypter = Crypter(self.passphrase) if self.passphrase else None
        document = self.checkpoint.to_json(crypter.encrypt if crypter else None)
        if crypter is not None:
            document["deployment"]["secrets_providers"] = {
                "type": "passphrase",
                "state": {"salt": crypter.encryptionsalt},
            }
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")

    # --- internals ----------------------------------------------------------------------------------------

    def _stored_config(self) -> dict[str, tuple[str, bool]]:
        provider = self.checkpoint.provider
        if provider is None:
            return dict(self.config)
        return {k: (str(v), k in provider.secret_inputs) for k, v in provider.inputs.items()}

    def _update(self, *, dry_run: bool, refresh: bool, kill_on_create: str | None = None) -> Result:
        result = Result("preview" if dry_run else "update")
        if self.checkpoint.pending_operations:
            result.diagnostics.append(
                Diagnostic(
                    "warning",
                    "Attempting to deploy or update resources with pending operations from a previous deployment; "
                    "`pulumi refresh` will need to be run (see Recovery)",
                )
            )
        self._run(
            result, self.checkpoint, dict(self.config), None, dry_run=dry_run, refresh=refresh, kill=kill_on_create
        )
        return result

    def _run(
        self,
        result: Result,
        base: Checkpoint,
        config: dict[str, tuple[str, bool]],
        action: Callable[[Deployment], None] | None,
        *,
        dry_run: bool,
        refresh: bool = False,
        kill: str | None = None,
    ) -> None:
        provider = self._start_host(result, config)
        try:
            if refresh:
                refreshing = Deployment(base, provider, dry_run=False, parallel=self.parallel)
                refreshing.refresh()
                refreshing.close()
                self._collect(result, refreshing)
                base = refreshing.journal.snapshot()
            deployment = Deployment(base, provider, dry_run=dry_run, parallel=self.parallel, kill_on_create=kill)
            try:
                if action is None:
                    provider_state = self._provider_state(config)
                    deployment.generator.mark_seen(provider_state.urn)
                    if not dry_run:
                        deployment.journal.record(provider_state)
                    self._run_program(result, deployment, dry_run)
                    if not deployment.killed:
                        deployment.finish()
                else:
                    action(deployment)
            finally:
                if deployment.killed:
                    provider.kill()
                deployment.close()
            self._collect(result, deployment)
            if deployment.killed:
                self.checkpoint = deployment.journal.snapshot()
                raise EngineKilledMidRun(f"killed during the create of {kill}")
            if not dry_run:
                self.checkpoint = deployment.journal.snapshot()
        finally:
            provider.close()
            result.output += "".join(provider.stdout) + "".join(provider.stderr)
            result.peak_concurrency = dict(provider.peak)
        if result.errors:
            raise DeploymentFailed(result)

    def _collect(self, result: Result, deployment: Deployment) -> None:
        result.steps.extend((s.op, s.urn, s.type) for s in deployment.steps)
        result.errors.extend(deployment.errors)
        for step in deployment.steps:
            if step.op == "refresh" and step.diff is not None:
                result.drift[step.urn.rsplit("::", 1)[-1]] = step.diff.op

    def _provider_state(self, config: Mapping[str, tuple[str, bool]]) -> ResourceState:
        values = {k: v for k, (v, _) in config.items()}
        secrets = frozenset(k for k, (_, s) in config.items() if s)
        urn = f"urn:pulumi:{self.stack}::{self.project.name}::{DEFAULT_PROVIDER_URN_TYPE}::default"
        return ResourceState(
            urn,
            DEFAULT_PROVIDER_URN_TYPE,
            True,
            "default",
            values,
            values,
            secret_inputs=secrets,
            secret_outputs=secrets,
        )

    def _host_environ(self, config: Mapping[str, tuple[str, bool]]) -> dict[str, str]:
        env = dict(self.environ)
        env.update(
            PULUMI_PROJECT=self.project.name,
            PULUMI_STACK=self.stack,
            PULUMI_CONFIG=json.dumps({k: v for k, (v, _) in config.items()}),
        )
        return env

    def _start_host(self, result: Result, config: Mapping[str, tuple[str, bool]]) -> Provider:
        argv, env = provider_host_command(
            self.project.program_dir, self.project.runtime_options, self._host_environ(config)
        )
        provider = Provider(argv, env, self.project.program_dir, result.calls)
        try:
            provider.configure(config)
        except BaseException:
            provider.close()
            raise
        return provider

    def _run_program(self, result: Result, deployment: Deployment, dry_run: bool) -> None:
        """The language host's ``Run`` (``pulumi-language-python-exec``): the program file, against our monitor."""
        if self.program is not None:
            self._run_in_process(self.program, deployment)
            return
        monitor = ResourceMonitor(
            stack=self.stack,
            project=self.project.name,
            register=deployment.register,
            register_outputs=deployment.register_outputs,
            diagnostics=result.diagnostics,
        )
        env = dict(self.environ)
        env.update(
            PULUMI_CONFIG=json.dumps({k: v for k, (v, _) in self.config.items()}),
            PULUMI_CONFIG_SECRET_KEYS=json.dumps([k for k, (_, s) in self.config.items() if s]),
            PYTHONUNBUFFERED="1",
        )
        argv = [
            self._program_python(),
            "-u",
            "-m",
            "b2c_policy_keys.testing._exec",
            f"--project={self.project.name}",
            f"--root_directory={self.project.root}",
            f"--stack={self.stack}",
            f"--parallel={self.parallel}",
            f"--dry_run={'true' if dry_run else 'false'}",
            f"--pwd={self.project.program_dir}",
            f"--monitor={monitor.address}",
            f"--engine={monitor.address}",
            str(self.project.main),
        ]
        out: list[str] = []
        try:
            proc = subprocess.Popen(
                argv, cwd=self.project.program_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            assert proc.stdout is not None and proc.stderr is not None
            drain(proc.stderr, out)
            watcher = threading.Thread(target=_kill_when, args=(proc, deployment), daemon=True)
            watcher.start()
            for line in iter(proc.stdout.readline, b""):
                out.append(line.decode(errors="replace"))
            code = proc.wait()
            deployment.stopped.set()
            deployment.wait()
            if code != 0 and not deployment.killed:
                errors = [d.message for d in result.diagnostics if d.severity == "error"]
                if not deployment.errors:
                    result.errors.append(f"the program exited with status {code}: " + "; ".join(errors))
        finally:
            monitor.stop()
            result.output += "".join(out)

    @staticmethod
    def _run_in_process(program: InProcessProgram, deployment: Deployment) -> None:
        """The registrations straight to the deployment, as the monitor's ``RegisterResource`` hands them over; each
        waits for the one before, as a program awaiting each resource's outputs does. A failed one ends the program
        (the SDK exits non-zero), so no later one is registered."""
        for reg in program():
            deployment.register(reg)
            if reg.done.exception() is not None:
                break
        deployment.stopped.set()
        deployment.wait()

    def _program_python(self) -> str:
        """The language host resolves ``virtualenv`` against the project root (fixed for it in Pulumi 3.3.0)."""
        venv = self.project.runtime_options.get("virtualenv")
        if venv:
            python = Path(venv) if os.path.isabs(str(venv)) else self.project.root / str(venv)
            if (python / "bin" / "python").exists():
                return str(python / "bin" / "python")
        return sys.executable


def _kill_when(proc: subprocess.Popen[bytes], deployment: Deployment) -> None:
    """A killed CLI takes its language host with it."""
    deployment.stopped.wait()
    if deployment.killed:
        proc.kill()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
