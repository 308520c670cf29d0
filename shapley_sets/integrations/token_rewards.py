"""The layout-A encoding of candidates in per-token rewards, shared by the
verl and SkyRL integrations (torch and numpy only; neither trainer is imported).

verl and SkyRL call an advantage estimator with ``token_level_rewards``,
``response_mask`` and the prompt ids, and nothing else per sample, so the
candidates of each response travel inside ``token_level_rewards``:

- the last token of candidate k holds its credit (its Shapley value φ_k for
  the Shapley rule), written as ``-0.0`` when it is exactly 0, so every
  candidate leaves a mark;
- every other token holds ``+0.0``;
- candidate k owns the tokens after the previous mark up to its own mark;
  tokens after the last mark belong to no candidate.

The marginal rule's encoding has one more mark, on the response's last
token, holding R − Σc (:func:`rm_scores_from_records` writes it from records
with a ``"reward"``), so that a row always sums to the set reward R.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from shapley_sets._typing import ArrayIn
from shapley_sets.adapters.arrays import to_numpy
from shapley_sets.grpo import CreditRule, set_advantages
from shapley_sets.grpo._checks import response_keep
from shapley_sets.grpo._groups import Groups
from shapley_sets.grpo.advantages import _shapley_form

from ._marks import expand_marks, mark_ids, read_marks

__all__ = ["encode_token_rewards", "decode_token_rewards", "rm_scores_from_records", "layout_a_advantages"]


def _check_index(index: Any, n: int, what: str) -> None:
    """The prompt ids a trainer passes its estimator (``what`` names them):
    given, one per response."""
    if index is None:
        raise ValueError(f"index ({what}) is required: the Shapley estimators group responses by prompt")
    if len(index) != n:
        raise ValueError(f"index must hold one uid per response ({n}), got {len(index)}")


def _as_marks(values: np.ndarray) -> np.ndarray:
    """float64 ``values`` as marks: ``-0.0`` wherever float32, the trainers'
    reward dtype, would make them 0 (an exact 0, or a value too small for
    float32), so that every candidate still leaves a mark and adds nothing
    to the row sum; the other values as they are."""
    return np.where(values.astype(np.float32) == 0, -0.0, values)


def encode_token_rewards(
    shapley_values: ArrayIn, candidate_ids: ArrayIn, response_mask: ArrayIn | None = None
) -> torch.Tensor:
    """Write layout-A candidates into a ``token_level_rewards`` tensor (verl, SkyRL).

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
            several spans or out of order, non-finite φ, a mask value
            other than 0/1 or a ragged nested list.

    Examples:
        >>> encode_token_rewards([[1.0, 2.0]], [[-1, 0, 0, 1]])
        tensor([[0., 0., 1., 2.]])
    """
    phi = np.asarray(to_numpy(shapley_values, "shapley_values"), dtype=np.float64)
    ids = np.asarray(to_numpy(candidate_ids, "candidate_ids"))
    if ids.ndim != 2 or ids.dtype.kind not in "iu":
        raise ValueError(f"candidate_ids must be an (N, T) integer array, got {ids.dtype} {ids.shape}")
    n, t = ids.shape
    if phi.ndim != 2 or phi.shape[0] != n:
        raise ValueError(f"shapley_values must have shape ({n}, K), got {phi.shape}")
    k = phi.shape[1]
    if response_mask is not None:
        m = np.asarray(to_numpy(response_mask, "response_mask"))
        if m.shape != ids.shape:
            raise ValueError(f"response_mask must have shape {ids.shape}, got {m.shape}")
        ids = np.where(response_keep(m), ids, -1)
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
        out[i, pos[ends]] = _as_marks(vals)
    return torch.from_numpy(out)


def decode_token_rewards(
    token_level_rewards: ArrayIn, response_mask: ArrayIn | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    marks = _finite_marks(token_level_rewards, response_mask)
    return marks.phi, marks.present, mark_ids(marks)


def _finite_marks(token_level_rewards, response_mask):
    """:func:`read_marks`, refusing a mark that is not finite (NaN would read
    as a missing set reward, advantage 0, silently)."""
    marks = read_marks(token_level_rewards, response_mask)
    if marks.nonfinite >= 0:
        i, c = divmod(marks.nonfinite, marks.phi.shape[1])
        raise ValueError(
            f"token_level_rewards must be finite; found {marks.phi[i, c]} at response {i}, token "
            f"{int(marks.ends[i, c])} (candidate {c})"
        )
    return marks


def rm_scores_from_records(rm_scores: torch.Tensor, lengths: Any, records: Sequence[str | dict | None]) -> torch.Tensor:
    """``rm_scores`` with each row that has a candidate record rewritten in the layout-A encoding.

    Args:
        rm_scores: (N, T) float tensor (the trainer's scores, padded).
        lengths: (N,) valid response lengths.
        records: N JSON strings from :data:`CANDIDATES_KEY` (or the dicts
            they hold), None for a response without candidates (its row is
            kept as it is: one mark on its last token, a set of one; in the
            marginal encoding, a set of none with reward R). A record with a
            ``"reward"`` R (the marginal rule's) gains one more mark, R − Σc
            on the response's last token.

    Returns:
        A new (N, T) float32 tensor.

    Raises:
        ValueError: a record whose ends lie past its response, or malformed.

    Examples:
        >>> import torch
        >>> rm_scores_from_records(torch.tensor([[0.0, 0.0, 0.9], [0.0, 0.3, 0.0]]), [3, 2],
        ...                        ['{"phi": [0.5, 0.4], "ends": [0, 2]}', None])
        tensor([[0.5000, 0.0000, 0.4000],
                [0.0000, 0.3000, 0.0000]])
        >>> rm_scores_from_records(torch.zeros(1, 4), [4], [{"phi": [0.5, 0.0], "ends": [0, 2], "reward": 0.9}])
        tensor([[0.5000, 0.0000, -0.0000, 0.4000]])
    """
    out = rm_scores.detach().to(torch.float32).clone()
    n, t = out.shape
    lengths = np.asarray(to_numpy(lengths, "lengths"), dtype=np.int64).reshape(-1)
    records = list(records)
    if len(records) != n or lengths.shape != (n,):
        raise ValueError(f"one record and one length per response: rm_scores has {n} rows, "
                         f"got {len(records)} records and {lengths.size} lengths")
    if n and (int(lengths.max()) > t or int(lengths.min()) < 0):
        i = int(np.flatnonzero((lengths > t) | (lengths < 0))[0])
        raise ValueError(f"response {i} has length {int(lengths[i])}, outside 0..{t} (rm_scores' width)")
    try:
        rows, flat_phi, flat_end, k_phi, k = _flat_records(records, lengths)
    except (TypeError, ValueError, KeyError, AttributeError):
        _explain_bad_record(records)  # names the record
        raise
    if not rows:
        return out
    row_of = np.repeat(np.asarray(rows, dtype=np.int64), k)
    # Checked all at once: equal counts, each row's ends increasing within its response, finite values.
    bad_rows = np.flatnonzero(k_phi != k)
    if bad_rows.size == 0:
        first = np.ones(flat_end.shape[0], dtype=bool)  # the first candidate of its row
        first[1:] = row_of[1:] != row_of[:-1]
        step_bad = ~first & (np.diff(flat_end, prepend=-1) <= 0)
        bad = step_bad | (flat_end < 0) | (flat_end >= lengths[row_of]) | ~np.isfinite(flat_phi)
        bad_rows = np.unique(row_of[bad])
    else:
        bad_rows = np.asarray(rows)[bad_rows]
    if bad_rows.size:
        i = int(bad_rows[0])
        raise ValueError(
            f"response {i}: candidate record {records[i]} does not fit a response of {int(lengths[i])} tokens"
        )
    # The encoding itself (see encode_token_rewards): each candidate's value on its last token
    # as a mark, +0.0 everywhere else.
    v = torch.from_numpy(_as_marks(flat_phi).astype(np.float32))
    out[rows] = 0.0
    out[torch.from_numpy(row_of), torch.from_numpy(flat_end)] = v.to(out.device)
    return out


def _flat_records(records: list, lengths: np.ndarray):
    """The rows with a record, their values and ends flattened, and the
    counts of each (unchecked: see :func:`rm_scores_from_records`)."""
    # The JSON strings are replaced by the dicts they hold, whose values are Any.
    parsed: list[Any] = list(records)
    strings = [i for i, rec in enumerate(parsed) if isinstance(rec, str)]
    if strings:  # one parse of all of them: json.loads per record costs more than the parsing
        for i, rec in zip(strings, json.loads("[" + ",".join([parsed[i] for i in strings]) + "]")):
            parsed[i] = rec
    rows = [i for i, rec in enumerate(parsed) if rec is not None]
    for i in rows:
        rec = parsed[i]
        if isinstance(rec, Mapping) and "reward" in rec:  # the marginal encoding's last mark: R − Σc
            rest = float(rec["reward"]) - float(np.sum(rec["phi"], dtype=np.float64))
            parsed[i] = {"phi": [*rec["phi"], rest], "ends": [*rec["ends"], int(lengths[i]) - 1]}
    phis = [parsed[i]["phi"] for i in rows]
    ends = [parsed[i]["ends"] for i in rows]
    k_phi = np.fromiter(map(len, phis), dtype=np.int64, count=len(rows))
    k = np.fromiter(map(len, ends), dtype=np.int64, count=len(rows))
    flat_phi = np.fromiter(itertools.chain.from_iterable(phis), dtype=np.float64, count=int(k_phi.sum()))
    # numpy infers the dtype here, so a fractional position is refused rather than truncated
    flat_end = np.array(list(itertools.chain.from_iterable(ends)), dtype=None if k.sum() else np.int64)
    if flat_end.ndim != 1 or flat_end.dtype.kind not in "iu":
        raise TypeError("ends must hold ints")
    return rows, flat_phi, flat_end.astype(np.int64, copy=False), k_phi, k


def _explain_bad_record(records: list) -> None:
    """Raise a ValueError naming the first record that is not of the form
    ``{"phi": [numbers], "ends": [ints], "reward"?: number}`` (JSON or dict)."""
    for i, rec in enumerate(records):
        if rec is None:
            continue
        if isinstance(rec, str):
            try:
                rec = json.loads(rec)
            except ValueError as exc:
                raise ValueError(f"response {i}: candidate record {rec!r:.80} is not valid JSON ({exc})") from None
        why = None
        if not isinstance(rec, Mapping) or "phi" not in rec or "ends" not in rec:
            why = 'it must be an object with lists "phi" and "ends"'
        elif not all(isinstance(rec[key], (list, tuple)) for key in ("phi", "ends")):
            why = '"phi" and "ends" must be lists'
        elif not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rec["phi"]):
            why = '"phi" must hold numbers'
        elif not all(isinstance(v, int) and not isinstance(v, bool) for v in rec["ends"]):
            why = '"ends" must hold token positions (ints)'
        elif "reward" in rec and (isinstance(rec["reward"], bool) or not isinstance(rec["reward"], (int, float))):
            why = '"reward" must be a number'
        if why is not None:
            raise ValueError(f"response {i}: candidate record {records[i]!r:.80} is malformed: {why}")


def layout_a_advantages(token_level_rewards: torch.Tensor, response_mask: Any, groups: Groups, rule: CreditRule, *,
                        scale: str, eps: float, ddof: int, singleton: str, empty_value: float,
                        step: int) -> torch.Tensor:
    """(N, T) float32 token advantages of ``rule`` at ``step`` from token
    rewards in the layout-A encoding (the Shapley encoding for
    ``rule.form == "shapley"``, whose set rewards follow from efficiency,
    R = Σφ + ``empty_value``; the marginal encoding otherwise), on the
    rewards' device. Options as for :func:`shapley_sets.grpo.set_advantages`
    (``scale`` "group" or "none").

    Examples:
        >>> import torch, shapley_sets as ss
        >>> from shapley_sets.grpo._groups import resolve_groups
        >>> tlr = encode_token_rewards([[0.6, 0.2], [0.1, 0.0]], [[0, 0, 1], [0, 1, -1]])
        >>> layout_a_advantages(tlr, torch.ones(2, 3), resolve_groups(["a", "a"], 2),
        ...                     ss.grpo.CreditRule("shapley", "shapley"), scale="group", eps=1e-6, ddof=1,
        ...                     singleton="reward", empty_value=0.0, step=0)
        tensor([[ 1.8953,  1.8953, -0.4811],
                [-0.4101, -1.0041, -0.7071]])
    """
    n = token_level_rewards.shape[0]
    marks = _finite_marks(token_level_rewards, response_mask)
    phi, present = marks.phi, marks.present
    if rule.form == "marginal":
        # The marginal encoding: the candidates' credits, then one mark holding R − Σc on the last
        # token, so the row sums to the set reward R and the last mark is no candidate.
        common: dict[str, Any] = dict(scale=scale, eps=eps, ddof=ddof, singleton=singleton)
        R = phi.sum(axis=1)
        rows = np.flatnonzero(marks.counts > 0)
        last = marks.counts[rows] - 1
        phi, present = phi.copy(), present.copy()
        phi[rows, last], present[rows, last] = 0.0, False
        cand = np.array(rule.from_credits(R, phi, groups.index, mask=present, step=step, **common))
        sa = set_advantages(R, groups.index, **common)
        cand[rows, last] = sa[rows]  # the tokens after the last candidate: no candidate's
    else:
        # The set reward follows from efficiency: R = Σφ + U(∅). What
        # rule.from_credits and set_advantages compute (the scales "group"
        # and "none"), on φ checked finite above, without converting and
        # grouping them again.
        R = phi.sum(axis=1) + empty_value
        cand, sa = _shapley_form(R, phi, present, np.full(n, empty_value), groups, rule.beta_at(step), rule.tau,
                                 scale == "group", eps, ddof, singleton)
    # Straight from the marks to float32 token advantages: token_advantages' result, cast.
    return torch.from_numpy(expand_marks(marks, cand, sa)).to(token_level_rewards.device)
