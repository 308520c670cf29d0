"""verl integration: Shapley GRPO advantage estimators for verl's registry.

Importing this module registers two estimators with verl's
``register_adv_est`` (:func:`register` does the same and is idempotent):

- ``"shapley_grpo"`` (layout A, MATH.md §7): each response is a set of
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
estimator refuses. In verl 0.9.1 per-token scores reach ``rm_scores`` through
a reward manager's ``assemble_rm_scores`` (the batch reward loop; see
:class:`ShapleyRewardManager` and docs/guides/verl.md).

Options come from ``config.get("shapley")`` (Hydra:
``+algorithm.shapley.beta=0.5``), falling back to :func:`register`'s
keyword arguments, falling back to the defaults ``beta=1.0``,
``tau="within"``, ``empty_value=0.0``. Layout B needs a utility: the config
key ``utility`` (``"best_of"``, ``"any_success"``, ``"top_k"``,
``"additive"``) with ``utility_kwargs``, or a utility object passed to
:func:`register`. ``norm_adv_by_std_in_grpo`` (default True) picks
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

from collections.abc import Mapping

import numpy as np
import torch
from verl.trainer.ppo import core_algos

import shapley_sets as ss
from shapley_sets._jit import njit
from shapley_sets._validation import as_bool_mask
from shapley_sets.adapters.arrays import to_numpy
from shapley_sets.grpo import PRESETS, candidate_advantages, completion_advantages, set_advantages, token_advantages

__all__ = [
    "ESTIMATORS",
    "UTILITIES",
    "register",
    "encode_token_rewards",
    "decode_token_rewards",
    "shapley_grpo_advantage",
    "shapley_completion_advantage",
    "ShapleyRewardManager",
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

_KEYS = ("beta", "tau", "empty_value", "utility", "utility_kwargs")
_DEFAULTS = {"beta": 1.0, "tau": "within", "empty_value": 0.0, "utility": None, "utility_kwargs": None}
_python_options: dict = {}


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


def _scale(config) -> str:
    norm = True if config is None else config.get("norm_adv_by_std_in_grpo", True)
    return "group" if norm else "none"


def _check_index(index, n):
    if index is None:
        raise ValueError(
            "index (verl's uid array) is required: the Shapley estimators group responses by prompt"
        )
    if len(index) != n:
        raise ValueError(f"index must hold one uid per response ({n}), got {len(index)}")


def _utility(opts):
    u = opts["utility"]
    if u is None:
        raise ValueError(
            "shapley_completion needs a set utility: set algorithm.shapley.utility to one of "
            f"{sorted(UTILITIES)} (with algorithm.shapley.utility_kwargs), or call "
            "register(utility=ss.BestOf())"
        )
    if isinstance(u, str):
        if u not in UTILITIES:
            raise ValueError(f"algorithm.shapley.utility must be one of {sorted(UTILITIES)}, got {u!r}")
        kwargs = opts["utility_kwargs"] or {}
        return UTILITIES[u](**dict(kwargs))
    return u


def encode_token_rewards(shapley_values, candidate_ids, response_mask=None):
    """Write layout-A candidates into a verl ``token_level_rewards`` tensor.

    Args:
        shapley_values: (N, K) Shapley values φ (``ss.shapley(u, x)``);
            entries of candidates that own no token are ignored.
        candidate_ids: (N, T) ints in [-1, K): the candidate of each
            response token, -1 for none. Each candidate's tokens must be one
            contiguous span and spans must come in increasing candidate
            order (candidate 0 first).
        response_mask: optional (N, T) mask; padding ids are ignored.

    Returns:
        (N, T) float32 tensor: φ_k on candidate k's last token (``-0.0`` if
        φ_k == 0), ``+0.0`` elsewhere.

    Raises:
        ValueError: shapes, ids out of range, a candidate split into
            several spans or out of order, non-finite φ.

    Examples:
        >>> encode_token_rewards([[1.0, 2.0]], [[-1, 0, 0, 1]])
        tensor([[0., 0., 1., 2.]])
    """
    phi = np.asarray(to_numpy(shapley_values), dtype=np.float64)
    ids = np.asarray(to_numpy(candidate_ids))
    if ids.ndim != 2 or ids.dtype.kind not in "iu":
        raise ValueError(f"candidate_ids must be an (N, T) integer array, got {ids.dtype} {ids.shape}")
    n, t = ids.shape
    if phi.ndim != 2 or phi.shape[0] != n:
        raise ValueError(f"shapley_values must have shape ({n}, K), got {phi.shape}")
    k = phi.shape[1]
    if response_mask is not None:
        m = np.asarray(to_numpy(response_mask))
        if m.shape != ids.shape:
            raise ValueError(f"response_mask must have shape {ids.shape}, got {m.shape}")
        ids = np.where(m != 0, ids, -1)
    bad = (ids < -1) | (ids >= k)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"candidate_ids must lie in [-1, {k}); found {ids[i, j]} at response {i}, token {j}")
    out = np.zeros((n, t), dtype=np.float32)
    for i in range(n):
        pos = np.flatnonzero(ids[i] >= 0)
        if pos.size == 0:
            continue
        cid = ids[i, pos]
        # A new span starts where the id changes or a gap (-1 token) intervenes.
        starts = np.ones(pos.size, dtype=bool)
        starts[1:] = (cid[1:] != cid[:-1]) | (pos[1:] != pos[:-1] + 1)
        span_ids = cid[starts]
        if np.any(np.diff(span_ids) <= 0):
            raise ValueError(
                f"response {i}: each candidate's tokens must form one contiguous span and the "
                f"spans must come in increasing candidate order; got span order {span_ids.tolist()}"
            )
        ends = np.append(np.flatnonzero(starts)[1:] - 1, pos.size - 1)
        vals = phi[i, span_ids]
        if not np.all(np.isfinite(vals)):
            raise ValueError(f"shapley_values must be finite; response {i} has {vals.tolist()}")
        v32 = vals.astype(np.float32)
        # -0.0 marks a candidate whose value is exactly 0: it adds nothing to the row sum.
        out[i, pos[ends]] = np.where(v32 == 0, np.float32(-0.0), v32)
    return torch.from_numpy(out)


@njit(cache=True)
def _is_mark(v):
    # A mark is any nonzero value or -0.0 (a candidate whose value is exactly 0).
    return v != 0.0 or np.signbit(v)


@njit(cache=True)
def _count_marks(r, valid, use_valid, counts):
    n, t = r.shape
    for i in range(n):
        c = 0
        for j in range(t):
            if (not use_valid or valid[i, j]) and _is_mark(r[i, j]):
                c += 1
        counts[i] = c


@njit(cache=True)
def _decode_marks(r, valid, use_valid, counts, ids, phi):
    n, t = r.shape
    for i in range(n):
        c = 0
        for j in range(t):
            ok = not use_valid or valid[i, j]
            if not ok or c >= counts[i]:
                ids[i, j] = -1
            else:
                ids[i, j] = c
                if _is_mark(r[i, j]):
                    phi[i, c] = r[i, j] + 0.0  # -0.0 marks become 0.0
                    c += 1


def decode_token_rewards(token_level_rewards, response_mask=None):
    """Read candidates back from a tensor written by :func:`encode_token_rewards`.

    Args:
        token_level_rewards: (N, T) float tensor or array.
        response_mask: optional (N, T); marks on padding are ignored.

    Returns:
        ``(phi, present, candidate_ids)``: (N, K) float64 Shapley values,
        (N, K) bool mask of real candidates (K = most marks in a row), and
        (N, T) int64 ids (-1 = no candidate), all numpy.

    Examples:
        >>> phi, present, ids = decode_token_rewards(encode_token_rewards([[0.5, 0.0]], [[-1, 0, 1, -1]]))
        >>> phi, present, ids
        (array([[0.5, 0. ]]), array([[ True,  True]]), array([[ 0,  0,  1, -1]]))
    """
    r = to_numpy(token_level_rewards)
    if r.ndim != 2:
        raise ValueError(f"token_level_rewards must have shape (N, T), got {r.shape}")
    r32 = np.ascontiguousarray(r, dtype=np.float32)
    if response_mask is None:
        valid = np.ones((1, 1), dtype=np.bool_)
    else:
        valid = np.ascontiguousarray(as_bool_mask(to_numpy(response_mask), "response_mask",
                                                  meaning="a response token"))
        if valid.shape != r.shape:
            raise ValueError(f"response_mask must have shape {r.shape}, got {valid.shape}")
    counts = np.zeros(r.shape[0], dtype=np.int64)
    ids = np.empty(r.shape, dtype=np.int64)
    _count_marks(r32, valid, response_mask is not None, counts)
    k = max(int(counts.max()) if counts.size else 0, 1)
    phi = np.zeros((r.shape[0], k))
    _decode_marks(r32, valid, response_mask is not None, counts, ids, phi)
    present = np.arange(k)[None, :] < counts[:, None]
    return phi, present, ids


def shapley_grpo_advantage(
    token_level_rewards, response_mask, index=None, config=None, epsilon=1e-6, **kwargs
):
    """verl estimator ``"shapley_grpo"`` (layout A) on encoded token rewards.

    Args:
        token_level_rewards: (N, T) tensor in the encoding of
            :func:`encode_token_rewards`.
        response_mask: (N, T) tensor.
        index: (N,) uid array (verl's ``non_tensor_batch["uid"]``).
        config: verl's algorithm config (``.get``): ``norm_adv_by_std_in_grpo``
            and the ``shapley`` section (beta, tau, empty_value).
        epsilon: verl's ε.
        **kwargs: whatever else verl passes; ignored.

    Returns:
        ``(advantages, returns)``, both the same (N, T) float32 tensor on the
        input's device, zero on padding, as verl's GRPO estimator returns.

    Raises:
        ValueError: no ``index``, ``use_kl_in_reward`` set, bad options.

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
    _check_index(index, n)
    opts = _options(config)
    mask_np = to_numpy(response_mask)
    phi, present, ids = decode_token_rewards(token_level_rewards, mask_np)
    # The set reward follows from efficiency: R = Σφ + U(∅).
    R = phi.sum(axis=1) + float(opts["empty_value"])
    common = dict(scale=_scale(config), eps=float(epsilon), ddof=1, singleton=PRESETS["verl"]["singleton"])
    cand = candidate_advantages(
        R, phi, index, beta=float(opts["beta"]), tau=opts["tau"], empty_value=opts["empty_value"],
        mask=present, efficiency_rtol=None, **common,
    )
    sa = set_advantages(R, index, **common)
    tok = token_advantages(cand, sa, ids, mask_np, candidate_mask=present)
    out = torch.from_numpy(tok.astype(np.float32)).to(token_level_rewards.device)
    return out, out


def shapley_completion_advantage(
    token_level_rewards, response_mask, index=None, config=None, epsilon=1e-6, **kwargs
):
    """verl estimator ``"shapley_completion"`` (layout B): a uid's responses form one set.

    Each response's score is its row sum of ``token_level_rewards`` (verl's
    outcome reward); :func:`shapley_sets.grpo.completion_advantages` turns the
    scores of each uid into advantages under the configured utility, and
    every valid token of a response gets its response's advantage.

    Args:
        token_level_rewards, response_mask, index, config, epsilon, **kwargs:
            as verl passes them (see :func:`shapley_grpo_advantage`); the
            utility comes from ``config.shapley.utility`` or :func:`register`.

    Returns:
        ``(advantages, returns)``: the same (N, T) float32 tensor twice.

    Raises:
        ValueError: no utility configured, no ``index``, scores outside the
            utility's domain.

    Examples:
        >>> import torch
        >>> tlr = torch.tensor([[0.0, 1.0], [0.0, 0.0], [0.5, 0.0]])
        >>> cfg = {"shapley": {"utility": "best_of"}}
        >>> shapley_completion_advantage(tlr, torch.ones(3, 2), np.array([0, 0, 0]), cfg)[0][:, 0]
        tensor([ 1.0911, -0.8729, -0.2182])
    """
    n = token_level_rewards.shape[0]
    _check_index(index, n)
    opts = _options(config)
    u = _utility(opts)
    scores = token_level_rewards.detach().sum(dim=-1).double().cpu().numpy()
    adv = completion_advantages(
        u, scores, index, eps=float(epsilon), ddof=1, scale=_scale(config),
        singleton=PRESETS["verl"]["singleton"],
    )
    adv_t = torch.from_numpy(adv.astype(np.float32)).to(token_level_rewards.device)
    out = adv_t.unsqueeze(-1) * response_mask.to(adv_t.dtype)
    return out, out


_FUNCS = {"shapley_grpo": shapley_grpo_advantage, "shapley_completion": shapley_completion_advantage}


def register(**options) -> tuple[str, ...]:
    """Register the estimators with verl (idempotent) and set Python-side defaults.

    Args:
        **options: defaults for ``beta``, ``tau``, ``empty_value``,
            ``utility`` (a utility object or a name of :data:`UTILITIES`) and
            ``utility_kwargs``; the algorithm config's ``shapley`` section
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


def _make_reward_manager():
    try:
        from verl.experimental.reward_loop.reward_manager import register as register_manager
        from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager
    except ImportError:  # pragma: no cover - older/newer verl without the reward loop
        return None

    class ShapleyRewardManager(NaiveRewardManager):
        """verl reward manager ``"shapley"``: per-candidate scores into ``rm_scores``.

        The ``compute_score`` function returns, per response, a dict with
        ``"score"`` (the set reward R, logged as usual), ``"shapley_values"``
        (K floats, e.g. ``ss.shapley(u, x).tolist()``) and
        ``"candidate_ends"`` (K ints: the index of each candidate's last
        token within the response, increasing). :meth:`assemble_rm_scores`
        (run on the driver by verl's batch reward loop) writes them in the
        encoding of :func:`encode_token_rewards`; a plain float score keeps
        verl's behaviour (the score on the last valid token).

        Examples:
            >>> import types, torch
            >>> data = types.SimpleNamespace(batch={  # a prompt of 2 tokens, a response of 4 (+1 padding)
            ...     "prompts": torch.zeros(1, 2, dtype=torch.long),
            ...     "responses": torch.zeros(1, 5, dtype=torch.long),
            ...     "attention_mask": torch.tensor([[1, 1, 1, 1, 1, 1, 0]])})
            >>> scores = [{"score": 0.9, "shapley_values": [0.6, 0.3], "candidate_ends": [1, 3]}]
            >>> rm_scores = ShapleyRewardManager.assemble_rm_scores(data, scores)
            >>> rm_scores
            tensor([[0.0000, 0.6000, 0.0000, 0.3000, 0.0000]])
            >>> decode_token_rewards(rm_scores, torch.ones(1, 5))[2]  # the candidate of each token
            array([[ 0,  0,  1,  1, -1]])
        """

        async def run_single(self, data):
            result = await super().run_single(data)
            extra = result["reward_extra_info"]
            if "shapley_values" in extra or "candidate_ends" in extra:
                record = {
                    "score": float(result["reward_score"]),
                    "shapley_values": [float(v) for v in extra.pop("shapley_values")],
                    "candidate_ends": [int(v) for v in extra.pop("candidate_ends")],
                }
                result = {**result, "reward_score": record}
            return result

        @classmethod
        def assemble_rm_scores(cls, data, scores):
            prompt_length = data.batch["prompts"].size(1)
            valid = data.batch["attention_mask"][:, prompt_length:].sum(dim=1)
            t = data.batch["responses"].size(1)
            out = torch.zeros((len(scores), t), dtype=torch.float32)
            for i, s in enumerate(scores):
                if not isinstance(s, Mapping):
                    out[i, int(valid[i]) - 1] = float(s)
                    continue
                ends, phi = list(s["candidate_ends"]), list(s["shapley_values"])
                if len(ends) != len(phi):
                    raise ValueError(
                        f"response {i}: {len(phi)} shapley_values but {len(ends)} candidate_ends"
                    )
                if any(b <= a for a, b in zip(ends, ends[1:])) or (ends and not 0 <= ends[0]) or (
                    ends and ends[-1] >= int(valid[i])
                ):
                    raise ValueError(
                        f"response {i}: candidate_ends must increase within [0, {int(valid[i])}), got {ends}"
                    )
                ids = np.full((1, t), -1, dtype=np.int64)
                start = 0
                for k, e in enumerate(ends):
                    ids[0, start : e + 1] = k
                    start = e + 1
                out[i] = encode_token_rewards(np.array([phi], dtype=np.float64).reshape(1, -1), ids)[0]
            return out.to(data.batch["responses"].device)

    register_manager("shapley")(ShapleyRewardManager)
    return ShapleyRewardManager


ShapleyRewardManager = _make_reward_manager()
