"""``b2c-keys untracked``, ``disable`` and ``enable``: find and fix the keys a stack's state does not know about.

What the engine cannot prevent (issue 11): a provider host or the CLI killed mid-create, or an answer lost while the
service is down, can leave a key in a set that no state tracks, enabled and maybe active. ``untracked`` compares the
tenant with ``pulumi stack export``; ``disable``/``enable`` change one key by kid, refusing to take away a set's only
valid key unless ``--force``. The README's "Recovery" section gives the steps.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from b2c_policy_keys.cli import _render, _target
from b2c_policy_keys.errors import B2CKeysError, NotFoundError
from b2c_policy_keys.model import Key, KeySet, iso_utc, normalise_keyset_id, now_epoch

EXIT_OK, EXIT_FINDINGS = 0, 1
#: Outputs of a key resource naming the kids it tracks: its key, and the key a scheduled rotation retires.
_TRACKING_OUTPUTS = ("kid", "retiring_kid")


class RecoveryError(B2CKeysError):
    """A recovery command that cannot do what was asked: the cause and what to run instead."""


@dataclass
class StackKeys:
    """What one or more ``pulumi stack export`` files say the stacks manage."""

    #: identity (normalised, case-folded) -> the key set id as the state spells it.
    keysets: dict[str, str] = field(default_factory=dict)
    #: identity -> the kids tracked in that set.
    tracked: dict[str, set[str]] = field(default_factory=dict)
    #: URNs of resources whose create never finished (``pending_operations`` of type ``creating``).
    pending_creates: list[str] = field(default_factory=list)

    def add_keyset(self, keyset_id: str) -> str:
        identity = normalise_keyset_id(keyset_id).casefold()
        self.keysets.setdefault(identity, normalise_keyset_id(keyset_id))
        self.tracked.setdefault(identity, set())
        return identity


def _text(value: object) -> str | None:
    """A plain string output; a secret (an encrypted object in the export) or anything else is not one."""
    return value if isinstance(value, str) and value else None


def read_stack_export(path: Path, into: StackKeys | None = None) -> StackKeys:
    """The key sets and tracked kids of a ``pulumi stack export`` file (deployment version 3, older ones alike)."""
    stack = into or StackKeys()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RecoveryError(
            f"--stack-export: cannot read {path} as JSON ({error}): write it with `pulumi stack export --file {path}`"
        ) from None
    deployment = document.get("deployment") if isinstance(document, dict) else None
    if not isinstance(deployment, dict):
        raise RecoveryError(f"--stack-export: {path} is not the output of `pulumi stack export` (no 'deployment')")
    for resource in deployment.get("resources") or []:
        if isinstance(resource, Mapping):
            _add_resource(stack, resource)
    for operation in deployment.get("pending_operations") or []:
        if not isinstance(operation, Mapping) or operation.get("type") != "creating":
            continue
        resource = operation.get("resource")
        if isinstance(resource, Mapping):
            stack.pending_creates.append(str(resource.get("urn", "?")))
            keyset_id = _text((resource.get("inputs") or {}).get("keyset_id")) or _text(
                (resource.get("inputs") or {}).get("name")
            )
            if keyset_id and str(resource.get("type", "")).startswith("pulumi-python:dynamic/b2c:"):
                stack.add_keyset(keyset_id)
    return stack


def _add_resource(stack: StackKeys, resource: Mapping[str, Any]) -> None:
    outputs = resource.get("outputs")
    if not isinstance(outputs, Mapping):
        return
    keyset_id = _text(outputs.get("keyset_id"))
    if keyset_id is None:
        return
    identity = stack.add_keyset(keyset_id)
    if str(resource.get("type", "")).endswith(":KeySet"):
        return
    stack.tracked[identity].update(kid for name in _TRACKING_OUTPUTS if (kid := _text(outputs.get(name))))


# --- commands ----------------------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    untracked = subparsers.add_parser(
        "untracked",
        help="list keys of a stack's key sets that its state does not track",
        description="For every key set a stack manages, list the keys its state does not track (kid, status, use, "
        "dates, * for the active key). Exit 1 when one of them is enabled: a key no state will ever disable.",
    )
    untracked.add_argument(
        "--stack-export",
        metavar="FILE",
        action="append",
        type=Path,
        help="the JSON of `pulumi stack export --file FILE`; repeat it for stacks that share key sets",
    )
    _target.add_output_and_target(untracked, run_untracked)

    for verb, status in (("disable", "disabled"), ("enable", "enabled")):
        parser = subparsers.add_parser(
            verb,
            help=f"{verb} one key of a key set by kid",
            description=f"Set one key's status to {status} (keys_v2 PATCH)."
            + (" Refuses to disable the set's only valid key unless --force." if verb == "disable" else ""),
        )
        parser.add_argument("keyset", metavar="KEYSET", help="key set name, with or without the B2C_1A_ prefix")
        parser.add_argument("kid", metavar="KID", help="the key's kid (`b2c-keys show KEYSET` lists them)")
        if verb == "disable":
            parser.add_argument(
                "--force", action="store_true", help="disable it even when it is the only valid key (sign-in breaks)"
            )
        _target.add_output_and_target(parser, run_disable if verb == "disable" else run_enable)


def run_untracked(args: argparse.Namespace) -> int:
    if not args.stack_export:
        raise RecoveryError("--stack-export FILE is required: write FILE with `pulumi stack export --file FILE`")
    stack = StackKeys()
    for path in args.stack_export:
        read_stack_export(path, stack)
    client = _target.client_from(args)
    now = now_epoch()
    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    for identity, keyset_id in sorted(stack.keysets.items()):
        try:
            keyset = client.get_keyset(keyset_id)
        except NotFoundError:
            missing.append(keyset_id)
            continue
        rows.extend(_untracked_rows(keyset, stack.tracked[identity], now))
    enabled = [row for row in rows if row["status"] != "disabled"]
    if args.json:
        _render.write_json(
            {"untracked": rows, "missing_keysets": missing, "pending_creates": stack.pending_creates, "now": now}
        )
    else:
        _print_untracked(rows, missing, stack, len(stack.keysets))
    return EXIT_FINDINGS if enabled else EXIT_OK


def _untracked_rows(keyset: KeySet, tracked: set[str], now: int) -> list[dict[str, Any]]:
    active = keyset.active_key(now)
    return [
        {"keyset_id": keyset.id, **key.to_output(), "active": active is not None and key.kid == active.kid}
        for key in keyset.keys
        if key.kid not in tracked
    ]


def _print_untracked(rows: list[dict[str, Any]], missing: list[str], stack: StackKeys, checked: int) -> None:
    console = _render.stdout_console()
    if rows:
        table = Table(title=f"Keys no state tracks ({checked} key set(s) checked)", title_justify="left")
        for column in ("", "Key set", "Key id", "Use", "Status", "Not before", "Expires"):
            table.add_column(column, overflow="fold" if column == "Key id" else "ellipsis", no_wrap=column != "Key id")
        for row in rows:
            table.add_row(
                "*" if row["active"] else "",
                row["keyset_id"],
                row["kid"],
                row["use"],
                row["status"],
                row["not_before_iso"] or "-",
                row["expires_at_iso"] or "-",
            )
        console.print(table)
        if any(row["status"] != "disabled" for row in rows):
            console.print(
                "Enabled keys above are known to no state. If one is a key a stack meant to create, see the README's "
                "Recovery section; else `b2c-keys disable KEYSET KID`."
            )
    else:
        console.print(f"Every key of the {checked} key set(s) is tracked by the state.")
    for keyset_id in missing:
        console.print(f"{keyset_id}: not in the tenant (the state says it exists: `pulumi refresh`).")
    for urn in stack.pending_creates:
        console.print(
            f"Pending create {urn}: the CLI stopped mid-create. If a key above is its key, "
            "`pulumi refresh --import-pending-creates URN ID` (ID = KEYSET/KID), else "
            "`pulumi refresh --clear-pending-creates`."
        )


def _key_of(client: Any, keyset_name: str, kid: str) -> tuple[KeySet, Key]:
    keyset_id = normalise_keyset_id(keyset_name)
    try:
        keyset = client.get_keyset(keyset_id)
    except NotFoundError:
        raise RecoveryError(f"no key set {keyset_id} in this tenant: `b2c-keys list` shows the key sets") from None
    key = keyset.key(kid)
    if key is None:
        raise RecoveryError(f"no key {kid} in {keyset.id}: `b2c-keys show {keyset.id}` lists its kids")
    return keyset, key


def run_disable(args: argparse.Namespace) -> int:
    client = _target.client_from(args)
    keyset, key = _key_of(client, args.keyset, args.kid)
    now = now_epoch()
    if not key.enabled:
        return _done(args, keyset, key, "disabled", changed=False)
    others_valid = any(k.is_valid_at(now) for k in keyset.keys if k.kid != key.kid)
    if key.is_valid_at(now) and not others_valid and not args.force:
        waiting = [k for k in keyset.keys if k.enabled and k.nbf is not None and k.nbf > now]
        later = f" ({waiting[0].kid} becomes valid at {iso_utc(waiting[0].nbf or now)})" if waiting else ""
        raise RecoveryError(
            f"{key.kid} is the only valid key of {keyset.id}{later}: disabling it makes every sign-in that uses the "
            "set fail (AADB2C90019). Add or enable another key first, or pass --force."
        )
    client.set_key_status(keyset.id, key.kid, "disabled")
    return _done(args, keyset, key, "disabled", changed=True)


def run_enable(args: argparse.Namespace) -> int:
    client = _target.client_from(args)
    keyset, key = _key_of(client, args.keyset, args.kid)
    if key.enabled:
        return _done(args, keyset, key, "enabled", changed=False)
    client.set_key_status(keyset.id, key.kid, "enabled")
    return _done(args, keyset, key, "enabled", changed=True)


def _done(args: argparse.Namespace, keyset: KeySet, key: Key, status: str, *, changed: bool) -> int:
    if args.json:
        _render.write_json({"keyset_id": keyset.id, "kid": key.kid, "status": status, "changed": changed})
    else:
        verb = "is now" if changed else "was already"
        print(f"{keyset.id} {key.kid} {verb} {status}.", file=sys.stdout)
    return EXIT_OK
