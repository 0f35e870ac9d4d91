"""The emulator's coverage of Microsoft's Graph metadata for key sets, as moto's is of botocore's service models.

Every operation and query option the metadata advertises (``graph_metadata.OPERATIONS``, read from the
``msgraph-beta-sdk`` wheel by ``sdk_metadata``) carries a mark here: implemented, refused on purpose (with the
evidence), or missing. ``docs/emulator-coverage.md`` is generated from the marks, and a test fails when the metadata
names something the marks do not, or the generated file is stale.

    python -m b2c_policy_keys.emulator.coverage                # write docs/emulator-coverage.md
    python -m b2c_policy_keys.emulator.coverage --check        # exit 1 when it is stale or a mark is missing
    pip download --no-deps -d /tmp/sdk msgraph-beta-sdk
    python -m b2c_policy_keys.emulator.coverage --wheel /tmp/sdk/msgraph_beta_sdk-*.whl   # new metadata, then docs
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from b2c_policy_keys.emulator import graph_metadata, sdk_metadata
from b2c_policy_keys.emulator.sdk_metadata import Operation

Status = Literal["implemented", "refused", "missing"]
DEFAULT_OUTPUT = Path("docs/emulator-coverage.md")
METADATA_MODULE = Path(__file__).with_name("graph_metadata.py")


@dataclass(frozen=True)
class Mark:
    status: Status
    note: str  # what the emulator does, and the evidence or the reason


def _implemented(note: str) -> Mark:
    return Mark("implemented", note)


def _refused(note: str) -> Mark:
    return Mark("refused", note)


KEYSETS = "/trustFramework/keySets"
KEYSET = KEYSETS + "/{trustFrameworkKeySet-id}"
KEYS_V2 = KEYSET + "/keys_v2"

_UNVERIFIED_OPTION = _refused(
    "400 `BadRequest` \"Query option '…' is not allowed\" (chosen: runtime unverified; refused, never ignored)"
)
_COUNT_SEGMENT = _refused("400 `BadRequest` \"Query option 'Count' is not allowed\", as `$count` (chosen)")

#: One mark per operation the metadata advertises, by ``METHOD path``.
OPERATIONS: dict[str, Mark] = {
    f"GET {KEYSETS}": _implemented("creation order, `@odata.nextLink` paging (documented list; paging chosen)"),
    f"POST {KEYSETS}": _implemented("201 with `Location`; the `B2C_1A_` prefix added (documented)"),
    f"GET {KEYSETS}/$count": _COUNT_SEGMENT,
    f"GET {KEYSET}": _implemented("documented"),
    f"PATCH {KEYSET}": _refused(
        "405 `UnknownError`: the docs say PUT; the SDKs send PATCH and whether the service takes it is unverified "
        "(chosen; the client sends PUT)"
    ),
    f"DELETE {KEYSET}": _implemented("204, leaves `<id>.bak` (documented)"),
    f"POST {KEYSET}/generateKey": _implemented("real RSA-2048 or random oct (documented)"),
    f"GET {KEYSET}/getActiveKey()": _implemented("with or without `()`; by POST the real `UnknownError` (PR 9963)"),
    f"GET {KEYS_V2}": _implemented('`{"value": [key, ...]}`, ReadWrite.All only (advertised; shape chosen)'),
    f"GET {KEYS_V2}/$count": _COUNT_SEGMENT,
    f"GET {KEYS_V2}/{{trustFrameworkKey_v2-kid}}": _implemented("ReadWrite.All only (documented permission)"),
    f"POST {KEYSET}/uploadCertificate": _implemented("DER or PEM `.cer` (documented)"),
    f"POST {KEYSET}/uploadPkcs12": _implemented("TripleDES-SHA1 PFX; AES-256 refused with `AADB2C90213` (documented)"),
    f"POST {KEYSET}/uploadSecret": _implemented('answers `kty: "oct"` (ci)'),
}

#: One mark per query option an operation advertises: ``{"METHOD path": {"$option": mark}}``.
QUERY_OPTIONS: dict[str, dict[str, Mark]] = {
    f"GET {KEYSETS}": {
        "$top": _implemented("1 to 999, with `@odata.nextLink` (advertised; chosen)"),
        "$select": _implemented('`id`, `keys`; another name is OData\'s "Could not find a property" 400'),
        **{name: _UNVERIFIED_OPTION for name in ("$count", "$expand", "$filter", "$orderby", "$search", "$skip")},
    },
    f"GET {KEYSETS}/$count": {name: _UNVERIFIED_OPTION for name in ("$filter", "$search")},
    f"GET {KEYSET}": {
        "$select": _implemented("`id`, `keys`"),
        "$expand": _UNVERIFIED_OPTION,
    },
    f"GET {KEYS_V2}": {
        name: _UNVERIFIED_OPTION
        for name in ("$count", "$expand", "$filter", "$orderby", "$search", "$select", "$skip", "$top")
    },
    f"GET {KEYS_V2}/$count": {name: _UNVERIFIED_OPTION for name in ("$filter", "$search")},
    f"GET {KEYS_V2}/{{trustFrameworkKey_v2-kid}}": {name: _UNVERIFIED_OPTION for name in ("$expand", "$select")},
}

#: What the emulator serves that the metadata does not advertise, with the evidence.
BEYOND_METADATA: dict[str, str] = {
    f"PUT {KEYSET}": "documented (Update trustFrameworkKeySet: PUT replaces the keys); the client's replace verb",
    f"PATCH {KEYS_V2}/{{trustFrameworkKey_v2-kid}}": "documented (trustFrameworkKey_v2 update: `status` only)",
}


def unmarked(operations: Sequence[Operation]) -> list[str]:
    """What the metadata advertises that no mark mentions: each one fails the coverage test."""
    found: list[str] = []
    for op in operations:
        if op.key not in OPERATIONS:
            found.append(op.key)
        found.extend(f"{op.key} {option}" for option in op.query_options if option not in QUERY_OPTIONS.get(op.key, {}))
    return found


def stale(operations: Sequence[Operation]) -> list[str]:
    """Marks naming an operation or option the metadata no longer advertises."""
    advertised = {op.key: set(op.query_options) for op in operations}
    found = [key for key in OPERATIONS if key not in advertised]
    for key, options in QUERY_OPTIONS.items():
        found.extend(f"{key} {option}" for option in options if option not in advertised.get(key, set()))
    return found


def _mark(op: Operation) -> Mark:
    return OPERATIONS.get(op.key, Mark("missing", "not in the marks"))


def _option_mark(op: Operation, option: str) -> Mark:
    return QUERY_OPTIONS.get(op.key, {}).get(option, Mark("missing", "not in the marks"))


def _summary(marks: Sequence[Mark]) -> str:
    counts = {status: sum(1 for m in marks if m.status == status) for status in ("implemented", "refused", "missing")}
    return ", ".join(f"{count} {status}" for status, count in counts.items())


def render(operations: Sequence[Operation], wheel: str, sha256: str) -> str:
    """``docs/emulator-coverage.md``."""
    op_marks = [_mark(op) for op in operations]
    option_rows = [(op, option, _option_mark(op, option)) for op in operations for option in op.query_options]
    lines = [
        "# Emulator coverage of the Graph metadata",
        "",
        "<!-- Generated by `python -m b2c_policy_keys.emulator.coverage`: do not edit by hand. -->",
        "",
        "Every key-set operation and query option Microsoft's generated Graph metadata advertises (the request",
        "builders of `msgraph-beta-sdk` under `msgraph_beta/generated/trust_framework/key_sets/`), and what the",
        "emulator does with it: **implemented**, **refused** on purpose (with the evidence or the reason), or",
        "**missing**. Paths are relative to `/beta`. The behaviour itself is in [emulator.md](emulator.md).",
        "",
        f"Metadata: `{wheel}` (sha256 `{sha256}`).",
        "",
        f"Operations: {_summary(op_marks)}. Query options: {_summary([m for _, _, m in option_rows])}.",
        "",
        "| Operation | Status | What the emulator does |",
        "|---|---|---|",
    ]
    lines += [f"| `{op.key}` | {mark.status} | {mark.note} |" for op, mark in zip(operations, op_marks, strict=True)]
    lines += ["", "## Query options", "", "| Operation | Option | Status | What the emulator does |"]
    lines += ["|---|---|---|---|"]
    lines += [f"| `{op.key}` | `{option}` | {mark.status} | {mark.note} |" for op, option, mark in option_rows]
    lines += ["", "## Served beyond the metadata", "", "| Operation | Evidence |", "|---|---|"]
    lines += [f"| `{key}` | {note} |" for key, note in BEYOND_METADATA.items()]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m b2c_policy_keys.emulator.coverage", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the Markdown file (%(default)s)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file is stale")
    parser.add_argument("--wheel", type=Path, help="an msgraph-beta-sdk wheel: regenerate graph_metadata.py from it")
    args = parser.parse_args(argv)
    operations: Sequence[Operation] = graph_metadata.OPERATIONS
    wheel, sha256 = graph_metadata.WHEEL, graph_metadata.WHEEL_SHA256
    stale_files = 0
    if args.wheel is not None:
        operations = sdk_metadata.operations_in_wheel(args.wheel)
        wheel, sha256 = args.wheel.name, sdk_metadata.wheel_digest(args.wheel)
        module = sdk_metadata.module_text(list(operations), wheel, sha256)
        if args.check and METADATA_MODULE.read_text(encoding="utf-8") != module:
            print(f"coverage: {METADATA_MODULE.name} differs from {wheel}: rerun without --check", file=sys.stderr)
            stale_files = 1
        elif not args.check:
            METADATA_MODULE.write_text(module, encoding="utf-8")
    problems = [f"no mark for {key}" for key in unmarked(operations)]
    problems += [f"a mark for {key}, which the metadata does not advertise" for key in stale(operations)]
    for problem in problems:
        print(f"coverage: {problem}: fix the marks in b2c_policy_keys/emulator/coverage.py", file=sys.stderr)
    text = render(operations, wheel, sha256)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"coverage: {args.output} is stale: run python -m b2c_policy_keys.emulator.coverage", file=sys.stderr)
            stale_files = 1
    else:
        args.output.write_text(text, encoding="utf-8")
    return 1 if problems or stale_files else 0


if __name__ == "__main__":
    sys.exit(main())
