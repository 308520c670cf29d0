"""Adapters between shapley_sets and array types: numpy/torch in and out
(:mod:`shapley_sets.adapters.arrays`), and token-level expansion on the
tensors' own device (:mod:`shapley_sets.adapters.torch_tokens`). The trainer
integrations live in :mod:`shapley_sets.integrations`.

Nothing here imports a framework: torch is recognised through ``sys.modules``.
"""
