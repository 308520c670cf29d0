"""The reference engine: exact rational checks, classic games, batching, caps."""

import time
from fractions import Fraction
from math import comb

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import shapley_sets as ss
from shapley_sets.engines.reference import shapley_weights
from shapley_sets.testing import TableGame, assert_axioms, value_tables

from exact import rational_shapley, table_of


@pytest.mark.parametrize("k", [1, 2, 3, 7, 16, 25, 40, 171, 1000])
def test_size_weights_match_exact_binomials(k):
    w = shapley_weights(k)
    exact = [Fraction(1, k * comb(k - 1, s)) for s in range(k)]
    assert np.isfinite(w).all() and (w > 0).all()
    rel = [abs(Fraction(float(a)) - b) / b for a, b in zip(w, exact)]
    assert max(rel) <= k * 2.0**-52


@given(value_tables(k=st.integers(0, 8), batch_shape=st.just(()), integer=True))
def test_exact_shapley_matches_rational_arithmetic(table):
    phi = ss.exact_shapley(table)
    exact = rational_shapley(table.tolist())
    scale = max(1.0, float(np.abs(table).max()))
    assert phi.shape == (len(exact),)
    for got, want in zip(phi, exact):
        assert abs(Fraction(float(got)) - want) <= Fraction(1e-12) * scale


@given(value_tables(k=st.integers(1, 6)))
def test_reference_engine_satisfies_axioms(table):
    game = TableGame(table)
    x = np.zeros(table.shape[:-1] + (game.k,))
    assert_axioms(ss.reference_shapley, game, x, rtol=1e-12)


def test_exact_shapley_is_batched_over_leading_axes():
    rng = np.random.default_rng(0)
    tables = rng.normal(size=(3, 2, 1 << 5))
    phi = ss.exact_shapley(tables)
    assert phi.shape == (3, 2, 5)
    for idx in np.ndindex(3, 2):
        np.testing.assert_allclose(phi[idx], ss.exact_shapley(tables[idx]), rtol=0, atol=0)


def test_empty_game_has_no_players():
    assert ss.exact_shapley(np.zeros((4, 1))).shape == (4, 0)


# -- classic games with published Shapley values ---------------------------

def test_glove_game():
    # Glove game: players 0 and 1 own a left glove, player 2 a right glove; a
    # pair is worth 1. Published values (1/6, 1/6, 2/3): e.g. Wikipedia,
    # "Shapley value", section "Glove game"; Maschler, Solan & Zamir, Game
    # Theory (2013), ch. 18.
    table = table_of(3, lambda s: float(bool(s & {0, 1}) and 2 in s))
    np.testing.assert_allclose(ss.exact_shapley(table), [1 / 6, 1 / 6, 2 / 3], rtol=1e-15)


def test_owner_and_workers_game():
    # Business game: an owner (player 0) and m workers, each worker adds p to
    # a firm with the owner; without the owner nothing is produced. Published
    # values: owner m*p/2, each worker p/2 (Wikipedia, "Shapley value",
    # section "Business example").
    m, p = 6, 3.0
    table = table_of(m + 1, lambda s: p * (len(s) - 1) if 0 in s else 0.0)
    phi = ss.exact_shapley(table)
    np.testing.assert_allclose(phi, [m * p / 2] + [p / 2] * m, rtol=1e-14)


def test_un_security_council():
    # Shapley & Shubik (1954), "A method for evaluating the distribution of
    # power in a committee system", APSR 48(3): a resolution needs all 5
    # permanent members and at least 4 of the 10 others. Published power
    # indices: 0.1963 per permanent member, 0.001865 per non-permanent one.
    # Exactly: a non-permanent member is pivotal after all 5 permanent and 3
    # of the 9 other members, C(9,3) 8! 6! / 15! = 4/2145.
    def passes(s):
        return float({0, 1, 2, 3, 4} <= s and len(s - {0, 1, 2, 3, 4}) >= 4)

    phi = ss.exact_shapley(table_of(15, passes))
    np.testing.assert_allclose(phi[5:], 4 / 2145, rtol=1e-12)
    np.testing.assert_allclose(phi[:5], (1 - 10 * 4 / 2145) / 5, rtol=1e-12)
    assert round(phi[0], 4) == 0.1963 and round(phi[5], 6) == 0.001865


def test_airport_game_closed_form():
    # The airport game (Littlechild & Owen 1973): each step of the runway
    # is shared by the players who need it. Best-of is this game.
    x = np.array([1.0, 3.0, 6.0])
    want = [1 / 3, 1 / 3 + 2 / 2, 1 / 3 + 2 / 2 + 3 / 1]
    np.testing.assert_allclose(ss.reference_shapley(ss.BestOf(), x), want, rtol=1e-15)


# -- caps and bad input ----------------------------------------------------

def test_cap_refuses_huge_table_instantly():
    view = np.broadcast_to(np.zeros(1), (1 << 30,))
    assert not view.flags.writeable
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"cap of 25.*8 GiB"):
        ss.exact_shapley(view)
    assert time.perf_counter() - start < 1.0  # refused before any copy (not a benchmark)


def test_cap_refuses_reference_on_large_k():
    with pytest.raises(ValueError, match=r"K = 26 .*cap of 25.*0.5 GiB"):
        ss.reference_shapley(ss.BestOf(), np.zeros(26))


def test_table_length_must_be_power_of_two():
    with pytest.raises(ValueError, match=r"table's last axis must have length 2\*\*K.*got 6"):
        ss.exact_shapley(np.zeros(6))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_table_non_finite_names_set_and_position(bad):
    table = np.zeros((2, 3, 4))
    table[1, 2, 3] = bad
    with pytest.raises(ValueError, match=r"table must be finite.*set \(1, 2\), candidate 3"):
        ss.exact_shapley(table)


@pytest.mark.parametrize(
    "table, exc",
    [
        (np.zeros(4, dtype=complex), TypeError),
        (np.array([0, 1, 2, "x"], dtype=object), TypeError),
        (np.array(["a", "b"]), TypeError),
        (np.float64(1.0), ValueError),
    ],
)
def test_table_bad_types(table, exc):
    with pytest.raises(exc, match="table"):
        ss.exact_shapley(table)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32, np.bool_])
def test_table_dtypes_are_upcast(dtype):
    table = np.array([0, 1, 1, 1]).astype(dtype)
    phi = ss.exact_shapley(table)
    assert phi.dtype == np.float64
    np.testing.assert_allclose(phi, [0.5, 0.5])


def test_exact_shapley_leaves_input_untouched():
    table = np.arange(16, dtype=np.float64)
    before = table.copy()
    ss.exact_shapley(table)
    np.testing.assert_array_equal(table, before)
