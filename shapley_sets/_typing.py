"""Type aliases of the public signatures (for type checkers and readers).

The GRPO functions take numpy arrays, anything ``np.asarray`` accepts, or
torch tensors, and answer in the kind they were given; torch is optional and
never imported by the package, so it is named here for type checkers only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from torch import Tensor

    from .engines.weights import Weighting
else:
    Tensor = Any

__all__ = [
    "ArrayLike", "FloatArray", "ArrayIn", "ArrayOut", "GroupsLike", "Tensor", "Attribution", "UtilityLike",
    "Scale", "Singleton", "Tau", "WeightsLike",
]

#: What the numerical core returns.
FloatArray = NDArray[np.float64]
#: An input of the GRPO functions: array-like or a torch tensor.
ArrayIn = Union[ArrayLike, "Tensor"]
#: Their answer: a float64 numpy array for array-like input, a tensor (same
#: device) when an input is a tensor. The kind follows the input, so type
#: checkers see ``Any`` rather than a union every caller would have to narrow.
ArrayOut = Any
#: Groups of the GRPO functions: a group size, or one label per response.
GroupsLike = Union[int, Sequence[Any], ArrayLike, "Tensor"]
# The options of the GRPO functions. Plain strings rather than Literal types:
# trainers pass them from configuration files, and the functions check them
# at run time (ValueError naming the allowed values).
#: ``"group"``, ``"batch"`` or ``"none"``.
Scale = str
#: ``"reward"`` or ``"zero"``.
Singleton = str
#: ``"within"``, ``"set"`` or ``"none"``.
Tau = str
#: A semivalue weighting: ``"shapley"``, ``"banzhaf"``, ``"loo"``,
#: ``("beta", α, β)``, a :class:`~shapley_sets.Weighting`, size weights
#: p_K(s) as an array, or a callable of K returning them.
WeightsLike = Union[str, tuple, "Weighting", ArrayLike, Callable[[int], ArrayLike]]
#: An attribution function under test: ``attribution(u, x, mask=...) -> (..., K)``.
Attribution = Callable[..., ArrayLike]


class UtilityLike(Protocol):
    """What the engines need of a utility: ``ss.Utility`` subclasses and any
    object with this method (the reference engine serves the latter)."""

    def coalition_values(self, x: np.ndarray, members: np.ndarray) -> np.ndarray: ...
