"""shapley_sets.grpo with torch tensors: caller's type back, float32, same
device, no gradient tracking, and the same numbers as the numpy path."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import shapley_sets as ss  # noqa: E402
from shapley_sets.adapters.arrays import is_tensor, like, to_numpy  # noqa: E402
from shapley_sets.grpo import (  # noqa: E402
    PRESETS,
    candidate_advantages,
    completion_advantages,
    grpo_passk_advantages,
    passk_training_advantages,
    set_advantages,
    token_advantages,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def layout_a(seed, n=16, k=5):
    rng = np.random.default_rng(seed)
    x = rng.random((n, k))
    mask = rng.random((n, k)) < 0.8
    mask[:, 0] = True
    return ss.value(ss.BestOf(), x, mask=mask), ss.shapley(ss.BestOf(), x, mask=mask), mask


def check_tensor(out, device, want):
    assert is_tensor(out)
    assert out.dtype == torch.float32
    assert out.device.type == torch.device(device).type
    assert not out.requires_grad
    np.testing.assert_allclose(out.cpu().numpy(), want, rtol=1e-6, atol=1e-6)


def test_adapter_helpers():
    t = torch.arange(3.0, requires_grad=True)
    assert is_tensor(t) and not is_tensor(t.detach().numpy())
    assert to_numpy(t).dtype == np.float32
    assert to_numpy(t.to(torch.bfloat16)).dtype == np.float32
    back = like(np.array([1.5, 2.5]), [0.0], t)
    assert back.dtype == torch.float32 and not back.requires_grad


@pytest.mark.parametrize("device", DEVICES)
def test_set_advantages_round_trip(device):
    rng = np.random.default_rng(0)
    r = rng.normal(size=24)
    r[5] = np.nan
    labels = rng.integers(0, 4, size=24)
    t = torch.tensor(r, dtype=torch.float32, device=device, requires_grad=True)
    for kwargs in (PRESETS["verl"], dict(PRESETS["trl"], scale="batch")):
        out = set_advantages(t, torch.as_tensor(labels, device=device), **kwargs)
        check_tensor(out, device, set_advantages(r.astype(np.float32), labels, **kwargs))
    assert t.grad is None


@pytest.mark.parametrize("device", DEVICES)
def test_candidate_and_token_round_trip(device):
    R, phi, mask = layout_a(1)
    tR = torch.tensor(R, device=device)
    tphi = torch.tensor(phi, device=device, requires_grad=True)
    tmask = torch.tensor(mask, device=device)
    A = candidate_advantages(tR, tphi, 4, mask=tmask, beta=0.5)
    want = candidate_advantages(R, phi, 4, mask=mask, beta=0.5)
    check_tensor(A, device, want)
    sa = set_advantages(tR, 4)
    rng = np.random.default_rng(2)
    ids = torch.tensor(rng.integers(-1, 5, size=(16, 40)), device=device)
    rmask = torch.tensor(rng.random((16, 40)) < 0.9, device=device)
    tok = token_advantages(A, sa, ids, rmask)
    check_tensor(
        tok, device,
        token_advantages(want, set_advantages(R, 4), ids.cpu().numpy(), rmask.cpu().numpy()),
    )


@pytest.mark.parametrize("device", DEVICES)
def test_completion_and_peers_round_trip(device):
    rng = np.random.default_rng(3)
    x = rng.random(12)
    t = torch.tensor(x, device=device)
    check_tensor(completion_advantages(ss.BestOf(), t, 4), device, completion_advantages(ss.BestOf(), x, 4))
    check_tensor(grpo_passk_advantages(t, 4), device, grpo_passk_advantages(x, 4))
    b = (x > 0.5).astype(np.float64)
    check_tensor(
        passk_training_advantages(torch.tensor(b, device=device), 6, 2), device,
        passk_training_advantages(b, 6, 2),
    )


def test_numpy_in_numpy_out_even_with_torch_loaded():
    R, phi, mask = layout_a(4)
    out = candidate_advantages(R, phi, 4, mask=mask)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64


def test_inputs_not_modified_and_no_grad():
    R, phi, mask = layout_a(5)
    tR = torch.tensor(R, dtype=torch.float32, requires_grad=True)
    before = tR.detach().clone()
    out = candidate_advantages(tR, torch.tensor(phi), 4, mask=torch.tensor(mask), efficiency_rtol=1e-4)
    assert torch.equal(tR.detach(), before)
    assert out.grad_fn is None


def test_torch_bad_ids_message():
    with pytest.raises(ValueError, match="response 0, token 1"):
        token_advantages(torch.zeros(1, 2), torch.zeros(1), torch.tensor([[0, 2]]))


def test_matches_verl_formula_in_float32():
    # verl's compute_grpo_outcome_advantage, restated in torch float32:
    # per uid, torch.mean / torch.std (unbiased), a singleton gets mean 0, std 1.
    rng = np.random.default_rng(6)
    scores = torch.tensor(rng.normal(size=20), dtype=torch.float32)
    index = np.array([f"u{i}" for i in rng.integers(0, 5, size=19)] + ["solo"], dtype=object)
    want = scores.clone()
    for uid in set(index):
        rows = np.flatnonzero(index == uid)
        s = scores[rows]
        mean, std = (torch.tensor(0.0), torch.tensor(1.0)) if len(rows) == 1 else (s.mean(), s.std())
        want[rows] = (s - mean) / (std + 1e-6)
    got = set_advantages(scores, index, **PRESETS["verl"])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_device_kept():
    t = torch.rand(8, device="cuda")
    assert set_advantages(t, 4).device.type == "cuda"


# -- token advantages on the tensors' device -------------------------------------
# The accelerator path (adapters.torch_tokens) is device-agnostic: on CPU
# tensors it is called directly here, on CUDA through token_advantages.

from shapley_sets.adapters.torch_tokens import gather_token_advantages_torch  # noqa: E402
from shapley_sets.grpo._kernels import gather_token_advantages  # noqa: E402
from shapley_sets.grpo.advantages import _token_advantages_on_device  # noqa: E402


def _token_case(seed, n=7, k=4, t=30):
    rng = np.random.default_rng(seed)
    cand = rng.normal(size=(n, k))
    sa = rng.normal(size=n)
    ids = rng.integers(-1, k, size=(n, t))
    keep = rng.random((n, t)) < 0.8
    return cand, sa, ids, keep


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("with_keep", [False, True])
def test_device_gather_equals_the_numba_kernel_in_float32(seed, with_keep):
    cand, sa, ids, keep = _token_case(seed)
    want = np.empty(ids.shape)
    assert gather_token_advantages(cand, sa, ids, keep, with_keep, keep, False, want) == -1
    for dtype in (torch.int64, torch.int32, torch.int16):
        out, bad = gather_token_advantages_torch(
            cand, sa, torch.tensor(ids, dtype=dtype), torch.tensor(keep) if with_keep else None
        )
        assert bad == -1 and out.dtype == torch.float32
        np.testing.assert_array_equal(out.numpy(), want.astype(np.float32))


def test_device_gather_reports_the_first_kept_bad_id_like_the_kernel():
    cand, sa, ids, keep = _token_case(9)
    ids[2, 5] = 7  # masked out: not read
    keep[2, 5] = False
    ids[3, 1] = -2
    ids[4, 0] = 4
    out = np.empty(ids.shape)
    want = gather_token_advantages(cand, sa, ids, keep, True, keep, False, out)
    got = gather_token_advantages_torch(cand, sa, torch.tensor(ids), torch.tensor(keep))
    assert got[0] is None and got[1] == want == 3 * ids.shape[1] + 1


def test_device_gather_with_no_candidates():
    sa = np.array([0.5, -1.0])
    out, bad = gather_token_advantages_torch(np.zeros((2, 0)), sa, torch.full((2, 3), -1), None)
    assert bad == -1
    np.testing.assert_array_equal(out.numpy(), [[0.5] * 3, [-1.0] * 3])


def test_device_path_checks_like_the_host_path():
    cand, sa, ids, keep = _token_case(1)
    cpu = torch.device("cpu")
    with pytest.raises(ValueError, match=r"found 9 at response 1, token 2"):
        bad = ids.copy()
        bad[1, 2] = 9
        _token_advantages_on_device(cpu, cand, sa, torch.tensor(bad), None)
    with pytest.raises(TypeError, match="candidate_ids must be an integer array"):
        _token_advantages_on_device(cpu, cand, sa, torch.tensor(ids, dtype=torch.float32), None)
    with pytest.raises(ValueError, match=r"candidate_ids must have shape \(7, T\)"):
        _token_advantages_on_device(cpu, cand, sa, torch.tensor(ids[:3]), None)
    with pytest.raises(ValueError, match="response_mask must have the shape"):
        _token_advantages_on_device(cpu, cand, sa, torch.tensor(ids), torch.tensor(keep[:, :4]))
    # a float 0/1 mask is a mask; ids as a numpy array are moved to the device
    got = _token_advantages_on_device(cpu, cand, sa, ids, torch.tensor(keep, dtype=torch.float32))
    np.testing.assert_array_equal(got.numpy(), token_advantages(cand, sa, ids, keep).astype(np.float32))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_token_advantages_stay_on_the_device_and_match_the_host():
    cand, sa, ids, keep = _token_case(5, n=64, k=8, t=512)
    want = token_advantages(cand, sa, ids, keep).astype(np.float32)
    A = torch.tensor(cand, dtype=torch.float32, device="cuda")
    got = token_advantages(A, torch.tensor(sa, device="cuda"), torch.tensor(ids, device="cuda"),
                           torch.tensor(keep, device="cuda"))
    assert got.device.type == "cuda" and got.dtype == torch.float32 and not got.requires_grad
    # cand went through float32 on the way in here, as it does on the host path
    np.testing.assert_array_equal(got.cpu().numpy(), token_advantages(A.cpu(), sa, ids, keep).numpy())
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="at response 0, token 0"):
        bad = torch.tensor(ids, device="cuda")
        bad[0, 0] = 8
        token_advantages(A, torch.tensor(sa, device="cuda"), bad)


@pytest.mark.parametrize("device", DEVICES)
def test_candidate_mask_rejects_tokens_of_absent_candidates_on_every_path(device):
    cand, sa, ids, keep = _token_case(11)
    present = np.ones(cand.shape, dtype=bool)
    present[2, 3] = False
    ids[2] = np.where(ids[2] == 3, 0, ids[2])  # no token of the absent candidate yet
    t = lambda a: torch.tensor(a, device=device)  # noqa: E731
    for args in ((cand, sa, ids, keep), (t(cand), t(sa), t(ids), t(keep))):
        out = token_advantages(*args, candidate_mask=present)
        np.testing.assert_array_equal(
            out.cpu().numpy() if is_tensor(out) else out,
            token_advantages(*args).cpu().numpy() if is_tensor(out) else token_advantages(*args),
        )
    ids[2, 6], keep[2, 6] = 3, True
    ids[2, 4], keep[2, 4] = 3, False  # padding: not read
    for args in ((cand, sa, ids, keep), (t(cand), t(sa), t(ids), t(keep))):
        with pytest.raises(ValueError, match="names? candidate 3 at response 2, token 6, which candidate_mask marks absent"):
            token_advantages(*args, candidate_mask=present)
    # and the torch twin reports the same position as the numba kernel
    out = np.empty(ids.shape)
    want = gather_token_advantages(cand, sa, ids, keep, True, present, True, out)
    got = gather_token_advantages_torch(cand, sa, torch.tensor(ids), torch.tensor(keep), present)
    assert got[0] is None and got[1] == want == 2 * ids.shape[1] + 6


def test_device_gather_takes_a_read_only_candidate_mask_without_warning():
    # token_advantages hands the twin its validated (read-only) mask
    cand, sa, ids, keep = _token_case(12)
    present = np.ones(cand.shape, dtype=bool)
    present.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, bad = gather_token_advantages_torch(cand, sa, torch.tensor(ids), torch.tensor(keep), present)
    assert bad == -1 and out.shape == ids.shape
