"""A Plackett–Luce policy over the catalog: sampling, log-probabilities, gradients."""

from __future__ import annotations

import numpy as np

__all__ = ["sample_sets", "pl_log_probs", "pl_grad", "Adam"]


def sample_sets(logits, k: int, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` ordered sets of ``k`` distinct items from the Plackett–Luce policy.

    Adding independent Gumbel noise to the logits and keeping the ``k``
    largest, in decreasing order, is exactly sequential softmax sampling
    without replacement (the Gumbel-top-k trick).

    Args:
        logits: ``(C,)`` float array.
        k: items per set, ``1 <= k <= C``.
        rng: the generator to draw from.
        n: number of sets.

    Returns:
        int array ``(n, k)``; ``[:, 0]`` is the first item drawn.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> s = sample_sets(np.zeros(5), 3, rng, 2)
        >>> s.shape, all(len(set(row)) == 3 for row in s.tolist())
        ((2, 3), True)
    """
    logits = np.asarray(logits, dtype=np.float64)
    z = logits + rng.gumbel(size=(n, logits.shape[-1]))
    top = np.argpartition(-z, k - 1, axis=-1)[:, :k]
    order = np.argsort(-np.take_along_axis(z, top, axis=-1), axis=-1)
    return np.take_along_axis(top, order, axis=-1)


def _stage_probs(logits, sets):
    """Softmax over the items still available at each draw: ``(..., K, C)``."""
    logits = np.asarray(logits, dtype=np.float64)
    sets = np.asarray(sets, dtype=np.intp)
    k = sets.shape[-1]
    c = logits.shape[-1]
    lead = sets.shape[:-1]
    # chosen[..., i, j]: item j was drawn before draw i
    chosen = np.zeros(lead + (k, c), dtype=bool)
    onehot = np.zeros(lead + (k, c), dtype=bool)
    np.put_along_axis(onehot, sets[..., None], True, axis=-1)
    chosen[..., 1:, :] = np.cumsum(onehot, axis=-2)[..., :-1, :] > 0
    masked = np.where(chosen, -np.inf, _expand(logits, lead))
    masked -= masked.max(axis=-1, keepdims=True)
    p = np.exp(masked)
    p /= p.sum(axis=-1, keepdims=True)
    return p, onehot


def _expand(logits, lead):
    # logits' leading axes are the front of `lead`; the rest (sets) broadcast
    extra = len(lead) - (logits.ndim - 1)
    return logits.reshape(logits.shape[:-1] + (1,) * extra + (1, logits.shape[-1]))


def pl_log_probs(logits, sets) -> np.ndarray:
    """``log π(item_k | items drawn before it)`` for every draw of every set.

    Args:
        logits: ``(..., C)``; leading axes (e.g. seeds) match the front of
            ``sets``' leading axes.
        sets: int array ``(..., n, K)`` of ordered draws.

    Returns:
        float64 ``(..., n, K)``; the sum over K is the set's log-probability.

    Examples:
        >>> lp = pl_log_probs(np.zeros(4), [[0, 1]])
        >>> np.allclose(lp, np.log([[1 / 4, 1 / 3]]))
        True
    """
    p, _ = _stage_probs(logits, sets)
    sets = np.asarray(sets, dtype=np.intp)
    return np.log(np.take_along_axis(p, sets[..., None], axis=-1)[..., 0])


def pl_grad(logits, sets, advantages) -> np.ndarray:
    """Gradient of ``Σ A_{g,k} · log π(item_{g,k} | earlier items)`` w.r.t. the logits.

    Each draw's term has the exact gradient ``onehot(item) − softmax over the
    items still available``, so every candidate is pushed by its own advantage.

    Args:
        logits: ``(..., C)``.
        sets: int array ``(..., n, K)``.
        advantages: ``(..., n, K)``, one per draw.

    Returns:
        float64 ``(..., C)``, summed over sets and draws (divide by ``n·K``
        for the mean).

    Examples:
        >>> g = pl_grad(np.zeros(3), [[0]], [[1.0]])
        >>> np.allclose(g, [2 / 3, -1 / 3, -1 / 3])
        True
    """
    p, onehot = _stage_probs(logits, sets)
    adv = np.asarray(advantages, dtype=np.float64)
    per_draw = (onehot - p) * adv[..., None]
    logits = np.asarray(logits)
    reduce_axes = tuple(range(logits.ndim - 1, per_draw.ndim - 1))
    return per_draw.sum(axis=reduce_axes)


class Adam:
    """Adam for gradient ascent on an array of parameters (Kingma and Ba, 2015).

    Examples:
        >>> opt = Adam(lr=0.1)
        >>> theta = np.zeros(2)
        >>> opt.step(theta, np.array([1.0, -2.0])).round(6).tolist()
        [0.1, -0.1]
    """

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m: np.ndarray | None = None
        self.v: np.ndarray | None = None
        self.t = 0

    def step(self, params: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """Return ``params`` moved up the gradient (a new array)."""
        m = np.zeros_like(grad) if self.m is None else self.m
        v = np.zeros_like(grad) if self.v is None else self.v
        self.t += 1
        self.m = m = self.beta1 * m + (1 - self.beta1) * grad
        self.v = v = self.beta2 * v + (1 - self.beta2) * grad * grad
        m_hat = m / (1 - self.beta1**self.t)
        v_hat = v / (1 - self.beta2**self.t)
        return params + self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
