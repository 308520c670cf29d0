"""Set utilities: what a set of candidates is worth."""

from .base import LinearCombination, Utility
from .best_of import BestOf

__all__ = ["Utility", "LinearCombination", "BestOf"]
