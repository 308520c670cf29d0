"""Shared fixtures of the pytest-benchmark suite (see README.md beside this file)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)
