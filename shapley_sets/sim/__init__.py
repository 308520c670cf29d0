"""A small set-level RL simulation behind ``shapley-sets demo``.

A softmax policy over a catalog picks sets of K distinct items
(Plackett–Luce); a set is worth the value of one of three tasks
(:mod:`shapley_sets.sim.tasks`: recommendation, code, ideas). The same policy
is trained with different credit rules (plain GRPO, ShapE-GRPO, marginal
credit, winner-takes-all, verl's grpo_passk) to compare how fast each one
finds a good, diverse set and where it ends. numpy only; not imported by
``import shapley_sets``.
"""

from .methods import Method, default_methods
from .policy import Adam, pl_grad, pl_log_probs, sample_sets
from .problem import Problem, best_set, make_problem, set_utility
from .tasks import TASK_DEFAULTS, TASKS, make_task
from .train import TrainConfig, expected_utility, steps_to_fraction, train

__all__ = [
    "Adam",
    "Method",
    "Problem",
    "TASKS",
    "TASK_DEFAULTS",
    "TrainConfig",
    "best_set",
    "default_methods",
    "expected_utility",
    "make_problem",
    "make_task",
    "pl_grad",
    "pl_log_probs",
    "sample_sets",
    "set_utility",
    "steps_to_fraction",
    "train",
]
