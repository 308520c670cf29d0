"""Set utilities: what a set of candidates is worth."""

from .base import LinearCombination, Utility
from .best_of import BestOf
from .additive import Additive
from .any_success import AnySuccess, ExpectedAnySuccess
from .expected_best import ExpectedBest
from .pairwise import Pairwise
from .rank_weighted import RankWeighted, TopK

__all__ = ["Utility", "LinearCombination", "BestOf", "Additive", "AnySuccess", "ExpectedAnySuccess", "ExpectedBest", "Pairwise", "RankWeighted", "TopK"]
