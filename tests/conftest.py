"""Hypothesis profiles: "ci" (the default) is deterministic and has no deadline,
so runs on shared 2-core machines are repeatable and never flaky.

    HYPOTHESIS_PROFILE=dev pytest     # more examples, random seeds
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", deadline=None, max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
