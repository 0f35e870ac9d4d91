"""Moved to ``b2c_policy_keys.testing.host`` (one engine stand-in for tests, benchmarks and users)."""

from b2c_policy_keys.testing.host import *  # noqa: F403
from b2c_policy_keys.testing.host import __all__ as __all__
