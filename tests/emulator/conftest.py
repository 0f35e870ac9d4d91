"""Local fixtures for the emulator's Graph-semantics tests: real certificates and PFX files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from .pki import Pki, make_pki


@pytest.fixture
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def expired_pki() -> Pki:
    return make_pki(not_before=datetime.now(tz=UTC) - timedelta(days=30), days=10)


@pytest.fixture
def pki_factory() -> Callable[..., Pki]:
    return make_pki
