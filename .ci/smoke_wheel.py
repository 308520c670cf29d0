"""Run by .ci/run with the interpreter of a fresh venv that holds only the
built wheel and its dependencies, from a folder outside the checkout: the
installed package imports, computes, and ships its type marker."""

import pathlib
import sys

import numpy as np

import shapley_sets as ss

here = pathlib.Path(ss.__file__).resolve().parent
assert "site-packages" in here.parts, f"imported from {here}, not from the installed wheel"
assert (here / "py.typed").is_file(), "py.typed missing from the installed package"
phi = ss.shapley(ss.BestOf(), [[0.9, 0.2, 0.8], [0.1, 0.1, 0.0]])
# Best-of is the airport game: sorted 0.2 < 0.8 < 0.9, each step shared by
# the candidates that reach it.
low, mid = 0.2 / 3, 0.2 / 3 + 0.6 / 2
np.testing.assert_allclose(phi, [[mid + 0.1, low, mid], [0.05, 0.05, 0.0]], atol=1e-12)
assert "torch" not in sys.modules, "import shapley_sets loaded torch"
print(f"shapley_sets {ss.__version__} from {here}: ok")
