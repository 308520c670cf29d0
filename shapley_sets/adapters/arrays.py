"""Array-type adapter: numpy in, numpy out; torch in, torch out.

A few functions are all the GRPO layer needs: recognise a torch tensor (and
find the first one among the inputs), turn any array into numpy, and turn a
numpy result back into the caller's type.
Torch is found through ``sys.modules`` and never imported here: a tensor can
only exist if its framework is already loaded, so looking it up costs nothing
and keeps ``import shapley_sets`` light.
"""

from __future__ import annotations

import functools
import sys

import numpy as np

__all__ = ["is_tensor", "to_numpy", "like", "first_tensor"]


@functools.lru_cache(maxsize=128)
def _issubclass_fast(cls: type, module: str, name: str) -> bool:
    # Cached per type: a type's answer cannot change once its module is loaded,
    # and a type whose module is not loaded cannot be a subclass of it.
    mod = sys.modules.get(module)
    if mod is None:
        return False
    parent = getattr(mod, name, None)
    return parent is not None and issubclass(cls, parent)


def is_tensor(x: object) -> bool:
    """True iff ``x`` is a torch tensor (checked without importing torch).

    Examples:
        >>> import numpy as np
        >>> is_tensor(np.zeros(3)), is_tensor([1.0, 2.0])
        (False, False)
    """
    # mypy does not see a class object as Hashable; it is.
    return _issubclass_fast(type(x), "torch", "Tensor")  # type: ignore[arg-type]


#: What to do with a ragged nested list given to the GRPO layer.
_PAD_ROWS = "pad every row to one length (where a set has fewer candidates, pass mask= with True for the real ones)"


def to_numpy(x, name: str | None = None) -> np.ndarray:
    """A numpy view or copy of ``x``; the input is never modified.

    Torch tensors are detached and moved to the CPU (bfloat16/float16 go
    through float32, which numpy represents exactly); anything else goes
    through ``np.asarray``, so lists and numpy arrays keep their dtype.
    With ``name``, a ragged nested list is a ``ValueError`` naming the
    argument, not numpy's own error.

    Examples:
        >>> to_numpy([1, 2]).tolist()
        [1, 2]
    """
    if is_tensor(x):
        t = x.detach()
        if t.is_floating_point() and t.element_size() < 4:
            t = t.float()
        return t.cpu().numpy()
    if name is None or isinstance(x, np.ndarray):
        return np.asarray(x)
    from .._validation import as_array  # _validation imports this module

    return as_array(x, name, what="its rows have different lengths", fix=_PAD_ROWS)


def like(result: np.ndarray, *inputs):
    """Return ``result`` in the type of the first tensor among ``inputs``.

    With no tensor among ``inputs`` the numpy array is returned unchanged.
    Otherwise the answer is a new float32 tensor on that tensor's device,
    outside any autograd graph (advantages are constants of the loss).

    Examples:
        >>> import numpy as np
        >>> like(np.array([0.5]), [1.0], np.zeros(1))
        array([0.5])
    """
    x = first_tensor(*inputs)
    if x is None:
        return result
    torch = sys.modules["torch"]
    # numpy's float64 -> float32 cast plus a zero-copy from_numpy is
    # ~50x faster than torch.as_tensor(result, dtype=torch.float32).
    t = torch.from_numpy(np.ascontiguousarray(result, dtype=np.float32))
    return t if x.device.type == "cpu" else t.to(x.device)


def first_tensor(*inputs):
    """The first torch tensor among ``inputs`` (whose type and device an
    answer takes), or None.

    Examples:
        >>> first_tensor([1.0], None) is None
        True
    """
    for x in inputs:
        if is_tensor(x):
            return x
    return None
