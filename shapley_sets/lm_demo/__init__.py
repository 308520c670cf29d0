"""The implementation of ``shapley-sets demo-lm``: credit rules with a small transformer and TRL.

Imported only by that subcommand (it imports torch, transformers, tokenizers,
datasets and TRL; ``import shapley_sets`` does not import this package). Not
part of the library's API: the pieces are

- :mod:`.vocab`: item names and the byte-level BPE tokenizer trained on the task's texts;
- :mod:`.task`: a set task of :mod:`shapley_sets.sim` as prompts, names and a utility;
- :mod:`.parse`: completion text and tokens to candidates and per-token candidate ids;
- :mod:`.reward`: the TRL reward function (parse, score, value; timed);
- :mod:`.policy`: the model built from a config and its format warm-up;
- :mod:`.evaluate`: the curve's seeded, sampled expected set utility;
- :mod:`.run`: one rule and seed through ``ShapleyGRPOTrainer``;
- :mod:`.experiment`: every rule on the same seeds.
"""
