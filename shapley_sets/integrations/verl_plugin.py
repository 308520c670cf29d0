"""The ``verl.plugins`` entry point: registers everything shapley_sets adds to verl.

verl >= 0.9 loads every entry point of the ``verl.plugins`` group when
``verl`` is imported, in every process (the driver, the Ray task runner,
reward and rollout workers), so this module registers the estimators
``shapley_grpo`` and ``shapley_completion``, the reward manager ``"shapley"``
and, where verl's V1 trainer and its ``transfer_queue`` are installed, the
trainer modes of :mod:`shapley_sets.integrations.verl_trainer`. verl logs a
failed plugin only at debug level, so the tests check that these names are
there after a bare ``import verl``.

Older verl: ``VERL_USE_EXTERNAL_MODULES=shapley_sets.integrations.verl_plugin``
makes verl import it the same way.
"""

from __future__ import annotations

import importlib.util

from . import verl as _verl  # noqa: F401  (registers on import)

if importlib.util.find_spec("transfer_queue") is not None:
    from . import verl_trainer as _verl_trainer  # noqa: F401
