"""Check any attribution function against the Shapley axioms.

The checker builds the game's coalition table (small K) to find the
interchangeable pairs and null players *by definition*, then tests the
attribution's output on the given input. It reports every failure with the
axiom, the set and the candidates, so that it can run inside hypothesis tests
(``assert_axioms``) or interactively (``check_axioms``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from .._api import _prepare
from .._scalars import check_int, check_nonnegative_real
from .._typing import ArrayLike, Attribution
from .._validation import set_label
from ..engines.reference import MAX_REFERENCE_K, coalition_table
from ..utilities.base import Utility

__all__ = ["AxiomFailure", "AxiomReport", "AXIOMS", "SEMIVALUE_AXIOMS", "check_axioms",
           "assert_axioms"]

AXIOMS = ("efficiency", "symmetry", "null player", "additivity", "anonymity")

#: The axioms every semivalue satisfies (Banzhaf, leave-one-out, Beta...):
#: all but efficiency, which only the Shapley value has. Pass
#: ``axioms=SEMIVALUE_AXIOMS`` to check one.
SEMIVALUE_AXIOMS = ("symmetry", "null player", "additivity", "anonymity")

# Interchangeability and null players are read off the coalition table; the
# checker enumerates it, so it caps K lower than the reference engine.
MAX_CHECK_K = 12


@dataclass(frozen=True)
class AxiomFailure:
    """One violated axiom on one set (see :class:`AxiomReport`).

    Examples:
        >>> print(AxiomFailure("efficiency", "set 0", (0, 1), 1.0, 0.9, 1e-9))
        efficiency fails on set 0, candidate(s) 0, 1: expected 1.0, got 0.9 (tolerance 1e-09)
    """

    axiom: str
    set_index: str
    candidates: tuple
    expected: float
    got: float
    tolerance: float

    def __str__(self) -> str:
        who = ", ".join(str(c) for c in self.candidates)
        return (
            f"{self.axiom} fails on {self.set_index}, candidate(s) {who}: expected "
            f"{self.expected!r}, got {self.got!r} (tolerance {self.tolerance:.3g})"
        )


@dataclass
class AxiomReport:
    """What :func:`check_axioms` found. ``ok`` is True when nothing failed.

    Examples:
        >>> report = AxiomReport(checked=("efficiency", "symmetry"))
        >>> report.ok, str(report)
        (True, 'all axioms hold: efficiency, symmetry')
    """

    checked: tuple
    failures: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        if self.ok:
            return "all axioms hold: " + ", ".join(self.checked)
        lines = [f"{len(self.failures)} axiom failure(s):"]
        lines += [f"  - {f}" for f in self.failures[:20]]
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more")
        return "\n".join(lines)


def _permute_utility(u, perm):
    relabel = getattr(u, "permuted", None)
    return u if relabel is None else relabel(perm)


def check_axioms(
    attribution: Attribution,
    u: Utility,
    x: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    other: Utility | None = None,
    rtol: float = 1e-9,
    atol: float = 0.0,
    seed: int = 0,
    axioms: Iterable[str] = AXIOMS,
) -> AxiomReport:
    """Run ``attribution`` on ``(u, x, mask)`` and test the Shapley axioms.

    Args:
        attribution: any function ``attribution(u, x, mask=mask) -> phi`` with
            ``phi.shape == x.shape[:-core_ndim] + (K,)``, e.g. ``ss.shapley``
            or ``ss.reference_shapley`` or your own; one without a ``mask``
            keyword is called as ``attribution(u, x)``, which needs every
            candidate present.
        u: the utility (its ``coalition_values`` defines the game).
        x, mask: its input, as for :func:`shapley_sets.shapley`; K ≤ 12.
        other: a second utility with the same kind of input, for additivity
            (``phi(u + 2.5 v) = phi(u) + 2.5 phi(v)``); without it, additivity
            is checked on ``u - 2.5 u``.
        rtol, atol: a value passes when ``|got - expected| <= atol + rtol *
            scale``, where ``scale`` is the largest ``|U(S)|`` of the set (or 1
            when the game is all zeros).
        seed: seeds the candidate permutation of the anonymity check.
        axioms: the subset of ``AXIOMS`` to check; ``SEMIVALUE_AXIOMS`` (all
            but efficiency) for a semivalue other than Shapley.

    Returns:
        An :class:`AxiomReport`; ``report.ok`` tells whether all held.

    Raises:
        TypeError: ``rtol``/``atol`` not real numbers, ``seed`` not an int;
            ``u`` or ``x`` as for :func:`shapley_sets.shapley`; a ``mask``
            with absent candidates for an attribution without a ``mask``
            keyword.
        ValueError: negative or non-finite ``rtol``/``atol``, a negative
            ``seed``, an unknown axiom, or K > 12.

    Examples:
        >>> import shapley_sets as ss
        >>> from shapley_sets.testing import check_axioms
        >>> report = check_axioms(ss.shapley, ss.BestOf(), [[1.0, 1.0, 0.0]])
        >>> report.ok
        True
        >>> from shapley_sets.testing import SEMIVALUE_AXIOMS
        >>> check_axioms(ss.banzhaf, ss.BestOf(), [[1.0, 1.0, 0.0]], axioms=SEMIVALUE_AXIOMS).ok
        True
        >>> def winner_takes_all(u, x, mask=None):
        ...     x = np.asarray(x, dtype=float)
        ...     return np.where(x == x.max(-1, keepdims=True), x, 0.0)
        >>> print(check_axioms(winner_takes_all, ss.BestOf(), [[3.0, 3.0, 1.0]], axioms=["efficiency"]))
        1 axiom failure(s):
          - efficiency fails on set (0,), candidate(s) all: expected 3.0, got 6.0 (tolerance 9e-09)
    """
    if not callable(attribution):
        raise TypeError(
            "attribution must be a function attribution(u, x, mask=mask) -> phi, e.g. "
            f"ss.shapley; got {type(attribution).__name__}"
        )
    rtol = check_nonnegative_real("rtol", rtol)
    atol = check_nonnegative_real("atol", atol)
    seed = check_int("seed", seed, minimum=0)
    if isinstance(axioms, str):  # one axiom by name, not its letters
        axioms = (axioms,)
    axioms = tuple(axioms)
    unknown = set(axioms) - set(AXIOMS)
    if unknown:
        raise ValueError(f"axioms must be among {AXIOMS}, got {sorted(unknown)}")
    arr, full_mask = _prepare(u, x, mask)
    k = arr.shape[-1]
    if k > MAX_CHECK_K:
        raise ValueError(f"check_axioms enumerates coalitions: K must be <= {MAX_CHECK_K}, got {k}")
    batch = full_mask.shape[:-1]
    n = int(np.prod(batch, dtype=np.int64))
    table = coalition_table(u, arr, full_mask).reshape(n, 1 << k)
    scale = np.abs(table).max(axis=-1, initial=0.0)
    scale = np.where(scale > 0, scale, 1.0)
    tol = atol + rtol * scale

    attribution = _with_mask_keyword(attribution, mask is not None and not full_mask.all())
    phi = np.asarray(attribution(u, x, mask=mask), dtype=np.float64)
    expected_shape = batch + (k,)
    if phi.shape != expected_shape:
        raise ValueError(f"attribution returned shape {phi.shape}, expected {expected_shape}")
    phi2 = phi.reshape(n, k)
    report = AxiomReport(checked=tuple(axioms))
    fail = report.failures.append
    codes = np.arange(1 << k)

    for s in range(n):
        where = set_label(batch, s)
        t = table[s]
        if not np.isfinite(phi2[s]).all():
            bad = int(np.flatnonzero(~np.isfinite(phi2[s]))[0])
            fail(AxiomFailure("finiteness", where, (bad,), 0.0, float(phi2[s, bad]), float(tol[s])))
            continue
        if "efficiency" in axioms:
            gain = float(t[-1] - t[0])
            got = float(phi2[s].sum())
            if not abs(got - gain) <= tol[s] * max(1, k):
                fail(AxiomFailure("efficiency", where, ("all",), gain, got, float(tol[s] * max(1, k))))
        for i in range(k):
            without_i = codes[(codes >> i) & 1 == 0]
            if "null player" in axioms and np.array_equal(t[without_i | (1 << i)], t[without_i]):
                if not abs(phi2[s, i]) <= tol[s]:
                    fail(AxiomFailure("null player", where, (i,), 0.0, float(phi2[s, i]), float(tol[s])))
            if "symmetry" in axioms:
                for j in range(i + 1, k):
                    rest = without_i[(without_i >> j) & 1 == 0]
                    if np.array_equal(t[rest | (1 << i)], t[rest | (1 << j)]):
                        if not abs(phi2[s, i] - phi2[s, j]) <= tol[s]:
                            fail(AxiomFailure("symmetry", where, (i, j), float(phi2[s, i]),
                                              float(phi2[s, j]), float(tol[s])))

    if "anonymity" in axioms and k > 1:
        perm = np.random.default_rng(seed).permutation(k)
        x_perm = np.asarray(arr)[..., perm]
        mask_perm = full_mask[..., perm]
        phi_perm = np.asarray(
            attribution(_permute_utility(u, perm), x_perm, mask=mask_perm), dtype=np.float64
        ).reshape(n, k)
        _compare(fail, "anonymity", batch, phi2[:, perm], phi_perm, tol)

    if "additivity" in axioms:
        coef = 2.5
        v = u if other is None else other
        combined = u + coef * v if other is not None else u - coef * u
        phi_v = phi if other is None else np.asarray(attribution(v, x, mask=mask), dtype=np.float64)
        sign = coef if other is not None else -coef
        expected = phi2 + sign * phi_v.reshape(n, k)
        actual = np.asarray(attribution(combined, x, mask=mask), dtype=np.float64).reshape(n, k)
        _compare(fail, "additivity", batch, expected, actual, tol * (1 + coef))
    return report


def _with_mask_keyword(attribution, absent: bool):
    """``attribution``, or a wrapper dropping ``mask=`` where it takes no such
    keyword (then only while every candidate is present: the masks it is
    called with are None or all True)."""
    try:
        params = inspect.signature(attribution).parameters.values()
    except (TypeError, ValueError):  # no signature to read (some builtins): the documented one
        return attribution
    if any(p.kind is p.VAR_KEYWORD or (p.name == "mask" and p.kind is not p.POSITIONAL_ONLY) for p in params):
        return attribution
    name = getattr(attribution, "__name__", type(attribution).__name__)
    if absent:
        raise TypeError(
            f"attribution {name} takes no mask= keyword, but mask marks absent candidates; give it a "
            "mask=None keyword (absent candidates take no part and get 0)"
        )
    return lambda u, x, mask=None: attribution(u, x)


def _compare(fail, axiom, batch, want, got, tol):
    bad = ~(np.abs(want - got) <= tol[:, None])
    for s, i in zip(*np.nonzero(bad)):
        fail(AxiomFailure(axiom, set_label(batch, int(s)), (int(i),), float(want[s, i]),
                          float(got[s, i]), float(tol[s])))


def assert_axioms(attribution: Attribution, u: Utility, x: ArrayLike, **kwargs: Any) -> None:
    """:func:`check_axioms`, raising ``AssertionError`` with the report on failure.

    Examples:
        >>> import shapley_sets as ss
        >>> from shapley_sets.testing import assert_axioms
        >>> assert_axioms(ss.reference_shapley, ss.BestOf(floor=0.5), [0.2, 0.9, 0.9])
    """
    report = check_axioms(attribution, u, x, **kwargs)
    if not report.ok:
        raise AssertionError(str(report))
