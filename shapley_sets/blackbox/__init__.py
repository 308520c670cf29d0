"""Black-box set utilities: the caller's own function over the caller's own
candidates (an LLM judge, a learned set reward model), evaluated exactly when
affordable and estimated with error bars when not."""

from .estimate import METHODS, Estimate, shapley_estimate
from .set_function import SetFunction

__all__ = ["METHODS", "Estimate", "SetFunction", "shapley_estimate"]
