"""``b2c-keys conformance``: run the probe script on a scratch prefix; ``diff`` two records; ``baseline`` one.

The probe needs an explicit ``--prefix`` and ``--yes`` before it sends anything, because it creates and deletes key
sets (only ``B2C_1A_<prefix>...`` ones, and only those it made).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

from b2c_policy_keys.cli._target import RefuseSecretValue, add_target_arguments, read_emulator_line, settings_from
from b2c_policy_keys.conformance.baseline import EMULATOR_RECORD, make_baseline
from b2c_policy_keys.conformance.caller import Caller
from b2c_policy_keys.conformance.diff import Difference, differences
from b2c_policy_keys.conformance.probe import Probe, Target
from b2c_policy_keys.conformance.record import Record
from b2c_policy_keys.conformance.scope import Scope, validate_prefix
from b2c_policy_keys.conformance.script import STEPS
from b2c_policy_keys.emulator import READONLY_CLIENT_ID, READONLY_CLIENT_SECRET, Emulator
from b2c_policy_keys.errors import ConfigurationError
from b2c_policy_keys.graph import Settings

#: ``--emulator`` without a path: a fresh in-memory emulator in this process, stopped after the run.
FRESH_EMULATOR = ":fresh:"
READ_ONLY_SECRET_ENV = "B2C_PROBE_READONLY_CLIENT_SECRET"  # noqa: S105 - a variable name
EXIT_OK, EXIT_PARTIAL, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "conformance",
        help="probe a tenant (or the emulator) with a fixed script and record how it answers",
        description="Run a fixed script of Graph calls on scratch key sets B2C_1A_<prefix>..., delete them again, "
        "and write a record (statuses, error codes, message templates, body shapes; no ids or secrets). "
        "`conformance diff A B` compares two records; `conformance baseline RECORD` installs a tenant's record.",
    )
    parser.add_argument("--prefix", help="scratch key set name prefix, letters and digits (e.g. ConfProbe)")
    parser.add_argument("--yes", action="store_true", help="confirm: create and delete key sets under the prefix")
    parser.add_argument(
        "--out", default="conformance-record.json", metavar="FILE", help="the record to write (default: %(default)s)"
    )
    parser.add_argument("--read-only-client-id", metavar="ID", help="an app with only TrustFrameworkKeySet.Read.All")
    # A secret never as a flag value (shell history, `ps`): from a file or the environment, like --client-secret-file.
    parser.add_argument(
        "--read-only-client-secret-file",
        metavar="FILE",
        type=Path,
        help=f"a file holding its client secret (or env {READ_ONLY_SECRET_ENV})",
    )
    parser.add_argument(
        "--read-only-client-secret",
        action=RefuseSecretValue,
        const=f"set {READ_ONLY_SECRET_ENV}, or pass --read-only-client-secret-file FILE",
        help=argparse.SUPPRESS,
    )
    add_target_arguments(parser)
    # `--emulator` alone starts a fresh emulator here; the shared flag takes a path, so its arity is widened.
    emulator_flag = next(action for action in parser._actions if action.dest == "emulator")
    emulator_flag.nargs, emulator_flag.const = "?", FRESH_EMULATOR
    emulator_flag.help = "probe an emulator: alone, a fresh in-memory one; with PATH, a running one (its JSON line)"
    parser.set_defaults(func=run)
    commands = parser.add_subparsers(dest="conformance_command", metavar="{diff,baseline}")
    diff = commands.add_parser("diff", help="the differences of two records as a table (exit 1 when they differ)")
    diff.add_argument("a", type=Path, metavar="A")
    diff.add_argument("b", type=Path, metavar="B")
    diff.set_defaults(func=run_diff)
    baseline = commands.add_parser("baseline", help="make a real tenant's record the emulator's baseline")
    baseline.add_argument("record", type=Path, metavar="RECORD")
    baseline.add_argument(
        "--into", type=Path, default=Path("tests/conformance"), metavar="DIR", help="default: %(default)s"
    )
    baseline.set_defaults(func=run_baseline)


# --- the probe ------------------------------------------------------------------------------------------------


def _read_only_settings(settings: Settings, client_id: str, secret: str) -> Settings:
    return dataclasses.replace(
        settings,
        credential_kind="secret",
        client_id=client_id,
        client_secret=secret,
        client_certificate_path=None,
        client_certificate_password=None,
        oidc_token_file_path=None,
    )


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[Target]:
    read_only_id = args.read_only_client_id
    secret_file: Path | None = args.read_only_client_secret_file
    read_only_secret = secret_file.read_text().strip() if secret_file else os.environ.get(READ_ONLY_SECRET_ENV)
    with contextlib.ExitStack() as stack:
        if args.emulator == FRESH_EMULATOR:
            emulator = stack.enter_context(Emulator())
            settings = settings_from(_emulator_namespace(emulator), env={})
            read_only_id, read_only_secret = emulator.readonly_client_id, emulator.readonly_client_secret
        else:
            settings = settings_from(args)
            if args.emulator and not read_only_id:
                line_id = read_emulator_line(args.emulator).get("readonly_client_id")
                if line_id == READONLY_CLIENT_ID:  # the emulator's public read-only client
                    read_only_id, read_only_secret = line_id, READONLY_CLIENT_SECRET
        if bool(read_only_id) != bool(read_only_secret):
            raise ConfigurationError(
                "a read-only app needs both --read-only-client-id and its secret "
                f"(--read-only-client-secret-file or env {READ_ONLY_SECRET_ENV})"
            )
        read_only = None
        if read_only_id and read_only_secret:
            read_only = Caller(_read_only_settings(settings, read_only_id, read_only_secret))
        sensitive = (
            settings.tenant_id,
            settings.client_id or "",
            settings.client_secret or "",
            settings.client_certificate_password or "",
            read_only_id or "",
            read_only_secret or "",
        )
        yield Target("emulator" if args.emulator else "tenant", Caller(settings), read_only, sensitive)


def _emulator_namespace(emulator: Emulator) -> argparse.Namespace:
    return argparse.Namespace(
        tenant_id=emulator.tenant_id,
        client_id=emulator.client_id,
        client_secret=emulator.client_secret,
        graph_url=emulator.graph_url,
        authority_host=emulator.authority_host,
        ca_bundle=emulator.ca_bundle,
    )


def run(args: argparse.Namespace) -> int:
    prefix = validate_prefix(args.prefix)
    if not args.yes:
        raise ConfigurationError(
            f"refusing to run without --yes: the probe creates and deletes key sets B2C_1A_{prefix}... "
            "(only those it makes); add --yes to confirm"
        )
    with _target(args) as target:
        probe = Probe(target, Scope(prefix), run_token=secrets.token_hex(3))
        record = probe.run(STEPS)
        probe.redactor.assert_clean(record.to_json())
    record.write(args.out)
    print(
        f"b2c-keys conformance: {len(record.entries)} calls recorded in {args.out}; "
        f"{len(record.not_done)} not done; cleanup deleted {record.cleanup.get('deleted', 0)}, "
        f"left {record.cleanup.get('left', 0)}",
        file=sys.stderr,
    )
    for item in record.not_done:
        print(f"  not done: {item['step']}: {item['reason']}", file=sys.stderr)
    if probe.error is not None:
        print(f"b2c-keys: error: the probe stopped early: {probe.error}", file=sys.stderr)
        return EXIT_ERROR
    if probe.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if record.complete else EXIT_PARTIAL


# --- diff and baseline ------------------------------------------------------------------------------------


def differences_table(found: list[Difference], a: str, b: str) -> Table:
    table = Table(title=f"{len(found)} difference(s)", show_lines=True)
    table.add_column("step", no_wrap=True)
    table.add_column("field", overflow="fold")
    table.add_column(a, overflow="fold")
    table.add_column(b, overflow="fold")
    for difference in found:
        table.add_row(difference.step, difference.field, difference.a, difference.b)
    return table


def _console() -> Console:
    """Wide when piped (a CI log is not 80 columns); the terminal's or ``COLUMNS`` width otherwise."""
    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(soft_wrap=False, width=160 if wide else None)


def run_diff(args: argparse.Namespace) -> int:
    record_a, record_b = Record.load(args.a), Record.load(args.b)
    found = differences(record_a, record_b)
    console = _console()
    for path, record in ((args.a, record_a), (args.b, record_b)):
        if not record.complete:
            console.print(f"note: {path} is a partial run ({len(record.not_done)} step(s) not done)")
    if not found:
        console.print(f"{args.a} and {args.b} record the same answers ({len(record_a.entries)} calls)")
        return EXIT_OK
    console.print(f"A = {args.a}\nB = {args.b}")
    console.print(differences_table(found, "A", "B"))
    return 1


def run_baseline(args: argparse.Namespace) -> int:
    if not (args.into / EMULATOR_RECORD).is_file():
        raise ConfigurationError(
            f"{args.into} holds no {EMULATOR_RECORD}: pass --into the repository's tests/conformance"
        )
    added, dropped = make_baseline(args.record, args.into)
    console = _console()
    console.print(f"{args.record} is the baseline in {args.into}; {len(added)} new difference(s) to review")
    if added:
        console.print(differences_table(added, "emulator", "tenant"))
    for rule in dropped:
        console.print(f"no longer differs (allowance dropped): {rule.step} {rule.field}")
    return EXIT_OK
