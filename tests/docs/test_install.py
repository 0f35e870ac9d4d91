"""The README's install line works: the requirement it shows, pointed at a local clone, installs into a fresh venv.

The docs' URL is a remote repository this machine cannot reach, so the test keeps the requirement's form (``name @
git+URL@tag``, what ``requirements.txt`` and ``pyproject.toml`` hold) and swaps the URL for a clone of this
repository tagged as the docs say. ``--no-deps``: the dependencies are pip's business and the fresh-venv test of
``pulumi install`` covers them; what this proves is the name, the tag and the metadata an index shows.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from email.parser import Parser
from pathlib import Path

import pytest

from b2c_policy_keys import __version__
from docs.doc_blocks import ROOT, all_blocks

#: What the build reads from the repository (``pyproject.toml``: the package under provider/, the README as the long
#: description).
PACKAGED = ("pyproject.toml", "README.md", "provider")
_BUILT = shutil.ignore_patterns("__pycache__", "*.egg-info")
_REQUIREMENT = re.compile(r'pip install "(b2c-policy-keys @ git\+(\S+)@(v[\w.]+))"')


def documented_requirement() -> tuple[str, str, str]:
    """The requirement of the README's Install block: (requirement, URL, tag)."""
    found = [m.groups() for b in all_blocks() if b.path.name == "README.md" for m in _REQUIREMENT.finditer(b.text)]
    assert len(found) == 1, f'one `pip install "b2c-policy-keys @ git+URL@vX.Y.Z"` line in the README: {found}'
    return found[0]


def test_the_documented_tag_is_this_version() -> None:
    _, _, tag = documented_requirement()
    assert tag == f"v{__version__}", f"the README installs {tag}; this is {__version__}"


def run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False)


@pytest.mark.slow
def test_the_install_line_installs_the_tagged_release_with_its_metadata(tmp_path: Path) -> None:
    requirement, url, tag = documented_requirement()
    clone = tmp_path / "b2c-policy-keys"
    cloned = run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)])
    assert cloned.returncode == 0, cloned.stderr
    # The working tree as it is, edits not yet committed included: what the install reads from the repository.
    for name in PACKAGED:
        if (ROOT / name).is_dir():
            shutil.rmtree(clone / name)
            shutil.copytree(ROOT / name, clone / name, ignore=_BUILT)
        else:
            shutil.copy2(ROOT / name, clone / name)
    git = ["git", "-C", str(clone), "-c", "user.name=docs-test", "-c", "user.email=docs-test@example.invalid"]
    assert run([*git, "add", "-A"]).returncode == 0
    run([*git, "commit", "--quiet", "-m", "the working tree"])  # nothing to commit is fine
    assert run([*git, "tag", tag]).returncode == 0
    local = requirement.replace(url, f"file://localhost{clone}")  # pip's URL parser wants a host
    venv = tmp_path / "venv"
    assert run([sys.executable, "-m", "venv", str(venv)]).returncode == 0

    installed = run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", local])

    assert installed.returncode == 0, installed.stderr[-3000:]
    assert (venv / "bin" / "b2c-keys").is_file()  # the console script
    imported = run(
        [str(venv / "bin" / "python"), "-c", "import b2c_policy_keys; print(b2c_policy_keys.__file__)"], tmp_path
    )
    assert imported.stdout.startswith(str(venv)), imported.stdout + imported.stderr  # the venv's copy, not a path
    shown = run([str(venv / "bin" / "python"), "-m", "pip", "show", "--verbose", "b2c-policy-keys"], tmp_path)
    assert f"Version: {__version__}" in shown.stdout
    metadata = next(venv.glob("lib/python*/site-packages/b2c_policy_keys-*.dist-info/METADATA"))
    fields = Parser().parsestr(metadata.read_text())
    assert fields["Requires-Python"] == ">=3.11" and fields["License"] == "Apache-2.0"
    assert "pulumi" in (fields["Keywords"] or "") and fields["Author"]
    assert "License :: OSI Approved :: Apache Software License" in fields.get_all("Classifier", [])
    assert any(url.startswith("Changelog, ") for url in fields.get_all("Project-URL", []))
    assert fields.get_payload().startswith("# b2c-policy-keys")  # the README is the long description
