"""``python -m b2c_policy_keys`` is the ``b2c-keys`` command."""

import sys

from b2c_policy_keys.cli import main

sys.exit(main())
