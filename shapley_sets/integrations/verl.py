"""verl integration: Shapley GRPO advantage estimators for verl's registry.

Importing this module registers two estimators with verl's
``register_adv_est`` (:func:`register` does the same and is idempotent):

- ``"shapley_grpo"`` (layout A, docs/math.md#layout-a-candidates-inside-one-response): each response is a set of
  candidates; its tokens get their candidate's advantage
  ``A_g + β·d_{g,k}/(τ+ε)`` and tokens of no candidate get ``A_g``.
- ``"shapley_completion"`` (layout B): the responses of one prompt (one
  ``uid``) are the candidates of one set, valued by a set utility over their
  scalar rewards.

verl hard-wires ``"grpo"`` and ``"gae"`` and calls every other estimator as
``fn(token_level_rewards=..., response_mask=..., config=algorithm_config,
index=uid)``: no other per-sample data reaches an estimator. Layout A
therefore carries its candidates inside ``token_level_rewards`` itself, in
this documented encoding (:func:`encode_token_rewards` writes it,
:func:`decode_token_rewards` reads it):

- the last token of candidate k holds its Shapley value φ_k, written as
  ``-0.0`` when φ_k is exactly 0, so every candidate leaves a mark;
- every other token holds ``+0.0``;
- candidate k owns the tokens after the previous mark up to its own mark;
  tokens after the last mark belong to no candidate.

So a row sums to Σφ = R − U(∅): with U(∅) = 0 (``BestOf()``, ``AnySuccess``)
verl's logged scores are the set rewards, and verl's own ``grpo`` estimator
on the same tensor is exactly the β = 0 baseline. Limits of a one-float
channel: tokens before a candidate that belong to no candidate (a preamble, a
separator) are credited to the next candidate; the encoding does not survive
``algorithm.use_kl_in_reward=True`` (a KL penalty on every token), which the
estimator refuses. In verl 0.9's default (V1) trainer, the reward manager
``"shapley"`` (:class:`ShapleyRewardManager`) turns per-candidate scores
returned by ``compute_score`` into a record in ``reward_extra_info``, and the
trainer modes of :mod:`shapley_sets.integrations.verl_trainer` write the
records in this encoding before the advantage step (docs/guides/verl.md).
``compute_score`` may instead return the candidates themselves for a judge
(``"candidates"``, valued by the :class:`shapley_sets.SetFunction` of
``shapley.judge``; :mod:`shapley_sets.integrations.verl_judge`), and the
trainer modes log the judge's calls and standard errors.

Options come from ``config.get("shapley")`` (Hydra:
``+algorithm.shapley.beta=0.5``), falling back to :func:`register`'s
keyword arguments, falling back to the defaults ``beta=1.0``,
``tau="within"``, ``empty_value=0.0``; ``spans`` is the reward manager's
parser of candidates in the response text (a style of
:func:`shapley_sets.grpo.candidate_spans`, or a mapping with ``style`` and
its options).

Credit rules (:class:`shapley_sets.grpo.CreditRule`): ``shapley_completion``
credits each response with the semivalue ``credit`` (``"loo"``,
``"banzhaf"``, ``"shapley"`` or ``["beta", α, β]``; default the credit of
:data:`shapley_sets.grpo.RECOMMENDED_RULE`, leave-one-out).
``shapley_grpo`` runs the Shapley rule (``form="shapley"``, the
default) from Shapley values in the token rewards, or with
``form="marginal"`` the marginal rule (default credit and gate those of
:data:`shapley_sets.grpo.RECOMMENDED_RULE`) from the marginal encoding: each
candidate's mark holds its credit, and one more mark on the response's last
token holds R − Σc (:func:`rm_scores_from_records` writes it from records
with a ``"reward"``, which :func:`candidate_record` makes under that form). ``beta`` is a number or a linear schedule
``{start: 1.0, end: 0.0, steps: 200}`` (:class:`shapley_sets.grpo.LinearSchedule`;
from Python, :func:`register` also takes any callable of the step). verl
passes no step to an estimator, so the step is ``step_offset`` (default 0;
set it when resuming) plus the number of times the estimator has already run
in this process: verl runs it once per training step, on the driver. Layout B needs a utility: the config
key ``utility`` (``"best_of"``, ``"any_success"``, ``"top_k"``,
``"additive"``) with ``utility_kwargs``, or a utility object passed to
:func:`register`. With ``shapley.judge`` set instead, ``shapley_completion`` takes the
rewards a trainer mode of :mod:`shapley_sets.integrations.verl_trainer`
judged on the driver (:func:`completion_rm_scores` writes them) and only
normalises them within each uid; it refuses scores that are not those
rewards (a plain trainer mode) and a judge together with a utility.
``norm_adv_by_std_in_grpo`` (default True) picks
``scale="group"`` or ``"none"``; ε is verl's 1e-6; a uid with one response
gets verl's mean 0, std 1.

Examples:
    >>> import torch
    >>> import shapley_sets.integrations.verl as sv
    >>> from verl.trainer.ppo.core_algos import get_adv_estimator_fn
    >>> get_adv_estimator_fn("shapley_grpo") is sv.shapley_grpo_advantage
    True
    >>> tlr = sv.encode_token_rewards([[0.5, 0.0], [0.2, 0.3]], [[0, 0, 1, -1], [0, 1, 1, -1]])
    >>> tlr
    tensor([[0.0000, 0.5000, -0.0000, 0.0000],
            [0.2000, 0.0000, 0.3000, 0.0000]])
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from verl.trainer.ppo import core_algos

import shapley_sets as ss
from shapley_sets._typing import ArrayIn
from shapley_sets.adapters.arrays import to_numpy
from shapley_sets.grpo import (
    PRESETS,
    RECOMMENDED_RULE,
    CreditRule,
    LinearSchedule,
    completion_advantages,
    set_advantages,
)
from shapley_sets._scalars import check_real
from shapley_sets.grpo._checks import check_options
from shapley_sets.grpo._groups import resolve_groups

from .token_rewards import (
    _check_index,
    decode_token_rewards,
    encode_token_rewards,
    layout_a_advantages,
    rm_scores_from_records,
)
from ._parsing import check_parser, parse_spans, token_ids_of_spans
from .verl_judge import JUDGE_KEYS, judged_credit

__all__ = [
    "ESTIMATORS",
    "UTILITIES",
    "register",
    "encode_token_rewards",
    "decode_token_rewards",
    "shapley_grpo_advantage",
    "shapley_completion_advantage",
    "ShapleyRewardManager",
    "CANDIDATES_KEY",
    "CANDIDATE_KEYS",
    "candidate_record",
    "rm_scores_from_records",
    "completion_rm_scores",
]

#: Estimator names this module registers with verl.
ESTIMATORS = ("shapley_grpo", "shapley_completion")

#: Utility names accepted by the config key ``shapley.utility``.
UTILITIES = {
    "best_of": ss.BestOf,
    "any_success": ss.AnySuccess,
    "top_k": ss.TopK,
    "additive": ss.Additive,
}

_KEYS = ("beta", "tau", "empty_value", "utility", "utility_kwargs", "spans", "credit", "form", "gate", "step_offset",
         *JUDGE_KEYS)
_DEFAULTS = {"beta": 1.0, "tau": "within", "empty_value": 0.0, "utility": None, "utility_kwargs": None, "spans": None,
             "credit": None, "form": None, "gate": None, "step_offset": 0, "judge": None, "judge_budget": None,
             "judge_seed": None}
_python_options: dict = {}
# estimator name -> calls so far in this process: the training step a beta schedule reads
_calls: dict = {}


def _options(config) -> dict:
    opts = {**_DEFAULTS, **_python_options}
    section = config.get("shapley", None) if config is not None else None
    if section is not None:
        if not (isinstance(section, Mapping) or hasattr(section, "items")):
            raise TypeError(f"config.shapley must be a mapping, got {type(section).__name__}")
        unknown = sorted(set(section.keys()) - set(_KEYS))
        if unknown:
            raise ValueError(f"config.shapley has unknown keys {unknown}; allowed: {list(_KEYS)}")
        opts.update({k: section[k] for k in section.keys()})
    return opts


def _beta(spec):
    """A number, a callable of the step, or a ``{start, end, steps}`` mapping (a linear schedule)."""
    if isinstance(spec, Mapping) or hasattr(spec, "items"):
        keys = set(spec.keys())
        if keys != {"start", "end", "steps"}:
            raise ValueError(
                f"algorithm.shapley.beta as a schedule needs exactly the keys start, end, steps; got {sorted(keys)}"
            )
        return LinearSchedule(float(spec["start"]), float(spec["end"]), int(spec["steps"]))
    return spec


def _rule(opts, name) -> CreditRule:
    """The credit rule of estimator ``name`` from the options (see the module docstring)."""
    beta = _beta(opts["beta"])
    credit = RECOMMENDED_RULE.credit if opts["credit"] is None else opts["credit"]
    credit = credit if isinstance(credit, str) else tuple(credit)
    if name == "shapley_grpo":
        if opts["form"] in (None, "shapley"):
            if opts["credit"] not in (None, "shapley") or opts["gate"] not in (None, "none"):
                raise ValueError(
                    "shapley_grpo runs the Shapley rule unless algorithm.shapley.form=marginal; got "
                    f"credit={opts['credit']!r}, gate={opts['gate']!r} without form=marginal"
                )
            return CreditRule("shapley", "shapley", beta=beta, tau=opts["tau"])
        gate = RECOMMENDED_RULE.gate if opts["gate"] is None else opts["gate"]
        return CreditRule(credit, opts["form"], beta=beta, tau=opts["tau"], gate=gate)
    return CreditRule(credit, beta=beta, tau=opts["tau"])


def _step(opts, name) -> int:
    step = int(opts["step_offset"]) + _calls.get(name, 0)
    _calls[name] = _calls.get(name, 0) + 1
    return step


def _scale(config) -> str:
    norm = True if config is None else config.get("norm_adv_by_std_in_grpo", True)
    return "group" if norm else "none"


def _utility(opts, who="shapley_completion"):
    u = opts["utility"]
    if u is None:
        raise ValueError(
            f"{who} needs a set utility: set algorithm.shapley.utility to one of "
            f"{sorted(UTILITIES)} (with algorithm.shapley.utility_kwargs), or call "
            "register(utility=ss.BestOf())"
        )
    if isinstance(u, str):
        if u not in UTILITIES:
            raise ValueError(f"algorithm.shapley.utility must be one of {sorted(UTILITIES)}, got {u!r}")
        kwargs = opts["utility_kwargs"] or {}
        return UTILITIES[u](**dict(kwargs))
    return u


def shapley_grpo_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: Any = None,
    config: Any = None,
    epsilon: float = 1e-6,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """verl estimator ``"shapley_grpo"`` (layout A) on encoded token rewards.

    Args:
        token_level_rewards: (N, T) tensor in the encoding of
            :func:`encode_token_rewards`.
        response_mask: (N, T) tensor.
        index: (N,) uid array (verl's ``non_tensor_batch["uid"]``).
        config: verl's algorithm config (``.get``): ``norm_adv_by_std_in_grpo``
            and the ``shapley`` section (beta or a beta schedule, tau,
            empty_value, step_offset; ``form: marginal`` with ``credit`` and
            ``gate`` for the marginal rule, whose encoding
            :func:`rm_scores_from_records` writes from records with a
            ``"reward"``: each candidate's mark holds its credit and one more
            mark on the response's last token holds R − Σc).
        epsilon: verl's ε.
        **kwargs: whatever else verl passes; ignored.

    Returns:
        ``(advantages, returns)``, both the same (N, T) float32 tensor on the
        input's device, zero on padding, as verl's GRPO estimator returns.

    Raises:
        ValueError: no ``index``, ``use_kl_in_reward`` set, bad options
            (a credit or gate without ``form: marginal``), a non-finite reward
            on a response token, a ``response_mask`` value other than 0/1.

    Examples:
        >>> import torch
        >>> tlr = encode_token_rewards([[0.6, 0.2], [0.1, 0.0]], [[0, 0, 1], [0, 1, -1]])
        >>> adv, _ = shapley_grpo_advantage(tlr, torch.ones(2, 3), index=np.array(["a", "a"], dtype=object))
        >>> adv
        tensor([[ 1.8953,  1.8953, -0.4811],
                [-0.4101, -1.0041, -0.7071]])
    """
    if config is not None and config.get("use_kl_in_reward", False):
        raise ValueError(
            "shapley_grpo reads candidates from token_level_rewards, which a per-token KL penalty "
            "(algorithm.use_kl_in_reward=True) overwrites; use the actor's KL loss instead"
        )
    n = token_level_rewards.shape[0]
    _check_index(index, n, "verl's uid array")
    # verl's uids are Python strings: hashed once for both advantages below.
    groups = resolve_groups(index, n, "index")
    opts = _options(config)
    rule = _rule(opts, "shapley_grpo")
    scale, eps, ddof, singleton = check_options(_scale(config), float(epsilon), 1, PRESETS["verl"]["singleton"])
    empty = check_real("algorithm.shapley.empty_value", opts["empty_value"])
    step = _step(opts, "shapley_grpo")  # one step of a beta schedule per call, in either form
    out = layout_a_advantages(token_level_rewards, response_mask, groups, rule, scale=scale, eps=eps, ddof=ddof,
                              singleton=singleton, empty_value=empty, step=step)
    return out, out


def shapley_completion_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: Any = None,
    config: Any = None,
    epsilon: float = 1e-6,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """verl estimator ``"shapley_completion"`` (layout B): a uid's responses form one set.

    Each response's score is its row sum of ``token_level_rewards`` (verl's
    outcome reward); :func:`shapley_sets.grpo.completion_advantages` turns the
    scores of each uid into advantages under the configured utility and
    credit (default leave-one-out, the recommended rule's), and every valid
    token of a response gets its response's advantage.

    Args:
        token_level_rewards, response_mask, index, config, epsilon, **kwargs:
            as verl passes them (see :func:`shapley_grpo_advantage`); the
            utility comes from ``config.shapley.utility`` or :func:`register`.

    Returns:
        ``(advantages, returns)``: the same (N, T) float32 tensor twice.

    With ``shapley.judge`` set, the scores must be the judged rewards that a
    trainer mode of :mod:`shapley_sets.integrations.verl_trainer` wrote (one
    per response, on its last token); they are normalised within each uid
    as :func:`shapley_sets.grpo.judge_completion_advantages` normalises them.

    Raises:
        ValueError: no utility configured, no ``index``, scores outside the
            utility's domain; with a judge: a utility too,
            ``use_kl_in_reward``, scores that are not the judged rewards.

    Examples:
        >>> import torch
        >>> tlr = torch.tensor([[0.0, 1.0], [0.0, 0.0], [0.5, 0.0]])
        >>> cfg = {"shapley": {"utility": "best_of", "credit": "shapley"}}
        >>> shapley_completion_advantage(tlr, torch.ones(3, 2), np.array([0, 0, 0]), cfg)[0][:, 0]
        tensor([ 1.0911, -0.8729, -0.2182])
        >>> cfg = {"shapley": {"utility": "best_of"}}  # leave-one-out: only the best response counts
        >>> shapley_completion_advantage(tlr, torch.ones(3, 2), np.array([0, 0, 0]), cfg)[0][:, 0]
        tensor([ 1.1547, -0.5773, -0.5773])
    """
    n = token_level_rewards.shape[0]
    _check_index(index, n, "verl's uid array")
    opts = _options(config)
    if opts["judge"] is not None:
        return _judged_completion_advantage(token_level_rewards, response_mask, index, config, opts, epsilon)
    u = _utility(opts)
    rule = _rule(opts, "shapley_completion")
    scores = token_level_rewards.detach().sum(dim=-1).double().cpu().numpy()
    adv = completion_advantages(
        u, scores, index, eps=float(epsilon), ddof=1, scale=_scale(config),
        singleton=PRESETS["verl"]["singleton"], credit=rule.credit,
    )
    adv_t = torch.from_numpy(adv.astype(np.float32)).to(token_level_rewards.device)
    out = adv_t.unsqueeze(-1) * response_mask.to(adv_t.dtype)
    return out, out


def _check_completion_judge(opts: Mapping) -> None:
    """Refuse a judge that ``shapley_completion`` cannot use as configured."""
    if opts["utility"] is not None:
        raise ValueError(
            "shapley_completion values a uid's responses either with algorithm.shapley.judge or with "
            "algorithm.shapley.utility, not both; got judge and utility set"
        )


def _judged_completion_advantage(token_level_rewards, response_mask, index, config, opts, epsilon):
    """Layout B with a judge: the rewards were judged on the driver; only the normalisation runs here."""
    _check_completion_judge(opts)
    if config is not None and config.get("use_kl_in_reward", False):
        raise ValueError(
            "shapley_completion with algorithm.shapley.judge reads back the judged rewards exactly, which a "
            "per-token KL penalty (algorithm.use_kl_in_reward=True) changes; use the actor's KL loss instead"
        )
    n = token_level_rewards.shape[0]
    judged = _judged.pop("rewards", None)
    # A row holds its reward on one token and +0.0 elsewhere: its float32 sum is the reward exactly.
    scores = token_level_rewards.detach().float().sum(dim=-1).cpu().numpy()
    if judged is None or judged.shape != (n,) or not np.array_equal(scores, judged):
        raise ValueError(
            "shapley_completion with algorithm.shapley.judge needs the judged rewards that the trainer modes "
            "of shapley_sets.integrations.verl_trainer (trainer.v1.trainer_mode=shapley_sync, "
            "shapley_colocate_async or shapley_separate_async) write into rm_scores on the driver before the "
            "advantage step; these scores are not theirs"
        )
    adv = set_advantages(scores.astype(np.float64), index, eps=float(epsilon), ddof=1, scale=_scale(config),
                         singleton=PRESETS["verl"]["singleton"])
    adv_t = torch.from_numpy(adv.astype(np.float32)).to(token_level_rewards.device)
    out = adv_t.unsqueeze(-1) * response_mask.to(adv_t.dtype)
    return out, out


def completion_rm_scores(lengths: Any, rewards: ArrayIn, width: int | None = None) -> torch.Tensor:
    """Layout B's judged rewards as verl's ``rm_scores``: each reward on its response's last token.

    Args:
        lengths: (N,) response lengths (each at least 1).
        rewards: (N,) per-response rewards
            (:func:`shapley_sets.integrations.verl_judge.judged_completion_rewards`).
        width: the padded width T (default the longest response).

    Returns:
        (N, T) float32 tensor, ``+0.0`` off the last tokens and on padding.

    Raises:
        ValueError: lengths and rewards that disagree, an empty response, a reward that is not finite.

    Examples:
        >>> completion_rm_scores([3, 1], [0.5, -1.0])
        tensor([[ 0.0000,  0.0000,  0.5000],
                [-1.0000,  0.0000,  0.0000]])
    """
    lengths = np.asarray(to_numpy(lengths), dtype=np.int64).reshape(-1)
    r = np.asarray(to_numpy(rewards), dtype=np.float64).reshape(-1)
    if r.shape != lengths.shape:
        raise ValueError(f"one reward per response: {lengths.size} lengths but {r.size} rewards")
    bad = np.flatnonzero((lengths < 1) | ~np.isfinite(r))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"response {i}: length {int(lengths[i])} and reward {float(r[i])} cannot be written "
                         "(an empty response or a reward that is not finite)")
    t = int(lengths.max(initial=0)) if width is None else int(width)
    if lengths.size and int(lengths.max()) > t:
        i = int(np.argmax(lengths))
        raise ValueError(f"response {i} has length {int(lengths[i])}, more than width={t} tokens")
    out = torch.zeros(lengths.size, t, dtype=torch.float32)
    # + 0.0 turns a -0.0 reward into +0.0: the row then sums to exactly what it holds.
    out[torch.arange(lengths.size), torch.from_numpy(lengths - 1)] = torch.from_numpy(r.astype(np.float32)) + 0.0
    return out


# The judged rewards of the batch in flight, handed from the trainer modes (on the driver) to the
# estimator, which verl calls in the same process with no other per-sample data: it checks that the
# scores it reads are these, so a trainer that did not judge cannot pass raw scores off as judged.
_judged: dict = {}

_FUNCS = {"shapley_grpo": shapley_grpo_advantage, "shapley_completion": shapley_completion_advantage}


def register(**options: Any) -> tuple[str, ...]:
    """Register the estimators with verl (idempotent) and set Python-side defaults.

    Args:
        **options: defaults for ``beta`` (a number, a ``{start, end,
            steps}`` mapping or a callable of the step), ``tau``,
            ``empty_value``, ``utility`` (a utility object or a name of
            :data:`UTILITIES`), ``utility_kwargs``, ``credit``, ``form``,
            ``step_offset``, and the judge's ``judge`` (layout A or B; a
            :class:`~shapley_sets.SetFunction` or ``"module:name"``),
            ``judge_budget`` and ``judge_seed``; the algorithm config's ``shapley`` section
            overrides them. With no options the defaults are left alone, so
            this also works as Ray's ``worker_process_setup_hook``.

    Returns:
        The registered names, :data:`ESTIMATORS`.

    Raises:
        ValueError: an unknown option, or a name already taken in verl's
            registry by another function.

    Examples:
        >>> register()
        ('shapley_grpo', 'shapley_completion')
    """
    unknown = sorted(set(options) - set(_KEYS))
    if unknown:
        raise ValueError(f"unknown options {unknown}; allowed: {list(_KEYS)}")
    _python_options.update(options)
    for name, fn in _FUNCS.items():
        core_algos.register_adv_est(name)(fn)
    return ESTIMATORS


register()


#: The ``reward_extra_info`` key under which :class:`ShapleyRewardManager`
#: passes each response's candidates (a JSON string: verl keeps strings out of
#: its numeric metrics and stacks them without ragged-array errors).
CANDIDATES_KEY = "shapley_candidates"

#: The keys of a ``compute_score`` result that describe candidates.
CANDIDATE_KEYS = ("candidate_scores", "shapley_values", "candidates", "candidate_spans", "candidate_ends")

_VALUE_KEYS = ("candidate_scores", "shapley_values", "candidates")


def _float_list(values, name: str, i=None) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)):
        where = "" if i is None else f"response {i}: "
        raise ValueError(f"{where}{name} must be finite, got {arr.tolist()}")
    return arr


def candidate_record(result: Mapping, token_ids: Sequence[int], text: str, tokenizer: Any, config: Any = None) -> dict:
    """One response's candidates as :data:`CANDIDATES_KEY` carries them: Shapley values and token ends.

    ``result`` is a ``compute_score`` dict with the candidates' utility inputs
    ``"candidate_scores"`` (Shapley values computed here with the configured
    utility), their ``"shapley_values"``, or the candidate objects a judge
    takes, ``"candidates"`` (Shapley values from the judge of the config key
    ``shapley.judge``, exact or within ``shapley.judge_budget`` calls; see
    :mod:`shapley_sets.integrations.verl_judge`), and where they lie: character
    ``"candidate_spans"`` in ``text``, token ``"candidate_ends"`` (each
    candidate's last response token), or neither, and then the parser of the
    config key ``shapley.spans`` finds the spans. Candidates that own no token
    (empty, or cut off) leave the set: with ``candidate_scores`` the Shapley
    values are those of the candidates that remain.

    Args:
        result: the ``compute_score`` dict.
        token_ids: the response's generated token ids (padding removed).
        text: their decoded text, as ``compute_score`` received it.
        tokenizer: the rollout model's tokenizer.
        config: the algorithm config (its ``shapley`` section).

    Under ``shapley.form: marginal`` the record holds the marginal rule's
    credits instead, with the set reward ``"reward"``, and a candidate that
    ends on the response's last token leaves the set (that token carries
    R − Σc in the marginal encoding).

    Returns:
        ``{"phi": [...], "ends": [...]}``: K Shapley values and the token
        index of each candidate's last token, increasing; from a judge also
        ``"score"`` (U of the set), ``"judge_calls"`` and ``"judge_stderr"``
        (K standard errors, 0 where exact).

    Raises:
        ValueError: not exactly one of ``candidate_scores``,
            ``shapley_values`` and ``candidates``; both ``candidate_spans`` and
            ``candidate_ends``; lengths that disagree; ends out of order or
            past the response; no spans and no parser; no utility for
            ``candidate_scores``; Shapley values of a candidate that owns no token.

    Examples:
        >>> import types
        >>> tok = types.SimpleNamespace()  # token ends given: no tokenizer needed
        >>> cfg = {"shapley": {"utility": "best_of"}}
        >>> candidate_record({"score": 0.9, "candidate_scores": [0.9, 0.4], "candidate_ends": [2, 5]},
        ...                  list(range(7)), "", tok, cfg)
        {'phi': [0.7, 0.2], 'ends': [2, 5]}
    """
    opts = _options(config)
    given = [key for key in _VALUE_KEYS if key in result]
    if len(given) != 1:
        raise ValueError(
            "compute_score must return exactly one of 'candidate_scores', 'shapley_values' and 'candidates', "
            f"got {given or 'none'}"
        )
    kind = given[0]
    # Candidates without tokens leave the set when the values are computed here (scores, a judge).
    from_scores = kind != "shapley_values"
    if kind == "candidates":
        values = result["candidates"]
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
            raise TypeError(f"'candidates' must be a list of candidate objects, got {type(values).__name__}")
        values = np.array(list(values) + [None], dtype=object)[:-1]  # a 1-D object array, whatever the items
    else:
        values = _float_list(result[kind], kind)
    k, n_tok = values.shape[0], len(token_ids)
    if "candidate_ends" in result:
        if "candidate_spans" in result:
            raise ValueError("compute_score must return 'candidate_spans' or 'candidate_ends', not both")
        ends = [int(e) for e in result["candidate_ends"]]
        if len(ends) != k:
            raise ValueError(f"{k} candidate values but {len(ends)} candidate_ends")
        if any(b <= a for a, b in zip(ends, ends[1:])) or (ends and not 0 <= ends[0]) or (ends and ends[-1] >= n_tok):
            raise ValueError(f"candidate_ends must increase within [0, {n_tok}), got {ends}")
        order = list(range(k))
    else:
        spans = result.get("candidate_spans")
        if spans is None:
            if opts["spans"] is None:
                raise ValueError(
                    "compute_score returned no 'candidate_spans' or 'candidate_ends' and no parser is "
                    "configured: set algorithm.shapley.spans (e.g. +algorithm.shapley.spans=numbered)"
                )
            spans = parse_spans(check_parser(opts["spans"], "algorithm.shapley.spans"), text)
        spans = [tuple(int(v) for v in sp) for sp in spans]
        if len(spans) != k:
            raise ValueError(f"{k} candidate values but {len(spans)} candidate spans")
        ids = token_ids_of_spans(tokenizer, token_ids, text, spans)
        owned = [c for c in range(k) if (ids == c).any()]
        # The encoding places candidates in token order.
        order = sorted(owned, key=lambda c: int(np.argmax(ids == c)))
        ends = [int(np.flatnonzero(ids == c)[-1]) for c in order]
        rank = np.full(k + 1, -1)
        rank[order] = np.arange(len(order))
        seq = rank[ids[ids >= 0]]
        if np.any(np.diff(seq) < 0):
            raise ValueError(
                "the candidates' tokens interleave (the tokenizer's offsets are not monotone), so each "
                f"candidate cannot own one run of tokens; token candidates: {ids.tolist()}"
            )
        if not from_scores and len(order) < k:
            lost = sorted(set(range(k)) - set(order))
            raise ValueError(
                f"candidates {lost} own no response token, so their shapley_values cannot be placed; "
                "return candidate_scores instead (candidates without tokens then leave the set)"
            )
    rule = _rule(opts, "shapley_grpo")
    if rule.form == "marginal":
        return _marginal_record(kind, values, order, ends, n_tok, rule, opts, token_ids)
    if kind == "candidates":
        return {**judged_credit(list(values[order]), opts, token_ids), "ends": ends}
    if from_scores:
        x = values[order]
        phi = ss.shapley(_utility(opts, "the layout-A reward manager"), x[None, :])[0] if x.size else x
    else:
        phi = values[order]
    return {"phi": [float(v) for v in phi], "ends": ends}


def _marginal_record(kind, values, order, ends, n_tok, rule, opts, token_ids) -> dict:
    """The record of the marginal rule: the candidates' credits and the set reward (see
    :func:`shapley_grpo_advantage`)."""
    if kind == "shapley_values":
        raise ValueError(
            "algorithm.shapley.form=marginal credits candidates with "
            f"{rule.credit!r}: return 'candidate_scores' or 'candidates', not 'shapley_values'"
        )
    # The response's last token carries R − Σc: a candidate ending there is cut off (a truncated
    # response) and leaves the set.
    if ends and ends[-1] >= n_tok - 1:
        order, ends = order[:-1], ends[:-1]
    if kind == "candidates":
        judged = judged_credit(list(values[order]), opts, token_ids, rule.credit)
        return {**judged, "reward": judged.pop("score"), "ends": ends}
    x = values[order]
    u = _utility(opts, "the layout-A reward manager")
    if x.size:
        credits = ss.semivalue(u, x[None, :], rule.credit)[0]
        reward = float(ss.value(u, x[None, :])[0])
    else:
        credits, reward = x, float(opts["empty_value"])
    return {"phi": [float(v) for v in credits], "ends": ends, "reward": reward}


def _make_reward_manager():
    try:
        from verl.experimental.reward_loop.reward_manager import register as register_manager
        from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager
    except ImportError:  # pragma: no cover - older/newer verl without the reward loop
        return None

    class ShapleyRewardManager(NaiveRewardManager):
        """verl reward manager ``"shapley"``: per-candidate scores through ``reward_extra_info``.

        Its ``compute_score`` returns, per response, a dict with ``"score"``
        (the set reward, logged as usual) and the candidates as
        :func:`candidate_record` reads them: ``"candidate_scores"`` (or
        ``"shapley_values"``) and, unless the config key ``shapley.spans``
        names a parser, ``"candidate_spans"`` (character spans in the
        response text) or ``"candidate_ends"`` (token positions). The manager
        maps spans to the response's tokens, computes the Shapley values,
        and replaces those keys in ``reward_extra_info`` by one JSON string
        under :data:`CANDIDATES_KEY`; the reward score stays a float, so the
        result fits every verl reward path. With ``"candidates"`` (objects
        for the judge ``shapley.judge``) the judge runs off the event loop,
        the reward score becomes the judge's value of the set, and
        ``reward_extra_info`` gains ``judge_calls``. The trainers of
        :mod:`shapley_sets.integrations.verl_trainer` write it into
        ``rm_scores`` before the advantage step. A plain float score keeps
        verl's behaviour.

        Examples:
            See docs/guides/verl.md; tested with verl's own
            ``NaiveRewardManager.run_single`` in tests/test_integration_verl_layout_a.py.
        """

        async def run_single(self, data: Any) -> dict:
            result = await super().run_single(data)
            extra = result["reward_extra_info"]
            if not any(key in extra for key in CANDIDATE_KEYS):
                return result
            item = data[-1:][0]
            response_ids = item.batch["responses"]
            valid = int(item.batch["attention_mask"][-response_ids.shape[-1] :].sum())
            ids = response_ids[:valid].tolist()
            # verl annotates the tokenizer as AutoTokenizer (a factory without
            # decode); the instance is a PreTrainedTokenizer.
            tokenizer: Any = self.tokenizer
            text = tokenizer.decode(ids, skip_special_tokens=True)
            algorithm = self.config.get("algorithm")
            kept = {key: v for key, v in extra.items() if key not in CANDIDATE_KEYS}
            score = float(result["reward_score"])
            if "candidates" in extra:
                # A judge may take seconds: off the event loop, as verl runs compute_score.
                record = await self.loop.run_in_executor(
                    None, lambda: candidate_record(extra, ids, text, tokenizer, algorithm)
                )
                score = record.pop("score")
                kept["judge_calls"] = float(record["judge_calls"])
            else:
                record = candidate_record(extra, ids, text, tokenizer, algorithm)
            kept[CANDIDATES_KEY] = json.dumps(record)
            return {**result, "reward_score": score, "reward_extra_info": kept}

    register_manager("shapley")(ShapleyRewardManager)
    return ShapleyRewardManager


ShapleyRewardManager = _make_reward_manager()
