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

# The tests read English messages: a zh_TW locale on the developer's machine must not
# change them (subprocesses inherit this too). tests/test_i18n.py asks for zh-TW itself.
os.environ["MICROGRAD_TW_LANG"] = "en"


import pytest  # noqa: E402


@pytest.fixture
def restore_op_table():
    """Ops defined in a test (mg.ops.define) are removed from the table afterwards."""
    from micrograd_tw import ops

    saved = [(table, dict(table)) for table in (ops.OPS, ops.UNARY, ops.BINARY)]
    yield
    for table, contents in saved:
        table.clear()
        table.update(contents)
