"""The credits a credit rule may name: semivalues of the set utility."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence


__all__ = ["check_credit", "CREDITS"]

#: The named credits; ``("beta", α, β)`` is the Beta(α, β) semivalue.
CREDITS = ("loo", "banzhaf", "shapley")


def check_credit(credit):
    """``credit`` checked (a ``ValueError`` otherwise), ``("beta", α, β)`` as floats.

    The weightings of :func:`shapley_sets.semivalue` a rule can name.
    """
    if isinstance(credit, str) and credit in CREDITS:
        return credit
    # a list too: ("beta", a, b) read from a YAML/Hydra config arrives as one
    if isinstance(credit, Sequence) and not isinstance(credit, (str, bytes)) and len(credit) == 3 \
            and credit[0] == "beta":
        a, b = credit[1], credit[2]
        for name, v in (("alpha", a), ("beta", b)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (math.isfinite(v) and v > 0):
                raise ValueError(f"credit ('beta', alpha, beta) needs finite {name} > 0, got {v!r}")
        return ("beta", float(a), float(b))
    raise ValueError(
        f"credit must be 'loo', 'banzhaf', 'shapley' or ('beta', alpha, beta), got {credit!r}"
    )
