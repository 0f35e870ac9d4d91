"""Every fenced block of the user docs is exercised by a test, so the docs cannot rot (issue 13).

Each block says how on the line before its fence (``<!-- doc-test: KIND -->``, see ``doc_blocks``): shell commands
run against a real ``b2c-keys emulator`` populated like the docs show (``pulumi`` lines, which need a CLI and a
backend this machine does not have, are checked against Pulumi's own flag table instead), programs run against the
emulator, declarations go through the declaration check, YAML and JSON must parse.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from b2c_policy_keys.certificates import open_pkcs12, pkcs12_uses_aes256
from b2c_policy_keys.declaration import parse_declaration
from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.testing.fixtures import B2CEmulator, EngineFactory
from b2c_policy_keys.testing.host import graph_client
from docs.doc_blocks import KINDS, ROOT, Block, Line, PulumiCli, all_blocks, command_lines, commands, program_of
from docs.tenant import B2C_KEYS, CREDENTIAL_PREFIXES, DocsTenant, clean_environ, docs_tenant, running_emulator
from key_kinds.material import PFX_PASSWORD, Material
from support.pki import pfx, self_signed, shared_rsa_key
from support.programs import root_program

BLOCKS = all_blocks()
PULUMI = PulumiCli.load()

#: Commands a shell block may hold besides ``pulumi`` (checked) and those that run: harmless in a test's shell.
SAFE = frozenset({"export", "echo", "cat", "head", "cd", "mkdir", "test", "true"})
#: Commands that run for real: the CLI against the emulator, openssl on inputs the test writes, curl to the emulator.
RUNS = frozenset({"b2c-keys", "openssl", "curl"})
#: The password of the PFX the docs' openssl lines re-export.
INPUT_PFX_PASSWORD = "docs-pfx-input-3e9a"
#: The file each line reads as stdin: the passwords openssl asks for (it reads stdin when there is no terminal).
STDIN = ".doc-test-stdin"
#: A trailing comment that documents a non-zero exit status: ``b2c-keys expiring ...   # exits 1 when ...``.
_DOCUMENTED_STATUS = re.compile(r"#.*\bexits? (?:status )?(\d)\b")
_DOC_LINE = re.compile(r"^@@doc-line (\d+)@@$", re.M)


def of_kind(*kinds: str) -> list[Block]:
    return [b for b in BLOCKS if b.kind in kinds]


def where(block: Block) -> str:
    return block.where


def test_every_block_says_how_it_is_tested() -> None:
    problems = []
    for block in BLOCKS:
        if block.kind is None:
            problems.append(f"{block.where}: no `<!-- doc-test: KIND -->` on the line before the fence")
        elif block.kind not in KINDS:
            problems.append(f"{block.where}: unknown doc-test kind {block.kind!r} (one of {', '.join(sorted(KINDS))})")
        elif block.kind == "skip" and not block.reason:
            problems.append(f"{block.where}: `skip` needs its reason: <!-- doc-test: skip: why it cannot run -->")
    assert not problems, "\n".join(problems)


def test_the_docs_have_blocks_of_every_runnable_kind() -> None:
    """A parser that found nothing would pass every test below."""
    kinds = {b.kind for b in BLOCKS}
    assert {"shell", "output", "program", "python", "declaration", "yaml"} <= kinds, kinds


# --- shell ------------------------------------------------------------------------------------------------------


def static_problems(block: Block) -> list[str]:
    """Every command of the block is one Pulumi has (with its flags), one that runs here, or a harmless one."""
    problems = []
    for line in command_lines(block):
        try:
            argvs = commands(line.text)
        except ValueError as error:  # shlex: an unclosed quote (an apostrophe in a placeholder ...)
            problems.append(f"{block.path.name}:{line.number}: not a shell command line ({error})")
            continue
        for argv in argvs:
            program = program_of(argv)
            if program is None or program in SAFE or program in RUNS:
                continue
            if program == "pulumi":
                problems += [f"{block.path.name}:{line.number}: {p}" for p in PULUMI.problems(argv)]
            else:
                problems.append(
                    f"{block.path.name}:{line.number}: `{program}` cannot run in a test: mark the block "
                    f"`<!-- doc-test: skip: <why> -->`, or add it to SAFE in {Path(__file__).name} if it is harmless"
                )
    return problems


def runs(line: Line) -> bool:
    return any(program_of(argv) in RUNS for argv in commands(line.text))


def starts_emulator(line: Line) -> bool:
    return any(program_of(argv) == "b2c-keys" and argv[1:2] == ["emulator"] for argv in commands(line.text))


def expected_outputs(block: Block) -> dict[int, str]:
    """For an ``output`` block: the documented output of each ``$ `` line, by the line's number."""
    found: dict[int, str] = {}
    current: int | None = None
    for offset, raw in enumerate(block.text.splitlines()):
        if raw.startswith("$ "):
            current = block.line + 1 + offset
            found[current] = ""
        elif current is not None:
            found[current] += raw + "\n"
    return found


def rewritten(text: str, tenant: DocsTenant) -> str:
    """The docs' emulator, wherever they put it (a data directory, ``emu.json``, port 8443), is the test's."""
    text = re.sub(r"(--emulator[= ])[^\s;|&)]+", rf"\g<1>{tenant.data_dir}", text)
    return re.sub(r"(127\.0\.0\.1|localhost):8443\b", rf"\g<1>:{tenant.port}", text)


def script(lines: list[Line], tenant: DocsTenant) -> str:
    """The block as one bash script: ``pulumi`` a no-op (its lines were checked statically), each line's exit status
    checked against the documented one, a marker before each line's output."""
    parts = ["set -o pipefail", "pulumi() { :; }"]
    for line in lines:
        documented = _DOCUMENTED_STATUS.search(line.text)
        status = int(documented.group(1)) if documented else 0
        parts += [
            f"echo '@@doc-line {line.number}@@'",
            "{ " + rewritten(line.text, tenant),
            f"}} < {STDIN}",  # each line its own stdin: openssl reads it buffered, so one would take them all
            f'__status=$?; if [ "$__status" -ne {status} ]; then '
            f'echo "line {line.number}: exit status $__status, the docs say {status}" >&2; exit 97; fi',
        ]
    return "\n".join(parts) + "\n"


def shape(value: Any) -> Any:
    """The fields of a JSON value, without its values: what a sample promises about the format."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


def outputs_by_line(stdout: str) -> dict[int, str]:
    pieces = _DOC_LINE.split(stdout)
    return {int(pieces[i]): pieces[i + 1] for i in range(1, len(pieces) - 1, 2)}


def write_inputs(cwd: Path, tenant: DocsTenant) -> None:
    """What the docs' commands read: a PFX as OpenSSL 3 exports it (AES-256), the emulator's JSON line."""
    now = datetime.now(tz=UTC)
    key = shared_rsa_key()
    cert = self_signed(key, subject="docs", not_before=now - timedelta(days=1), not_after=now + timedelta(days=90))
    (cwd / "current.pfx").write_bytes(pfx(key, cert, INPUT_PFX_PASSWORD, algorithm="aes256"))
    (cwd / "emu.json").write_text(json.dumps(tenant.line) + "\n")
    (cwd / STDIN).write_text(f"{INPUT_PFX_PASSWORD}\n" * 3)


def check_artifacts(cwd: Path) -> None:
    """The PFX re-export must give what B2C takes: the same certificate and key, not AES-256."""
    exported = cwd / "b2c.pfx"
    if exported.exists():
        assert pkcs12_uses_aes256((cwd / "current.pfx").read_bytes())
        assert not pkcs12_uses_aes256(exported.read_bytes())
        open_pkcs12(exported.read_bytes(), INPUT_PFX_PASSWORD)


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocsTenant]:
    with docs_tenant(tmp_path_factory.mktemp("docs-home")) as shared:
        yield shared


def run_emulator_lines(block: Block, lines: list[Line], tmp_path: Path) -> None:
    """``b2c-keys emulator ...`` serves until stopped: start each as written (a free port instead of 8443, a fresh
    HOME for the default data directory), read its JSON line, stop it."""
    assert all(starts_emulator(line) for line in lines), f"{block.where}: keep emulator starts in their own block"
    for line in lines:
        (argv,) = commands(line.text)
        argv = [B2C_KEYS if w == "b2c-keys" else w for w in argv]
        if "--port" in argv:
            argv[argv.index("--port") + 1] = "0"
        else:
            argv += ["--port", "0"]
        home = tmp_path / f"home-{line.number}"
        home.mkdir()
        with running_emulator(argv, clean_environ(home), tmp_path) as started:
            assert {"graph_url", "authority_host", "tenant_id", "client_id", "ca_bundle", "admin_url"} <= set(started)
            assert Path(started["ca_bundle"]).is_file()


@pytest.mark.parametrize("block", of_kind("shell", "output"), ids=where)
def test_shell_block(
    block: Block, tenant: DocsTenant, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    problems = static_problems(block)
    assert not problems, "\n".join(problems)
    if block.kind == "output" and block.lang == "json":
        json.loads(block.text)
    lines = command_lines(block)
    if any(starts_emulator(line) for line in lines):
        run_emulator_lines(block, lines, tmp_path)
        return
    if not any(runs(line) for line in lines):
        return  # only pulumi and harmless lines: the static check above is the test
    if "_emulator" in block.text:  # the admin API resets the tenant and adds faults: a tenant of its own
        with docs_tenant(tmp_path_factory.mktemp("admin-home")) as own:
            run_script(block, lines, own, tmp_path)
    else:
        run_script(block, lines, tenant, tmp_path)


def run_script(block: Block, lines: list[Line], tenant: DocsTenant, cwd: Path) -> None:
    write_inputs(cwd, tenant)
    run = subprocess.run(
        ["bash", "-c", script(lines, tenant)],
        cwd=cwd,
        env=tenant.environ(),
        capture_output=True,
        text=True,
        timeout=240,
        start_new_session=True,  # no terminal: openssl reads its password prompts from stdin
    )
    assert run.returncode == 0, f"{block.where}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert tenant.line["client_secret"] not in run.stdout + run.stderr
    check_artifacts(cwd)
    if block.kind == "output":
        actual = outputs_by_line(run.stdout)
        for number, documented in expected_outputs(block).items():
            # The sample's key sets and its documented exit status are what this tenant gives too.
            for keyset in set(re.findall(r"B2C_1A_\w+", documented)):
                assert keyset in actual[number], f"{block.path.name}:{number}: {keyset} not in\n{actual[number]}"
            status = re.search(r"^exit (\d+)$", documented, re.M)
            if status:
                assert actual[number].rstrip().endswith(status.group(0)), f"{block.path.name}:{number}"
            if documented.lstrip().startswith("{"):  # a JSON sample: the same fields as the run gives
                assert shape(json.loads(actual[number])) == shape(json.loads(documented)), f"{block.path.name}:{number}"


# --- Python -----------------------------------------------------------------------------------------------------

#: The stack config the docs' programs read (``pulumi config set --secret app:...``).
PROGRAM_CONFIG = {
    "app:facebookSecret": "docs-program-facebook-secret-5d2c",
    "app:pfxPassword": PFX_PASSWORD,
    # The repo's declaration (stacks/keysets.yaml) reads the Facebook secret from the project's own namespace.
    "facebookSecret": "docs-declared-facebook-secret-7e1a",
}


def write_program_files(root: Path) -> None:
    """The files the docs' programs read beside them: a SAML certificate and a client PFX B2C accepts."""
    now = datetime.now(tz=UTC)
    key = shared_rsa_key()
    valid = {"not_before": now - timedelta(days=1), "not_after": now + timedelta(days=200)}
    material = Material(self_signed(key, subject="docs", **valid), key)
    (root / "saml.cer").write_bytes(material.der)
    (root / "client.pfx").write_bytes(base64.b64decode(material.pfx()))
    (root / "stacks").mkdir(exist_ok=True)  # the declaration a declaration-driven program reads: this repo's
    (root / "stacks" / "keysets.yaml").write_text((ROOT / "stacks" / "keysets.yaml").read_text())


def seed_lookups(source: str, emulator: Emulator) -> None:
    """A lookup by literal name reads a set that exists already (one the program does not create itself)."""
    graph = graph_client(emulator)
    for name in set(re.findall(r"get_(?:active_key|keyset)\(\s*\"([^\"]+)\"", source)):
        bare = name.removeprefix("B2C_1A_")
        if re.search(rf"name=\"(B2C_1A_)?{bare}\"", source):
            continue
        keyset = graph.create_keyset(bare).id
        graph.generate_key(keyset, use="sig", kty="RSA")


def program_project(root: Path, source: str) -> Path:
    """A user's project: the block as its root ``__main__.py``, the files it reads beside it."""
    root_program(root, source)
    write_program_files(root)
    return root


@pytest.mark.parametrize("block", of_kind("program"), ids=where)
def test_program_block(block: Block, b2c_engine: EngineFactory, b2c_emulator: B2CEmulator, tmp_path: Path) -> None:
    """A complete program: ``pulumi up`` through the engine stand-in (the real program, the real provider host)."""
    seed_lookups(block.text, b2c_emulator.emulator)
    engine = b2c_engine(program_project(tmp_path / "infra", block.text), "dev")
    for key, value in PROGRAM_CONFIG.items():
        engine.set_config(key, value, secret=True)

    result = engine.up()

    assert not [d for d in result.diagnostics if d.severity == "error"], f"{block.where}: {result.text}"
    dynamic = [r for r in engine.checkpoint.live() if "dynamic" in r.type]
    assert all(r.id for r in dynamic), block.where
    assert dynamic or "get_" in block.text, f"{block.where} declares nothing"
    exported = re.findall(r"pulumi\.export\(\s*\"(\w+)\"", block.text)
    missing = [name for name in exported if engine.checkpoint.outputs.get(name) in (None, "")]
    assert not missing, f"{block.where}: stack outputs without a value: {missing}"
    for secret in PROGRAM_CONFIG.values():
        assert secret not in result.text


@pytest.mark.parametrize("block", of_kind("pytest"), ids=where)
def test_pytest_block(block: Block, tmp_path: Path) -> None:
    """A test file of a user's repo passes under ``pytest -p b2c_policy_keys.testing``, beside the README's complete
    program of resources in a project of its own."""
    # The README's complete program of resources (the declaration-driven one before it needs a stack's declaration).
    complete = next(b for b in of_kind("program") if "load_checked_declaration" not in b.text)
    root = program_project(tmp_path / "infra", complete.text)
    (root / "Pulumi.dev.yaml").write_text("config: {}\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_program.py").write_text(block.text)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_PREFIXES)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "b2c_policy_keys.testing", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, f"{block.where}:\n{run.stdout[-3000:]}{run.stderr[-3000:]}"
    assert re.search(r"\b[1-9]\d* passed\b", run.stdout)


@pytest.mark.parametrize("block", of_kind("python"), ids=where)
def test_python_block(block: Block, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process Python against an emulator: ``emu`` is a running one, as the text around such blocks says."""
    monkeypatch.chdir(tmp_path)
    exec(compile(block.text, block.where, "exec"), {"__name__": "__doc_block__", "emu": emulator})  # noqa: S102


# --- declarations and YAML --------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", of_kind("declaration"), ids=where)
def test_declaration_block(block: Block) -> None:
    """Entries of ``stacks/keysets.yaml`` (a whole file, or list items to add under ``keySets:``) pass the check."""
    text = textwrap.dedent(block.text)
    raw = yaml.safe_load(text if "keySets:" in text else "keySets:\n" + textwrap.indent(text, "  "))
    _, problems = parse_declaration(raw)
    assert not problems, f"{block.where}: {problems}"


@pytest.mark.parametrize("block", of_kind("yaml"), ids=where)
def test_yaml_block(block: Block) -> None:
    assert yaml.safe_load(block.text) is not None, block.where
