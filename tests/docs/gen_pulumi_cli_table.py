"""Regenerate ``pulumi_cli.json``: the Pulumi CLI's subcommands and their flags, read from Pulumi's own source.

The docs' ``pulumi ...`` commands cannot run here (no Pulumi CLI can be installed), so ``test_doc_blocks.py`` checks
each against this table instead: a renamed flag or a typo fails. Run it against a checkout of ``pulumi/pulumi``
(any git dir; the table records the commit):

    python tests/docs/gen_pulumi_cli_table.py /path/to/pulumi/repo [REV]

Flags are read from the cobra definitions (``cmd.Flags().XxxVarP(&v, "name", "n", ...)``); a child command inherits
its file's parent's persistent flags and the root's (``pkg/cmd/pulumi/pulumi.go``), as cobra does.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

#: command path -> the file that defines it (pkg/cmd/pulumi/...); the commands the docs use.
COMMANDS: dict[str, str] = {
    "up": "operations/up.go",
    "preview": "operations/preview.go",
    "refresh": "operations/refresh.go",
    "destroy": "operations/destroy.go",
    "import": "operations/import.go",
    "install": "install/install.go",
    "login": "auth/login.go",
    "logout": "auth/logout.go",
    "cancel": "cancel/cancel.go",
    "config": "config/config.go",
    "config get": "config/config.go",
    "config set": "config/config.go",
    "config rm": "config/config.go",
    "config refresh": "config/config.go",
    "stack": "stack/stack.go",
    "stack init": "stack/stack_new.go",
    "stack select": "stack/stack_select.go",
    "stack ls": "stack/stack_list.go",
    "stack export": "stack/stack_export.go",
    "stack import": "stack/stack_import.go",
    "stack output": "stack/stack_output.go",
    "stack rm": "stack/stack_remove.go",
    "stack change-secrets-provider": "stack/stack_change_secrets_provider.go",
    "state": "state/state.go",
    "state delete": "state/state_delete.go",
    "state unprotect": "state/state_unprotect.go",
}

_USE = re.compile(r'Use:\s*"([\w-]+)')
_ALIASES = re.compile(r"Aliases:\s*\[\]string\{([^}]*)\}")
_FLAG = re.compile(r'\.(Persistent)?Flags\(\)\.\w+\(\s*(?:&?[\w.\[\]]+,\s*)?"([\w-]+)"(?:,\s*"(\w)")?', re.S)


def read(repo: str, rev: str, path: str) -> str:
    return subprocess.run(
        ["git", "-C", repo, "show", f"{rev}:pkg/cmd/pulumi/{path}"], check=True, capture_output=True, text=True
    ).stdout


def commands_of(source: str) -> dict[str, tuple[set[str], set[str]]]:
    """Per command (its name and each alias) defined in one Go file: (all its flags, its persistent flags).

    Each ``func`` of the file that builds a cobra.Command is one command; its flags are those set in the same func.
    """
    found: dict[str, tuple[set[str], set[str]]] = {}
    for chunk in re.split(r"\nfunc ", source):
        use = _USE.search(chunk)
        if use is None:
            continue
        flags: set[str] = set()
        persistent: set[str] = set()
        for is_persistent, long, short in _FLAG.findall(chunk):
            spelled = {f"--{long}", *([f"-{short}"] if short else [])}
            flags |= spelled
            if is_persistent:
                persistent |= spelled
        aliases = _ALIASES.search(chunk[use.end() : use.end() + 400])
        names = [use.group(1), *([a.strip().strip('"') for a in aliases.group(1).split(",")] if aliases else [])]
        for name in names:
            found.setdefault(name, (flags, persistent))
    return found


def main(repo: str, rev: str = "HEAD") -> None:
    commit = subprocess.run(["git", "-C", repo, "rev-parse", rev], check=True, capture_output=True, text=True)
    root_flags = commands_of(read(repo, rev, "pulumi.go"))["pulumi"][1] | {"--help", "-h"}
    table: dict[str, dict[str, object]] = {}
    for command, path in COMMANDS.items():
        *parents, leaf = command.split()
        defined = commands_of(read(repo, rev, path))
        if leaf not in defined:
            raise SystemExit(f"{command}: no cobra command named {leaf!r} in {path}")
        flags = set(defined[leaf][0])
        for parent in parents:  # cobra: a parent's persistent flags apply to its children
            parent_path = COMMANDS[parent]
            flags |= commands_of(read(repo, rev, parent_path))[parent.split()[-1]][1]
        table[command] = {"source": f"pkg/cmd/pulumi/{path}", "flags": sorted(flags | root_flags)}
    out = Path(__file__).with_name("pulumi_cli.json")
    out.write_text(json.dumps({"pulumi_commit": commit.stdout.strip(), "commands": table}, indent=1) + "\n")
    print(f"wrote {out} ({len(table)} commands)")


if __name__ == "__main__":
    main(*sys.argv[1:])
