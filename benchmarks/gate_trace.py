"""How open the reward-spread gate is during training, per task.

Trains the recommended rule (leave-one-out, marginal form, β = 1,
``gate="spread"``) on one development problem per task and prints the mean
gate w = σ_R / (σ_R + σ_c) over the groups at a few update counts, and the
share of groups fully closed (w = 0: every set of the group earned the same
reward) after 200 updates. It reads the gate by wrapping the private helper
that computes it, so the training itself is exactly the library's.

    PYTHONPATH=. python benchmarks/gate_trace.py
"""

from __future__ import annotations

import numpy as np

from shapley_sets.grpo import RECOMMENDED_RULE
from shapley_sets.grpo import credit as _credit
from shapley_sets.sim import TASKS, Method, TrainConfig, make_task, train

CHECKPOINTS = (0, 25, 50, 100, 150, 200, 299)


def main() -> None:
    log = []
    inner = _credit._spread_gate

    def recording(*args):
        w = inner(*args)
        log.append(w.copy())
        return w

    _credit._spread_gate = recording
    try:
        print("problem seed 100 of each task, training seeds 100-102, K=4, G=8, 300 updates; mean gate w over groups")
        for task in TASKS:
            log.clear()
            config = TrainConfig(k=4, group_size=8, steps=300, seeds=(100, 101, 102))
            train(make_task(task, 100), Method("rule", RECOMMENDED_RULE), config)
            w = np.array(log)  # (steps, seeds): one gate per group
            cells = " ".join(f"@{t}: {w[t].mean():.2f}" for t in CHECKPOINTS)
            print(f"{task:10s} {cells}   closed (w = 0) after 200 updates: {100 * (w[200:] == 0).mean():.0f}% of groups")
    finally:
        _credit._spread_gate = inner


if __name__ == "__main__":
    main()
