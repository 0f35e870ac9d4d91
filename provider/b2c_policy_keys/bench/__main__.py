"""``python -m b2c_policy_keys.bench``."""

import sys

from b2c_policy_keys.bench.run import main

sys.exit(main())
