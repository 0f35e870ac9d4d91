"""Every relative link of the user docs resolves: the file exists, and its ``#anchor`` is a heading there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from docs.doc_blocks import DOCS, ROOT

_FENCE = re.compile(r"^\s*```.*?^\s*```", re.M | re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def prose(path: Path) -> str:
    """The file without its fenced blocks and inline code (links there are examples, not links)."""
    return _INLINE_CODE.sub("", _FENCE.sub("", path.read_text()))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (not ``-`` or ``_``), spaces to ``-``."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", path.read_text())):
        base = slug(heading)
        name, n = base, 0
        while name in found:  # GitHub numbers repeated headings: x, x-1, x-2
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


def test_slugs_are_githubs() -> None:
    assert slug("The infra repo: one stack per tenant, key sets declared once") == (
        "the-infra-repo-one-stack-per-tenant-key-sets-declared-once"
    )
    assert slug("`b2c-keys expiring` in CI") == "b2c-keys-expiring-in-ci"
    assert slug("`KeySet(resource_name, *, name)`") == "keysetresource_name--name"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    problems = []
    for target in _LINK.findall(prose(doc)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / file_part).resolve() if file_part else doc
        if not linked.exists():
            problems.append(f"{doc.name}: [{target}]: no file {linked}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{doc.name}: [{target}]: no heading #{anchor} in {linked.name}")
    assert not problems, "\n".join(problems)
