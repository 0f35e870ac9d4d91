"""A rotation of a key whose stored expiry has passed: the engine's second Check names the fix (issue 10 item 5)."""

from __future__ import annotations

import pytest

from b2c_policy_keys.model import now_epoch
from b2c_policy_keys.testing.engine import DeploymentFailed
from b2c_policy_keys.testing.fixtures import EngineFactory

from .conftest import MakeProject

PAST = "2020-01-01T00:00:00Z"
PAST_EPOCH = 1_577_836_800


def test_rotating_a_key_whose_expiry_passed_asks_for_a_new_expiry(
    make_project: MakeProject, b2c_engine: EngineFactory
) -> None:
    engine = b2c_engine(make_project(), "dev")
    engine.set_config("app:secret", "before-rotation-1a2b", secret=True)
    engine.up(skip_preview=True)
    # The state as an up long ago left it: an expiry that was in the future then (`pulumi stack export/import`).
    key = engine.checkpoint.get("signing-key")
    assert key is not None and now_epoch() > PAST_EPOCH
    key.inputs["expires_at"] = key.outputs["requested_expires_at"] = PAST_EPOCH
    engine.set_config("app:expiresAt", PAST)
    assert engine.preview().ops()["signing-key"] == "same"  # the first Check lets the stored expiry pass
    engine.set_config("app:secret", "after-rotation-3c4d", secret=True)
    with pytest.raises(DeploymentFailed, match="a rotation adds a new key, which needs a new expiry") as failed:
        engine.up()
    checks = [m for m, u in failed.value.result.calls if u.endswith("::signing-key")]
    assert checks == ["Check", "Diff", "Check"]  # the second Check, with no olds, is the one that refuses
    engine.set_config("app:expiresAt", "2099-06-30T00:00:00Z")
    assert engine.up().ops()["signing-key"] == "replace"
