"""Moved to ``b2c_policy_keys.testing.protocol`` (one engine stand-in for tests, benchmarks and users)."""

from b2c_policy_keys.testing.protocol import *  # noqa: F403
from b2c_policy_keys.testing.protocol import __all__ as __all__
