"""A small recommendation simulation behind ``shapley-sets demo``.

A softmax policy over a catalog picks sets of K distinct items
(Plackett–Luce); a set is worth its expected best utility over several user
types (:class:`shapley_sets.ExpectedBest`). The same policy is trained with
different credit rules (plain GRPO, ShapE-GRPO, verl's grpo_passk) to compare
how fast each one finds a good, diverse set. numpy only; not imported by
``import shapley_sets``.
"""

from .methods import Method, default_methods
from .policy import Adam, pl_grad, pl_log_probs, sample_sets
from .problem import Problem, best_set, make_problem, set_utility
from .train import TrainConfig, expected_utility, steps_to_fraction, train

__all__ = [
    "Adam",
    "Method",
    "Problem",
    "TrainConfig",
    "best_set",
    "default_methods",
    "expected_utility",
    "make_problem",
    "pl_grad",
    "pl_log_probs",
    "sample_sets",
    "set_utility",
    "steps_to_fraction",
    "train",
]
