"""Trainer integrations: :mod:`shapley_sets.integrations.verl`, :mod:`shapley_sets.integrations.trl`
and :mod:`shapley_sets.integrations.judge` (a judge's credit as a reward, for any trainer).

Nothing is imported here: each submodule imports its framework (and torch)
at module level, so ``import shapley_sets.integrations`` stays light and only
``import shapley_sets.integrations.verl`` (or ``.trl``) loads a trainer.
"""

__all__ = ["verl", "trl", "judge"]
