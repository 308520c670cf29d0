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

A judge (an LLM judge, a learned set reward model: a
:class:`shapley_sets.SetFunction`) may be the utility of either layout. In
layout A the :class:`CandidateReward` keeps each completion's candidate
objects (the parsed texts, say) and calls the judge for exactly the
coalitions the trainer's credit rule needs (K + 1 per completion for the
recommended leave-one-out rule, 2^K − 1 for Shapley), exact or estimated
within ``budget=`` calls per completion; in layout B the texts of a prompt's
completions are the candidates of one set, judged once per group (groups
shared out among the processes), within ``judge_budget=`` calls per group.
The judge's calls and the credit's standard errors are logged with TRL's
metrics (``judge/calls``, ``judge/calls_per_set``,
``judge/credit_stderr_mean``, ``judge/credit_stderr_max``).

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
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import torch
from accelerate.utils import gather_object
from trl import GRPOTrainer

import shapley_sets as ss
from shapley_sets._api import empty_values_of
from shapley_sets._typing import ArrayLike, Tau
from shapley_sets._validation import check_utility
from shapley_sets.blackbox.estimate import _check_budget as check_budget
from shapley_sets.blackbox.set_function import SetFunction
from shapley_sets.grpo import (
    PRESETS,
    RECOMMENDED_RULE,
    CreditRule,
    JudgeCredit,
    completion_advantages,
    completion_rewards,
    concat_credits,
    judge_credit,
    set_advantages,
)
from shapley_sets.grpo._fused import rule_token_advantages
from shapley_sets.grpo._semivalues import check_credit
from shapley_sets.utilities import Utility

from ._parsing import check_parser, parse_spans, token_ids_of_spans

__all__ = ["ShapleyGRPOTrainer", "CandidateReward", "LAYOUTS"]

LAYOUTS = ("completions", "candidates", "grpo")


class CandidateReward:
    """A TRL reward function that scores the candidates inside each completion.

    Two ways to say where the candidates are:

    - a **parser** (``parser=``, with ``score_fn=``): a style of
      :func:`shapley_sets.grpo.candidate_spans` (``"numbered"``,
      ``"bulleted"``, ``"lines"``, ``"json"``…), a mapping ``{"style": ...,
      **options}`` (``{"style": "separator", "separator": ";"}``) or a
      callable ``text -> [(start, end), ...]`` finds the candidates' spans in
      each completion's text; ``score_fn(prompt, completion, candidates,
      **row)`` gets the candidates' texts and returns their K scores; the
      tokens of each candidate come from the tokenizer's offsets
      (:func:`shapley_sets.grpo.token_candidates`), with the trainer's
      ``processing_class`` unless ``tokenizer=`` is given;
    - hand-built ids (``candidate_fn``): ``candidate_fn(prompt, completion,
      completion_ids, **row)`` returns ``(scores, token_candidates)``:
      ``scores`` the utility's input for the K_i candidates (K_i numbers, or
      for a utility of several scores per candidate an array whose last axis
      is the candidates', ``(M, K_i)`` for ``ss.ExpectedBest``'s M user
      types), and ``token_candidates`` one int per completion token, the
      candidate index in [0, K_i) or -1.

    ``scores`` (from either) are the input of ``utility`` for the K_i
    candidates: K_i numbers, or for a utility of several scores per
    candidate an array whose last axis is the candidates' (``(M, K_i)`` for
    ``ss.ExpectedBest``'s M user types).

    ``row`` holds the completion's dataset columns. K_i may vary, may be 0.
    As a reward function it returns the set reward U(scores) of each
    completion; :class:`ShapleyGRPOTrainer` (layout ``"candidates"``) reads
    the candidates it stored. Called by another trainer (TRL's own
    ``GRPOTrainer``, which passes ``trainer_state``), only those set rewards
    reach the advantages: plain GRPO. It then warns, once.

    **A judge as the utility**: with ``utility`` a
    :class:`shapley_sets.SetFunction`, the candidates are objects the judge
    takes, not scores: with a parser, the candidates' texts (or whatever
    ``score_fn``, now optional, returns for them: K objects, e.g. the texts
    with the prompt); with ``candidate_fn``, the first item it returns (K
    objects). Each call then judges the completions' sets once for the
    credit ``credit`` (:func:`shapley_sets.grpo.judge_credit`; the trainer
    sets it to its rule's credit, standalone it is leave-one-out's): exact
    when ``budget`` (judge calls per completion) is None or covers it,
    estimated otherwise. The set reward returned comes from those same calls;
    ``last_credit`` holds the :class:`~shapley_sets.grpo.JudgeCredit`.

    Args:
        utility: a set utility, e.g. ``ss.BestOf()`` (one score per
            candidate) or ``ss.ExpectedBest(...)`` (one per user type).
        candidate_fn: the callable of hand-built ids (not with ``parser``).
        name: the name TRL logs the reward under.
        parser: where the candidates are in the text (see above).
        score_fn: the scorer of the parsed candidates (with ``parser``).
        tokenizer: the tokenizer that produced ``completion_ids`` (default:
            the trainer's ``processing_class``).
        budget: with a judge, the most judge calls per completion (None:
            exact, within the judge's ``max_calls``).
        seed: with a judge, seeds the estimates (each call draws the next
            stream).
        credit: with a judge, the credit to compute (``"loo"``,
            ``"shapley"``, ...); None: the trainer's rule decides
            (leave-one-out when used alone).

    Raises:
        ValueError: neither or both of ``candidate_fn`` and ``parser``;
            ``parser`` without ``score_fn``; a bad parser style or option.
            From a call: scores with the wrong number of axes for
            ``utility``, ids of the wrong length or outside [-1, K_i), as
            many scores as candidates not returned, no tokenizer (naming the
            completion). ``budget``, ``seed`` or ``credit`` without a judge.
        TypeError: a ``score_fn`` that is not callable; with a judge, a
            ``candidate_fn`` or ``score_fn`` that returns no list of
            candidates (naming the completion).

    Examples:
        >>> import shapley_sets as ss
        >>> def items(prompt, completion, completion_ids, **row):
        ...     # every token is an item; its score is its token id / 10
        ...     return [t / 10 for t in completion_ids], list(range(len(completion_ids)))
        >>> reward = CandidateReward(ss.BestOf(), items)
        >>> reward(prompts=["p", "p"], completions=["a b", "c"], completion_ids=[[3, 7], [5]])
        [0.7, 0.5]
        >>> def grade(prompt, completion, candidates, **row):
        ...     return [len(c) / 10 for c in candidates]
        >>> parsed = CandidateReward(ss.BestOf(), parser="numbered", score_fn=grade)
        >>> parsed.candidate_texts("1. red\\n2. yellow")
        ['red', 'yellow']
        >>> judge = ss.SetFunction(lambda words: float(len(set(words))), empty_value=0.0)
        >>> def words(prompt, completion, completion_ids, **row):
        ...     return completion.split(), list(range(len(completion_ids)))
        >>> judged = CandidateReward(judge, words)
        >>> judged(prompts=["p", "p"], completions=["a b a", "c"], completion_ids=[[3, 7, 3], [5]])
        [2.0, 1.0]
        >>> judged.last_credit.credit.tolist(), judged.last_credit.calls  # leave-one-out
        ([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], 4)
    """

    def __init__(self, utility: Any, candidate_fn: Callable | None = None, name: str = "candidate_reward", *,
                 parser: str | Mapping | Callable | None = None, score_fn: Callable | None = None,
                 tokenizer: Any = None, budget: int | None = None, seed: Any = None, credit: Any = None):
        if (candidate_fn is None) == (parser is None):
            raise ValueError("CandidateReward takes exactly one of candidate_fn (hand-built ids) and parser")
        judged = isinstance(utility, SetFunction)
        if not judged:
            check_utility(utility, "utility")  # at once, not at the first training step
        if candidate_fn is not None and not callable(candidate_fn):
            raise TypeError(f"candidate_fn must be callable, got {type(candidate_fn).__name__}")
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string (TRL logs the reward under it), got {name!r}")
        if budget is not None:
            check_budget(budget)
        if parser is not None and not judged and not callable(score_fn):
            raise ValueError("CandidateReward(parser=...) needs score_fn(prompt, completion, candidates, **row)")
        if score_fn is not None and not callable(score_fn):
            raise TypeError(f"score_fn must be callable, got {type(score_fn).__name__}")
        if not judged and (budget is not None or seed is not None or credit is not None):
            raise ValueError(
                "budget, seed and credit serve a judge utility (a ss.SetFunction); "
                f"{type(utility).__name__} is exact and needs none of them"
            )
        self.budget = budget
        self.credit = None if credit is None else check_credit(credit)
        self._seeds = np.random.SeedSequence(seed)
        self.last_credit: JudgeCredit | None = None
        self.utility = utility
        self.candidate_fn = candidate_fn
        self.parser = None if parser is None else check_parser(parser)
        self.score_fn = score_fn
        self.tokenizer = tokenizer
        self.__name__ = name
        self.last: list[tuple[Any, np.ndarray]] | None = None
        #: Set by the ShapleyGRPOTrainer that reads this reward's candidates.
        self.trainer_layout: str | None = None
        self._warned_outside = False
        #: The set values U(S) of the last call's completions (the rewards returned), for the trainer.
        self.last_values: np.ndarray | None = None
        #: The last call's candidates as one padded batch ``(x, mask)``, for the trainer.
        self.last_batch: tuple[np.ndarray, np.ndarray] | None = None

    def candidate_texts(self, text: str) -> list[str]:
        """The candidates the parser finds in ``text`` (what ``score_fn`` receives)."""
        return [text[s:e] for s, e in parse_spans(self.parser, text)]

    def _parsed(self, i, prompt, completion, ids, row):
        text = completion if isinstance(completion, str) else completion[-1]["content"]
        spans = parse_spans(self.parser, text)
        texts = [text[s:e] for s, e in spans]
        if isinstance(self.utility, SetFunction):
            scores = texts if self.score_fn is None else _candidate_objects(
                self.score_fn(prompt, completion, texts, **row), "score_fn", i)
            n_scores = len(scores)
        else:
            assert self.score_fn is not None  # __init__: a parser without a judge needs score_fn
            scores = _candidate_scores(self.score_fn(prompt, completion, texts, **row), self.utility, i)
            n_scores = scores.shape[-1]
        if n_scores != len(spans):
            raise ValueError(f"completion {i}: score_fn returned {n_scores} scores for {len(spans)} candidates")
        if self.tokenizer is None:
            raise ValueError(
                f"completion {i}: a parser needs the tokenizer of completion_ids; pass tokenizer= or use "
                "the reward in ShapleyGRPOTrainer, which lends its processing_class"
            )
        return scores, token_ids_of_spans(self.tokenizer, ids, text, spans)

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any],
                 completion_ids: Sequence[Sequence[int]], **kwargs: Any) -> list[float]:
        if self.trainer_layout is None and "trainer_state" in kwargs and not self._warned_outside:
            # TRL's trainers pass trainer_state; a ShapleyGRPOTrainer sets trainer_layout
            self._warned_outside = True
            warnings.warn(
                f"CandidateReward {self.__name__!r} is called by a trainer other than ShapleyGRPOTrainer: it "
                "returns the set rewards U(S) only, so a trainer such as TRL's own GRPOTrainer gives every "
                "token of a completion the same advantage (plain GRPO); use "
                "ShapleyGRPOTrainer(layout='candidates') for the candidates' credits",
                UserWarning,
                stacklevel=2,
            )
        columns = {k: v for k, v in kwargs.items() if isinstance(v, list) and len(v) == len(prompts)}
        records = []
        for i, (p, c, ids) in enumerate(zip(prompts, completions, completion_ids)):
            row = {k: v[i] for k, v in columns.items()}
            if self.parser is not None:
                records.append(self._parsed(i, p, c, ids, row))
                continue
            assert self.candidate_fn is not None  # __init__: exactly one of candidate_fn and parser
            scores, tokens = self.candidate_fn(p, c, ids, **row)
            if isinstance(self.utility, SetFunction):
                scores = _candidate_objects(scores, "candidate_fn", i)
                k = len(scores)
            else:
                scores = _candidate_scores(scores, self.utility, i)
                k = scores.shape[-1]
            tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
            if tokens.shape[0] != len(ids):
                raise ValueError(
                    f"completion {i}: candidate_fn returned {tokens.shape[0]} token candidates for "
                    f"{len(ids)} completion tokens"
                )
            if tokens.size and (tokens.min() < -1 or tokens.max() >= k):
                raise ValueError(
                    f"completion {i}: token candidates must lie in [-1, {k}), got "
                    f"{int(tokens.min())}..{int(tokens.max())}"
                )
            records.append((scores, tokens))
        self.last = records
        if isinstance(self.utility, SetFunction):
            credit = RECOMMENDED_RULE.credit if self.credit is None else self.credit
            self.last_credit = judge_credit(self.utility, [s for s, _ in records], rule=credit,
                                            budget=self.budget, seed=self._seeds.spawn(1)[0])
            return self.last_credit.set_rewards.tolist()
        x, mask = _pad([s for s, _ in records], self.utility)
        self.last_batch = (x, mask)
        self.last_values = ss.value(self.utility, x, mask=mask)
        return self.last_values.tolist()


def _candidate_objects(candidates, who, i):
    """One completion's candidates for a judge: a list of K objects (a string is one candidate's text,
    not K characters, so it is refused)."""
    if isinstance(candidates, (str, bytes)) or not isinstance(candidates, (Sequence, np.ndarray)):
        raise TypeError(
            f"completion {i}: with a judge (ss.SetFunction) {who} must return the candidates as a list "
            f"of objects, got {type(candidates).__name__}"
        )
    return list(candidates)


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


def _as_list(reward_funcs: Any) -> list:
    """``reward_funcs`` as TRL takes it, one function or a list, as a list."""
    return list(reward_funcs) if isinstance(reward_funcs, (list, tuple)) else [reward_funcs]


def _check_one_candidate_reward(reward_funcs: Any) -> list[int]:
    """Where the one CandidateReward of layout='candidates' is among ``reward_funcs``."""
    found = [i for i, f in enumerate(_as_list(reward_funcs)) if isinstance(f, CandidateReward)]
    if len(found) != 1:
        raise ValueError(
            f"layout='candidates' needs exactly one CandidateReward among reward_funcs, found {len(found)}"
        )
    return found


class ShapleyGRPOTrainer(GRPOTrainer):
    """``trl.GRPOTrainer`` whose advantages come from Shapley values of set members.

    Args:
        *args, **kwargs: everything ``GRPOTrainer`` takes.
        layout: ``"completions"`` (layout B), ``"candidates"`` (layout A,
            needs a :class:`CandidateReward` among ``reward_funcs``) or
            ``"grpo"`` (plain GRPO, the baseline).
        utility: the set utility of layout B: a structured one (e.g.
            ``ss.BestOf()``) over the completions' rewards, or a judge (a
            :class:`shapley_sets.SetFunction`) over the completions' texts
            (the last message's content for conversational data). Layout A
            takes the utility of its :class:`CandidateReward` (a judge there
            too, if it is one).
        rule: the credit rule, a :class:`shapley_sets.grpo.CreditRule`
            (default :data:`shapley_sets.grpo.RECOMMENDED_RULE`). Layout A
            uses all of it; layout B uses its credit (each completion's
            semivalue in its group's set, z-scored over the group).
        beta: overrides the rule's β (layout A): a number >= 0 or a callable
            ``beta(step)`` of TRL's ``state.global_step``. None keeps the rule's.
        tau: overrides the rule's τ (the Shapley form's scale). None keeps it.
        judge_budget: layout B with a judge: the most judge calls per prompt
            group; groups whose exact credit needs more are estimated. None:
            exact (within the judge's ``max_calls``). Layout A's budget is the
            :class:`CandidateReward`'s.
        judge_seed: layout B with a judge: seeds the estimates.

    With a judge, completions that every reward function marks unscorable
    (TRL's NaN) leave their group's set, as in
    :func:`shapley_sets.grpo.completion_advantages`; otherwise layout B's
    ``reward_funcs`` are only scored and logged by TRL: the advantages come
    from the judge. ``last_judge_credit`` holds the latest
    :class:`~shapley_sets.grpo.JudgeCredit` (all processes' sets).

    Raises:
        ValueError: an unknown layout, a missing utility, a layout-B utility
            that takes more than one score per completion (``ExpectedBest``,
            whose sets are per-user-type score matrices), a bad ``beta`` or
            ``tau`` — these before TRL builds anything —, a missing
            :class:`CandidateReward`, a judge's ``credit`` other than the
            rule's, ``judge_budget`` without a layout-B judge, or TRL's
            ``normalize_then_sum`` aggregation.
        TypeError: ``rule`` is not a :class:`shapley_sets.grpo.CreditRule`.

    Examples:
        See docs/guides/trl.md for a complete run on a tiny local model.
    """

    def __init__(
        self,
        *args: Any,
        layout: str = "completions",
        utility: Utility | None = None,
        rule: CreditRule | None = None,
        beta: float | Callable[[int], float] | None = None,
        tau: Tau | None = None,
        judge_budget: int | None = None,
        judge_seed: Any = None,
        **kwargs: Any,
    ) -> None:
        # Checked before TRL loads anything, so a wrong setting fails at once, not inside train().
        rule = _resolve_rule(rule, beta, tau)
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        if layout == "completions" and utility is None:
            raise ValueError("layout='completions' needs a set utility, e.g. utility=ss.BestOf()")
        if utility is not None and not isinstance(utility, SetFunction):
            check_utility(utility, "utility")
        if layout == "candidates":
            _check_one_candidate_reward(kwargs.get("reward_funcs", args[1] if len(args) > 1 else None))
        if (judge_budget is not None or judge_seed is not None) and not (
                layout == "completions" and isinstance(utility, SetFunction)):
            raise ValueError(
                "judge_budget and judge_seed serve layout='completions' with a judge utility (a ss.SetFunction); "
                "in layout='candidates' give budget= and seed= to the CandidateReward"
            )
        core_ndim = int(getattr(utility, "core_ndim", 1))
        if layout == "completions" and core_ndim != 1:
            raise ValueError(
                f"layout='completions' scores each completion with one reward, but {type(utility).__name__} "
                f"takes {core_ndim}-D inputs per set (e.g. one score per user type); use a utility "
                "of one score per candidate (BestOf, TopK, AnySuccess, Additive, RankWeighted, Pairwise)"
            )
        super().__init__(*args, **kwargs)
        if self.multi_objective_aggregation != "sum_then_normalize":
            raise ValueError(
                "ShapleyGRPOTrainer supports multi_objective_aggregation='sum_then_normalize' only, "
                f"got {self.multi_objective_aggregation!r}"
            )
        self.shapley_layout = layout
        self.shapley_rule = rule
        self.shapley_utility = utility
        self._candidate_column = None
        for f in _as_list(self.reward_funcs):
            if isinstance(f, CandidateReward):
                f.trainer_layout = layout  # its rewards are read by this trainer, in this layout
        if layout == "candidates":
            found = _check_one_candidate_reward(self.reward_funcs)
            self._candidate_column = found[0]
            reward = cast(CandidateReward, self.reward_funcs[found[0]])  # found by isinstance above
            if reward.parser is not None and reward.tokenizer is None:
                reward.tokenizer = getattr(self.processing_class, "tokenizer", self.processing_class)
            if isinstance(reward.utility, SetFunction):
                # The rule decides which coalitions the judge is asked about.
                if reward.credit is None:
                    reward.credit = rule.credit
                elif reward.credit != rule.credit:
                    raise ValueError(
                        f"the CandidateReward's credit {reward.credit!r} differs from the rule's "
                        f"{rule.credit!r}; leave credit=None to let the rule decide"
                    )
        self.judge_budget = judge_budget
        self._judge_seeds = np.random.SeedSequence(judge_seed)
        self._local_completions: list = []
        self.last_judge_credit: JudgeCredit | None = None
        self.last_trl_advantages = None
        self.last_advantages = None
        self._gathered_rewards = None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._gathered_rewards = rewards_per_func  # (N over all processes, n_funcs)
        if isinstance(self.shapley_utility, SetFunction):
            self._local_completions = [c if isinstance(c, str) else c[-1]["content"] for c in completions]
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
        elif self.shapley_layout == "completions" and isinstance(self.shapley_utility, SetFunction):
            adv = set_advantages(self._judged_completion_rewards(r, g, mode), g, **opts)
            adv = torch.from_numpy(adv[local].astype(np.float32))
        elif self.shapley_layout == "completions":
            adv = completion_advantages(self.shapley_utility, r, g, credit=self.shapley_rule.credit, **opts)
            adv = torch.from_numpy(adv[local].astype(np.float32))
        else:
            adv = self._candidate_token_advantages(r, g, opts, local, out["completion_mask"], mode)
        out["advantages"] = adv.to(out["advantages"].device)
        self.last_advantages = out["advantages"].detach().clone()
        return out

    def _log_judge(self, judged: JudgeCredit, mode: str) -> None:
        self.last_judge_credit = judged
        for key, v in judged.metrics().items():
            self._metrics[mode][key].append(v)

    def _judged_completion_rewards(self, r, g, mode):
        """Layout B with a judge: each group's completion texts judged as one set, the groups shared out
        among the processes; per-completion rewards (NaN: unscorable) of all processes, in order."""
        texts = gather_object(list(self._local_completions))
        rank, world = self.accelerator.process_index, self.accelerator.num_processes
        present = ~np.isnan(r)
        members = [idx for idx in (np.arange(s * g, (s + 1) * g) for s in range(rank, len(texts) // g, world))
                   if present[idx].any()]
        members = [idx[present[idx]] for idx in members]
        # One stream per step (every process draws the same), split per process: distinct sets, distinct draws.
        seed = self._judge_seeds.spawn(1)[0].spawn(world)[rank]
        part = None
        if members:
            rewards, judged = completion_rewards(self.shapley_utility, texts, members,
                                                 credit=self.shapley_rule.credit, budget=self.judge_budget,
                                                 seed=seed)
            rows = np.concatenate(members)
            part = (rows, rewards[rows], judged)
        parts = [p for p in gather_object([part]) if p is not None]
        full = np.full(len(texts), np.nan)
        for rows, values, _ in parts:
            full[rows] = values
        if parts:
            self._log_judge(concat_credits([j for _, _, j in parts]), mode)
        return full

    def _candidate_token_advantages(self, r, g, opts, local, completion_mask, mode):
        reward_fn = self.reward_funcs[self._candidate_column]
        # Candidates are ragged Python data: gather them as objects, in process order like the rewards.
        records = gather_object(list(reward_fn.last))
        u = reward_fn.utility
        rule = self.shapley_rule
        if isinstance(u, SetFunction):
            # Judged where the rewards were computed (each process its own completions), from the same calls.
            judged = concat_credits(gather_object([reward_fn.last_credit]))
            self._log_judge(judged, mode)
            credits, mask, u_set, u_empty = judged.credit, judged.mask, judged.set_rewards, judged.empty_values
        else:
            # One process: the batch the reward padded; several: each process's records, padded together.
            batch = getattr(reward_fn, "last_batch", None)
            x, mask = batch if batch is not None and self.accelerator.num_processes == 1 else _pad(
                [s for s, _ in records], u)
            credits = rule.credits(u, x, mask=mask)
            if rule.form == "shapley":  # the marginal form reads neither, so it does not evaluate them
                # U(S): what the reward computed from the same scores (the candidate reward's own term of r)
                mine = getattr(reward_fn, "last_values", None)
                values = None if mine is None else gather_object([mine])
                u_set = ss.value(u, x, mask=mask) if values is None else np.concatenate(values)
                u_empty = empty_values_of(u, x, mask)  # ss.empty_value on the x rule.credits has just validated
        w = float(self.reward_weights[self._candidate_column])
        # The set reward R is TRL's weighted sum over all reward functions; only the candidate reward is
        # credited to candidates, so credits are w·c. For the Shapley form, with φ' = wφ and
        # U'(∅) = R − w(U(S) − U(∅)), the within-set deviation K·φ' + U'(∅) − R equals
        # w·(K·φ + U(∅) − U(S)), the candidate reward's own.
        # (Leave-one-out from a judge leaves U(∅) unknown (NaN); only the Shapley form reads it.)
        empty = 0.0
        if rule.form == "shapley":
            empty = np.where(np.isnan(r) | np.isnan(u_empty), 0.0, r - w * (u_set - u_empty))
        t = completion_mask.size(1)
        ids = np.full((local.stop - local.start, t), -1, dtype=np.int64)
        for i, (_, tokens) in enumerate(records[local]):
            ids[i, : tokens.shape[0]] = tokens[:t]
        tok, _, _ = rule_token_advantages(
            rule, r, w * credits, g, ids, completion_mask.detach().cpu().numpy(), mask=mask, rows=local,
            step=self.state.global_step, empty_value=empty, **opts,
        )
        return torch.from_numpy(tok.astype(np.float32))


def _resolve_rule(rule, beta, tau) -> CreditRule:
    """The trainer's rule: ``rule`` (default the recommended one) with ``beta``/``tau`` replaced if given."""
    if rule is None:
        rule = RECOMMENDED_RULE
    if not isinstance(rule, CreditRule):
        raise TypeError(f"rule must be a shapley_sets.grpo.CreditRule, got {type(rule).__name__}")
    changes = {k: v for k, v in (("beta", beta), ("tau", tau)) if v is not None}
    return dataclasses.replace(rule, **changes) if changes else rule
