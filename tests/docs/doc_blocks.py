"""The fenced blocks of the user docs (README.md, docs/*.md), each with the marker that says how a test exercises it.

Every block carries an HTML comment on the line before its fence, ``<!-- doc-test: KIND -->``, so a new block
without a way to be checked fails the suite instead of rotting. Kinds:

- ``program``: a complete Pulumi program; ``pulumi up`` through the engine stand-in (``b2c_policy_keys.testing``)
  against the emulator.
- ``pytest``: a test file of a user's repo; passes under ``pytest -p b2c_policy_keys.testing`` beside the first
  ``program`` block.
- ``python``: Python run in-process against the emulator (a snippet needing a program context is a ``program``).
- ``shell``: commands; ``pulumi ...`` lines are checked against Pulumi's own command and flag table
  (``pulumi_cli.json``, generated from Pulumi's source), ``b2c-keys ...`` lines run against the emulator,
  ``openssl``/``pip`` lines run where the test can give them inputs.
- ``declaration``: YAML entries for ``stacks/keysets.yaml``, checked by the declaration check.
- ``yaml``: YAML that must parse (a workflow, a stack file).
- ``output``: sample output captured from a real run; its commands (``$ ...`` lines) run as shell, and the key sets
  and exit status it shows must be what the run gives; JSON must parse.
- ``text``: a fence for layout only (a file tree, a message quoted in prose): nothing to run.
- ``skip: <why>``: cannot run here (e.g. needs ``az`` and a real tenant); the reason is required.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
_MARKER = re.compile(r"<!--\s*doc-test:\s*([\w-]+)(?::\s*(.+?))?\s*-->")
KINDS = frozenset({"program", "pytest", "python", "shell", "declaration", "yaml", "output", "text", "skip"})


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    text: str
    kind: str | None
    reason: str | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """Every top-level fenced block of one Markdown file (fences inside list items count too)."""
    lines = path.read_text().splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if stripped.startswith("```"):
            indent = len(lines[i]) - len(stripped)
            lang = stripped[3:].strip()
            body: list[str] = []
            j = i + 1
            while j < len(lines) and not lines[j].lstrip().startswith("```"):
                body.append(lines[j][indent:] if not indent or lines[j][:indent].isspace() else lines[j].lstrip())
                j += 1
            marker = _MARKER.search(lines[i - 1]) if i > 0 else None
            found.append(
                Block(
                    path,
                    i + 1,
                    lang,
                    "\n".join(body) + "\n",
                    marker.group(1) if marker else None,
                    marker.group(2) if marker else None,
                )
            )
            i = j + 1
        else:
            i += 1
    return found


def all_blocks() -> list[Block]:
    return [block for path in DOCS for block in blocks(path)]


@dataclass(frozen=True)
class Line:
    """One logical command line of a block: continuations joined, the ``$ `` prompt dropped."""

    number: int  # in the Markdown file
    text: str


def command_lines(block: Block) -> list[Line]:
    """The command lines of a ``shell`` block, or the ``$ ...`` lines of an ``output`` block."""
    found: list[Line] = []
    pending: list[str] = []
    start = 0
    for offset, raw in enumerate(block.text.splitlines()):
        line = raw.strip()
        if not pending:
            if block.kind == "output":
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            if not line or line.startswith("#"):
                continue
            start = block.line + 1 + offset
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        found.append(Line(start, " ".join([*pending, line])))
        pending = []
    return found


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def program_of(argv: list[str]) -> str | None:
    """The program a command runs, past ``NAME=value`` prefixes (``COLUMNS=100 b2c-keys list``); None for a bare
    assignment."""
    words = [w for w in argv if not _ASSIGNMENT.match(w)] if argv and _ASSIGNMENT.match(argv[0]) else argv
    return words[0] if words else None


def commands(script: str) -> list[list[str]]:
    """The commands of a shell script: continuations joined, comments and prompts dropped, split at pipes, ``&&``,
    ``||`` and ``;``; redirections and their targets left out."""
    joined = re.sub(r"\\\n\s*", " ", script)
    found: list[list[str]] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line.startswith("$ "):
            line = line[2:]
        if not line or line.startswith("#"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        redirect = False
        for word in lexer:
            if redirect:
                redirect = False
            elif word in ("|", "&&", "||", ";", "&", "(", ")"):
                if current:
                    found.append(current)
                current = []
            elif word in (">", ">>", "<", "2>", "&>"):
                redirect = True
            else:
                current.append(word)
        if current:
            found.append(current)
    return found


@dataclass(frozen=True)
class PulumiCli:
    """Pulumi's commands and their flags, as ``gen_pulumi_cli_table.py`` read them from Pulumi's source."""

    commit: str
    flags: dict[str, frozenset[str]]

    @classmethod
    def load(cls) -> PulumiCli:
        data = json.loads((Path(__file__).with_name("pulumi_cli.json")).read_text())
        return cls(data["pulumi_commit"], {k: frozenset(v["flags"]) for k, v in data["commands"].items()})

    def problems(self, argv: list[str]) -> list[str]:
        """What is wrong with one ``pulumi ...`` command line: an unknown subcommand or flag."""
        words = [w for w in argv[1:] if not w.startswith("$")]
        positional = [w for w in words if not w.startswith("-")]
        command = next((" ".join(positional[:n]) for n in (2, 1) if " ".join(positional[:n]) in self.flags), None)
        if command is None:
            return [f"unknown pulumi command in {' '.join(argv)!r}"]
        allowed = self.flags[command]
        return [
            f"pulumi {command}: no flag {flag.split('=')[0]} (Pulumi {self.commit[:7]})"
            for flag in words
            if flag.startswith("-") and flag.split("=")[0] not in allowed and flag != "--"
        ]
