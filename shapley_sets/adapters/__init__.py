"""Adapters between shapley_sets and the outside world: array types
(:mod:`shapley_sets.adapters.arrays`) and, later, trainers.

Nothing here imports a framework: torch is recognised through ``sys.modules``.
"""
