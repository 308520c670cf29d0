import os

import numba
import pytest
from hypothesis import HealthCheck, settings

# "ci" runs more examples; "dev" keeps the edit-test loop quick.
settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.load_profile(os.environ.get("SHAPLEY_SETS_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def two_threads():
    """Skip where numba has a single thread; restore its thread count after."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has only one thread on this machine: nothing to compare")
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)
