"""Root pytest configuration: doctests of the package run with the tests.

Modules whose imports need an optional extra are skipped from doctest
collection when that extra is not installed (their tests skip with a reason).
"""

import importlib.util

import numpy as np
import pytest

_OPTIONAL = {
    "shapley_sets/integrations/verl.py": "verl",
    "shapley_sets/integrations/verl_plugin.py": "verl",
    "shapley_sets/integrations/verl_trainer.py": "transfer_queue",  # verl's V1 trainer
    "shapley_sets/integrations/trl.py": "trl",
    "shapley_sets/integrations/skyrl.py": "skyrl",  # Python >= 3.12
    "shapley_sets/integrations/token_rewards.py": "torch",
    "shapley_sets/adapters/torch_tokens.py": "torch",
    "shapley_sets/lm_demo": "trl",
}

collect_ignore = [path for path, module in _OPTIONAL.items() if importlib.util.find_spec(module) is None]


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace):
    doctest_namespace["np"] = np
