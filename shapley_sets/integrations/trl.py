"""TRL integration: :class:`ShapleyGRPOTrainer`, a ``trl.GRPOTrainer`` with Shapley advantages.

The trainer lets TRL generate, score (``_calculate_rewards``, whose rewards
are already gathered across processes) and compute its own advantages, then
replaces ``advantages`` in the batch with Shapley-based ones computed from
the same gathered rewards and sliced to this process's rows, exactly as TRL
slices its own. Everything else (loss, clipping, KL, logging) is TRL's.

Layouts (``layout=``):

- ``"completions"`` (layout B): the ``num_generations`` completions of a
  prompt are the candidates of one set, valued by ``utility`` over their
  rewards (TRL's weighted sum of the reward functions);
  :func:`shapley_sets.grpo.completion_advantages` with the rule's credit
  gives one advantage per completion.
- ``"candidates"`` (layout A): each completion is itself a set of
  candidates (items of a list, say). One reward function must be a
  :class:`CandidateReward`: it scores each completion's candidates and says
  which tokens belong to which candidate. Every token then gets its
  candidate's advantage under the credit rule (``rule=``, a
  :class:`shapley_sets.grpo.CreditRule`, default
  :data:`shapley_sets.grpo.RECOMMENDED_RULE`: ``A_g + β·w·z(c_{g,k})`` with
  leave-one-out credit and the reward-spread gate ``w``; the Shapley rule is ``A_g + β·d_{g,k}/(τ+ε)``) or
  ``A_g`` (tokens of no candidate), as a (B, T) tensor, which TRL's loss
  accepts. β may be a callable of the training step (``state.global_step``).
- ``"grpo"``: plain GRPO through :func:`shapley_sets.grpo.set_advantages`
  with TRL's conventions; it reproduces TRL's own advantages and is the
  β = 0 baseline.

TRL's ``scale_rewards`` ("group", "batch", "none") is honoured; ε is TRL's
1e-4. Only ``multi_objective_aggregation="sum_then_normalize"`` (TRL's
default) is supported. After each generation batch, ``last_trl_advantages``
holds the advantages TRL itself computed for this process's rows, for
comparison and logging, and ``last_advantages`` the ones that replaced them.

This module imports ``trl`` and ``torch``; ``import shapley_sets`` and
``import shapley_sets.integrations`` do not.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from accelerate.utils import gather_object
from trl import GRPOTrainer

import shapley_sets as ss
from shapley_sets.grpo import (
    PRESETS,
    RECOMMENDED_RULE,
    CreditRule,
    completion_advantages,
    set_advantages,
    token_advantages,
)

__all__ = ["ShapleyGRPOTrainer", "CandidateReward", "LAYOUTS"]

LAYOUTS = ("completions", "candidates", "grpo")


class CandidateReward:
    """A TRL reward function that scores the candidates inside each completion.

    ``candidate_fn(prompt, completion, completion_ids, **row)`` is called once
    per completion (``row`` holds that completion's dataset columns) and
    returns ``(scores, token_candidates)``: ``scores``, the input of
    ``utility`` for the completion's K_i candidates (K_i may vary, may be 0):
    K_i numbers, or for a utility with more than one score per candidate an
    array whose last axis is the candidates' (``(M, K_i)`` for
    ``ss.ExpectedBest``'s M user types); and ``token_candidates``, one int
    per completion token
    (``len(completion_ids)``), the candidate index in [0, K_i) or -1 for a
    token of no candidate. As a reward function it returns the set reward
    U(scores) of each completion; :class:`ShapleyGRPOTrainer` (layout
    ``"candidates"``) reads the candidates it stored.

    Args:
        utility: a set utility, e.g. ``ss.BestOf()`` (one score per
            candidate) or ``ss.ExpectedBest(...)`` (one per user type).
        candidate_fn: the callable described above.
        name: the name TRL logs the reward under.

    Raises:
        ValueError: from a call, when ``scores`` has the wrong number of
            axes for ``utility``, or ``token_candidates`` has the wrong
            length or an id outside [-1, K_i) (naming the completion).

    Examples:
        >>> import shapley_sets as ss
        >>> def items(prompt, completion, completion_ids, **row):
        ...     # every token is an item; its score is its token id / 10
        ...     return [t / 10 for t in completion_ids], list(range(len(completion_ids)))
        >>> reward = CandidateReward(ss.BestOf(), items)
        >>> reward(prompts=["p", "p"], completions=["a b", "c"], completion_ids=[[3, 7], [5]])
        [0.7, 0.5]
    """

    def __init__(self, utility, candidate_fn, name="candidate_reward"):
        self.utility = utility
        self.candidate_fn = candidate_fn
        self.__name__ = name
        self.last = None

    def __call__(self, prompts, completions, completion_ids, **kwargs):
        columns = {k: v for k, v in kwargs.items() if isinstance(v, list) and len(v) == len(prompts)}
        records = []
        for i, (p, c, ids) in enumerate(zip(prompts, completions, completion_ids)):
            scores, tokens = self.candidate_fn(p, c, ids, **{k: v[i] for k, v in columns.items()})
            scores = _candidate_scores(scores, self.utility, i)
            tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
            if tokens.shape[0] != len(ids):
                raise ValueError(
                    f"completion {i}: candidate_fn returned {tokens.shape[0]} token candidates for "
                    f"{len(ids)} completion tokens"
                )
            if tokens.size and (tokens.min() < -1 or tokens.max() >= scores.shape[-1]):
                raise ValueError(
                    f"completion {i}: token candidates must lie in [-1, {scores.shape[-1]}), got "
                    f"{int(tokens.min())}..{int(tokens.max())}"
                )
            records.append((scores, tokens))
        self.last = records
        x, mask = _pad([s for s, _ in records], self.utility)
        return ss.value(self.utility, x, mask=mask).tolist()


def _candidate_scores(scores, utility, i):
    """One completion's utility input, candidates on the last axis (a flat vector for one score each)."""
    ndim = int(getattr(utility, "core_ndim", 1))
    scores = np.asarray(scores, dtype=np.float64)
    if ndim == 1:
        return scores.reshape(-1)
    if scores.size == 0:  # no candidates: the other axes are taken from the batch
        return np.zeros((1,) * (ndim - 1) + (0,))
    if scores.ndim != ndim:
        raise ValueError(
            f"completion {i}: candidate_fn returned scores of shape {scores.shape}; "
            f"{type(utility).__name__} takes {ndim} axes per set, the candidates' last"
        )
    return scores


def _pad(rows, utility):
    """Ragged per-completion inputs as one (N, ..., width) batch and its (N, width) candidate mask."""
    width = max([r.shape[-1] for r in rows] + [1])
    ndim = int(getattr(utility, "core_ndim", 1))
    lead = next((r.shape[:-1] for r in rows if r.shape[-1]), (1,) * (ndim - 1))
    x = np.zeros((len(rows), *lead, width))
    mask = np.zeros((len(rows), width), dtype=bool)
    for i, r in enumerate(rows):
        if r.shape[-1] and r.shape[:-1] != lead:
            raise ValueError(
                f"completion {i}: candidate scores of shape {r.shape} do not match the batch's {(*lead, 'K')}"
            )
        x[i, ..., : r.shape[-1]] = r
        mask[i, : r.shape[-1]] = True
    return x, mask


class ShapleyGRPOTrainer(GRPOTrainer):
    """``trl.GRPOTrainer`` whose advantages come from Shapley values of set members.

    Args:
        *args, **kwargs: everything ``GRPOTrainer`` takes.
        layout: ``"completions"`` (layout B), ``"candidates"`` (layout A,
            needs a :class:`CandidateReward` among ``reward_funcs``) or
            ``"grpo"`` (plain GRPO, the baseline).
        utility: the set utility of layout B (e.g. ``ss.BestOf()``) over the
            completions' rewards. Layout A takes the utility of its
            :class:`CandidateReward`.
        rule: the credit rule, a :class:`shapley_sets.grpo.CreditRule`
            (default :data:`shapley_sets.grpo.RECOMMENDED_RULE`). Layout A
            uses all of it; layout B uses its credit (each completion's
            semivalue in its group's set, z-scored over the group).
        beta: overrides the rule's β (layout A): a number >= 0 or a callable
            ``beta(step)`` of TRL's ``state.global_step``. None keeps the rule's.
        tau: overrides the rule's τ (the Shapley form's scale). None keeps it.

    Raises:
        ValueError: an unknown layout, a missing utility or
            :class:`CandidateReward`, or TRL's ``normalize_then_sum``
            aggregation; a bad ``beta`` or ``tau``.
        TypeError: ``rule`` is not a :class:`shapley_sets.grpo.CreditRule`.

    Examples:
        See docs/guides/trl.md for a complete run on a tiny local model.
    """

    def __init__(self, *args, layout="completions", utility=None, rule=None, beta=None, tau=None, **kwargs):
        rule = _resolve_rule(rule, beta, tau)
        super().__init__(*args, **kwargs)
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        if self.multi_objective_aggregation != "sum_then_normalize":
            raise ValueError(
                "ShapleyGRPOTrainer supports multi_objective_aggregation='sum_then_normalize' only, "
                f"got {self.multi_objective_aggregation!r}"
            )
        self.shapley_layout = layout
        self.shapley_rule = rule
        self.shapley_utility = utility
        self._candidate_column = None
        if layout == "completions" and utility is None:
            raise ValueError("layout='completions' needs a set utility, e.g. utility=ss.BestOf()")
        if layout == "candidates":
            found = [i for i, f in enumerate(self.reward_funcs) if isinstance(f, CandidateReward)]
            if len(found) != 1:
                raise ValueError(
                    "layout='candidates' needs exactly one CandidateReward among reward_funcs, "
                    f"found {len(found)}"
                )
            self._candidate_column = found[0]
        self.last_trl_advantages = None
        self.last_advantages = None
        self._gathered_rewards = None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._gathered_rewards = rewards_per_func  # (N over all processes, n_funcs)
        return rewards_per_func

    def _options(self, mode):
        scale = self.scale_rewards if isinstance(self.scale_rewards, str) else (
            "group" if self.scale_rewards else "none"
        )
        return {**PRESETS["trl"], "scale": scale}

    def _generate_and_score_completions(self, inputs):
        out = super()._generate_and_score_completions(inputs)
        mode = "train" if self.model.training else "eval"
        g = self.num_generations if mode == "train" else self.num_generations_eval
        rpf = self._gathered_rewards
        weights = self.reward_weights.to(rpf.device).unsqueeze(0)
        rewards = (rpf * weights).nansum(dim=1)
        rewards[torch.isnan(rpf).all(dim=1)] = torch.nan  # unscorable, as TRL marks them
        r = rewards.detach().double().cpu().numpy()
        opts = self._options(mode)
        n_local = out["completion_ids"].size(0)
        local = slice(self.accelerator.process_index * n_local, (self.accelerator.process_index + 1) * n_local)
        self.last_trl_advantages = out["advantages"].detach().clone()

        if self.shapley_layout == "grpo":
            adv = torch.from_numpy(set_advantages(r, g, **opts)[local].astype(np.float32))
        elif self.shapley_layout == "completions":
            adv = completion_advantages(self.shapley_utility, r, g, credit=self.shapley_rule.credit, **opts)
            adv = torch.from_numpy(adv[local].astype(np.float32))
        else:
            adv = self._candidate_token_advantages(r, g, opts, local, out["completion_mask"])
        out["advantages"] = adv.to(out["advantages"].device)
        self.last_advantages = out["advantages"].detach().clone()
        return out

    def _candidate_token_advantages(self, r, g, opts, local, completion_mask):
        reward_fn = self.reward_funcs[self._candidate_column]
        # Candidates are ragged Python data: gather them as objects, in process order like the rewards.
        records = gather_object(list(reward_fn.last))
        u = reward_fn.utility
        x, mask = _pad([s for s, _ in records], u)
        rule = self.shapley_rule
        credits = rule.credits(u, x, mask=mask)
        u_set = ss.value(u, x, mask=mask)
        u_empty = ss.value(u, x, mask=np.zeros_like(mask))
        w = float(self.reward_weights[self._candidate_column])
        # The set reward R is TRL's weighted sum over all reward functions; only the candidate reward is
        # credited to candidates, so credits are w·c. For the Shapley form, with φ' = wφ and
        # U'(∅) = R − w(U(S) − U(∅)), the within-set deviation K·φ' + U'(∅) − R equals
        # w·(K·φ + U(∅) − U(S)), the candidate reward's own.
        empty = np.where(np.isnan(r), 0.0, r - w * (u_set - u_empty))
        cand = rule.from_credits(
            r, w * credits, g, mask=mask, step=self.state.global_step, empty_value=empty,
            efficiency_rtol=None, **opts,
        )
        sa = set_advantages(r, g, **opts)
        cand, sa = cand[local], sa[local]
        t = completion_mask.size(1)
        ids = np.full((cand.shape[0], t), -1, dtype=np.int64)
        for i, (_, tokens) in enumerate(records[local]):
            ids[i, : tokens.shape[0]] = tokens[:t]
        tok = token_advantages(cand, sa, ids, completion_mask.detach().cpu().numpy(), candidate_mask=mask[local])
        return torch.from_numpy(tok.astype(np.float32))


def _resolve_rule(rule, beta, tau) -> CreditRule:
    """The trainer's rule: ``rule`` (default the recommended one) with ``beta``/``tau`` replaced if given."""
    if rule is None:
        rule = RECOMMENDED_RULE
    if not isinstance(rule, CreditRule):
        raise TypeError(f"rule must be a shapley_sets.grpo.CreditRule, got {type(rule).__name__}")
    changes = {k: v for k, v in (("beta", beta), ("tau", tau)) if v is not None}
    return dataclasses.replace(rule, **changes) if changes else rule
