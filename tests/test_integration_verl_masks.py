"""The layout-A estimator's one-pass reading of masks: any mask shape, bad
values refused, and the same answer on every thread count."""

import numpy as np
import pytest

pytest.importorskip("verl", reason="verl is not installed (pip install 'shapley-sets[verl]')")
torch = pytest.importorskip("torch", reason="torch is not installed")

import numba  # noqa: E402

import shapley_sets as ss  # noqa: E402
import shapley_sets.integrations.verl as sv  # noqa: E402
from shapley_sets.engines import _kernels  # noqa: E402


def _batch(seed, n=24, t=40, holes=True):
    """Encoded rewards and a mask with left padding, right padding and (with
    ``holes``) masked tokens inside responses; 4 responses per uid."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((n, t), dtype=bool)
    for i in range(n):
        a = int(rng.integers(0, t // 3))
        b = int(rng.integers(a + 1, t + 1))
        mask[i, a:b] = True
    ids = np.full((n, t), -1)
    for i in range(n):
        pos = np.flatnonzero(mask[i])
        k = int(rng.integers(0, 5))
        cuts = np.sort(rng.choice(np.arange(1, pos.size + 1), size=min(k, pos.size), replace=False))
        start = 0
        for c, stop in enumerate(cuts):
            ids[i, pos[start:stop]] = c
            start = stop
    phi = rng.normal(size=(n, 5)).round(2)
    phi[rng.random(phi.shape) < 0.2] = 0.0
    uids = np.array([f"u{i // 4}" for i in range(n)], dtype=object)[rng.permutation(n)]
    tlr = sv.encode_token_rewards(phi, ids, mask)
    if holes:  # masked tokens inside responses, marks among them (those candidates join the next)
        mask[::3] &= rng.random((len(mask[::3]), t)) >= 0.2
    return tlr, mask, uids


def _composition(tlr, mask, uids):
    """The estimator's answer by the public functions, one step at a time."""
    phi, present, ids = sv.decode_token_rewards(tlr, mask)
    R = phi.sum(1)
    cand = ss.grpo.candidate_advantages(R, phi, uids, mask=present, efficiency_rtol=None, **ss.grpo.PRESETS["verl"])
    sa = ss.grpo.set_advantages(R, uids, **ss.grpo.PRESETS["verl"])
    return ss.grpo.token_advantages(cand, sa, ids, mask).astype(np.float32)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bool, torch.int64, torch.float64])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_any_mask_layout_matches_the_composition(dtype, seed):
    tlr, mask, uids = _batch(seed, holes=seed != 2)
    got, ret = sv.shapley_grpo_advantage(tlr, torch.from_numpy(mask).to(dtype), index=uids)
    assert got is ret and got.dtype == torch.float32
    np.testing.assert_array_equal(got.numpy(), _composition(tlr, mask, uids))
    assert (got.numpy()[~mask] == 0).all()


@pytest.mark.parametrize("dtype, bad", [(torch.float32, 0.5), (torch.float32, float("nan")),
                                        (torch.float32, 2.0), (torch.float32, -1.0), (torch.int64, 2),
                                        (torch.int64, -1), (torch.float64, -1.0)])
def test_a_mask_value_other_than_0_or_1_is_refused(dtype, bad):
    tlr, mask, uids = _batch(3)
    m = torch.from_numpy(mask).to(dtype)
    m[5, 7] = bad
    shown = "nan" if bad != bad else str(bad)
    with pytest.raises(ValueError, match=rf"response_mask must be boolean or hold only 0 and 1 .*found {shown} "
                                         r"at response 5, token 7"):
        sv.shapley_grpo_advantage(tlr, m, index=uids)


def test_a_non_finite_reward_on_a_response_token_is_refused():
    tlr, mask, uids = _batch(4)
    i, j = 2, int(np.flatnonzero(mask[2])[0])
    for value in (float("nan"), float("inf")):
        bad = tlr.clone()
        bad[i, j] = value
        with pytest.raises(ValueError, match=rf"token_level_rewards must be finite; found {value} at response {i}, token {j} \(candidate 0\)"):
            sv.shapley_grpo_advantage(bad, torch.from_numpy(mask), index=uids)


def test_the_answer_does_not_depend_on_the_thread_count(monkeypatch):
    # Tasks of 1,024 tokens: several parallel tasks on a small batch, rows of every kind.
    monkeypatch.setattr(_kernels, "TOKENS_PER_TASK", 1024)
    n = 4 * (1024 // 256) + 3
    tlr, mask, uids = _batch(5, n=n, t=256)
    before = numba.get_num_threads()
    answers = []
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            answers.append(sv.shapley_grpo_advantage(tlr, torch.from_numpy(mask), index=uids)[0])
    finally:
        numba.set_num_threads(before)
    for got in answers[1:]:
        assert torch.equal(got, answers[0])
    np.testing.assert_array_equal(answers[0].numpy(), _composition(tlr, mask, uids))


def _patterned_batch(t=37):
    """Rows of every mask shape the prefix test must tell apart: full, empty,
    right and left padding, a hole, alternating, one token first or last."""
    patterns = [np.ones(t, bool), np.zeros(t, bool), np.arange(t) < 20, np.arange(t) >= 5,
                (np.arange(t) < 30) & (np.arange(t) != 10), np.arange(t) % 2 == 0,
                np.arange(t) == 0, np.arange(t) == t - 1, np.arange(t) >= 1]
    mask = np.array([p for p in patterns for _ in range(2)])
    n = mask.shape[0]
    ids = np.where(mask, (np.arange(t)[None, :] * 3) // t, -1)
    phi = np.random.default_rng(9).normal(size=(n, 3))
    tlr = sv.encode_token_rewards(phi, np.where(np.ones_like(mask), (np.arange(t)[None, :] * 3) // t, -1))
    uids = np.array([f"u{i % 3}" for i in range(n)], dtype=object)
    return tlr, mask, uids


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.int32, torch.uint8, torch.bool])
def test_every_mask_shape_matches_the_composition(dtype):
    tlr, mask, uids = _patterned_batch()
    got, _ = sv.shapley_grpo_advantage(tlr, torch.from_numpy(mask).to(dtype), index=uids)
    np.testing.assert_array_equal(got.numpy(), _composition(tlr, mask, uids))
    assert (got.numpy()[~mask] == 0).all()


def test_a_float32_mask_reads_negative_zero_as_padding():
    tlr, mask, uids = _batch(6)
    m = torch.from_numpy(np.where(mask, 1.0, -0.0).astype(np.float32))
    got, _ = sv.shapley_grpo_advantage(tlr, m, index=uids)
    np.testing.assert_array_equal(got.numpy(), _composition(tlr, mask, uids))


@pytest.mark.parametrize("dtype, bad", [(torch.float32, float("inf")), (torch.float32, 1e-45),
                                        (torch.float32, 1.0 - 2.0 ** -24), (torch.float32, 1.0 + 2.0 ** -23),
                                        (torch.int64, -1), (torch.int64, 3), (torch.int32, 2)])
def test_a_mask_value_near_0_or_1_is_refused(dtype, bad):
    tlr, mask, uids = _batch(3)
    m = torch.from_numpy(mask).to(dtype)
    m[5, 7] = bad
    with pytest.raises(ValueError, match=r"response_mask must be boolean or hold only 0 and 1 .*at response 5, token 7"):
        sv.shapley_grpo_advantage(tlr, m, index=uids)


def _naive_marks(tlr, mask):
    """The marks of each row by a loop over tokens: values and positions."""
    bits = tlr.numpy().view(np.int32)
    rows = []
    for i in range(bits.shape[0]):
        pos = [j for j in range(bits.shape[1]) if bits[i, j] != 0 and mask[i, j]]
        rows.append((pos, [float(tlr[i, j]) + 0.0 for j in pos]))
    return rows


@pytest.mark.parametrize("t", [1, 7, 63, 64, 65, 130, 200])
@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.bool])
def test_marks_are_read_at_every_position(t, dtype):
    # Marks at word boundaries (63, 64, 127, 128), dense rows (more marks than
    # the first pass keeps), -0.0 marks, and marks on masked tokens, ignored.
    rng = np.random.default_rng(t)
    n = 12
    tlr = torch.zeros(n, t)
    dense = rng.random((n, t)) < np.linspace(0.02, 0.9, n)[:, None]
    for j in (63, 64, 127, 128):
        if j < t:
            dense[::2, j] = True
    values = rng.normal(size=(n, t)).astype(np.float32)
    values[rng.random((n, t)) < 0.1] = -0.0
    tlr[torch.from_numpy(dense)] = torch.from_numpy(values[dense])
    mask = rng.random((n, t)) < 0.85
    mask[1] = True
    phi, present, ids = sv.decode_token_rewards(tlr, torch.from_numpy(mask).to(dtype))
    naive = _naive_marks(tlr, mask)
    assert phi.shape[1] == max(1, max(len(p) for p, _ in naive))
    for i, (pos, vals) in enumerate(naive):
        k = len(pos)
        assert present[i].tolist() == [c < k for c in range(phi.shape[1])]
        assert phi[i, :k].tolist() == vals and (phi[i, k:] == 0).all()
        # Candidate c owns the valid tokens after mark c - 1 up to mark c.
        want = np.full(t, -1)
        start = 0
        for c, j in enumerate(pos):
            want[start:j + 1] = c
            start = j + 1
        want[~mask[i]] = -1
        np.testing.assert_array_equal(ids[i], want)


def test_the_first_non_finite_mark_is_named_and_padding_is_not_read():
    t = 30
    tlr = sv.encode_token_rewards(np.full((4, 3), 0.5), np.tile((np.arange(t) * 3) // t, (4, 1)))
    mask = np.ones((4, t), dtype=bool)
    mask[:, 25:] = False
    tlr[0, 27] = float("nan")  # padding: not a mark
    uids = np.array(["a", "a", "b", "b"], dtype=object)
    sv.shapley_grpo_advantage(tlr, torch.from_numpy(mask), index=uids)
    tlr[2, 19] = float("-inf")  # candidate 1's mark
    tlr[3, 9] = float("nan")
    with pytest.raises(ValueError, match=r"found -inf at response 2, token 19 \(candidate 1\)"):
        sv.shapley_grpo_advantage(tlr, torch.from_numpy(mask), index=uids)
