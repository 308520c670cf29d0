"""Every public signature is annotated (the package ships py.typed, so type
checkers read these annotations as its API); mypy checks the package in
.ci/run. Public means: the names in ``__all__`` of ``shapley_sets``,
``shapley_sets.grpo``, ``shapley_sets.testing`` and the trainer integrations,
and the public methods of the classes among them."""

from __future__ import annotations

import importlib
import inspect
import pathlib

import pytest

import shapley_sets as ss

MODULES = ["shapley_sets", "shapley_sets.grpo", "shapley_sets.testing"]
INTEGRATIONS = {"shapley_sets.integrations.verl": "verl", "shapley_sets.integrations.trl": "trl"}


def _unannotated(fn, where: str) -> list[str]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins, numba dispatchers
        return []
    missing = []
    params = list(sig.parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    for p in params:
        if p.annotation is inspect.Parameter.empty:
            missing.append(f"{where}: parameter {p.name!r}")
    if sig.return_annotation is inspect.Signature.empty and fn.__name__ != "__init__":
        missing.append(f"{where}: return")
    return missing


def _public_callables(module_name: str):
    module = importlib.import_module(module_name)
    for name in module.__all__:
        obj = getattr(module, name)
        if inspect.isfunction(obj):
            yield f"{module_name}.{name}", obj
        elif inspect.isclass(obj) and obj.__module__.startswith("shapley_sets"):
            # Own methods only; what a class inherits is checked where it is defined.
            for attr, member in vars(obj).items():
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                elif isinstance(member, property):
                    member = member.fget
                if not inspect.isfunction(member):
                    continue
                if attr.startswith("_") and attr not in ("__init__", "__call__"):
                    continue
                if attr == "__init__" and "__dataclass_fields__" in vars(obj):
                    continue  # generated from the annotated fields
                yield f"{module_name}.{name}.{attr}", member


def _missing(module_name: str) -> list[str]:
    return [m for where, fn in _public_callables(module_name) for m in _unannotated(fn, where)]


@pytest.mark.parametrize("module_name", MODULES)
def test_public_signatures_are_annotated(module_name):
    missing = _missing(module_name)
    assert not missing, "unannotated:\n" + "\n".join(missing)


@pytest.mark.parametrize("module_name", sorted(INTEGRATIONS))
def test_integration_signatures_are_annotated(module_name):
    pytest.importorskip(INTEGRATIONS[module_name])
    missing = _missing(module_name)
    assert not missing, "unannotated:\n" + "\n".join(missing)


def test_the_check_sees_a_missing_annotation():
    def f(x, y: int):
        return x

    assert _unannotated(f, "f") == ["f: parameter 'x'", "f: return"]


def test_py_typed_ships_with_the_package():
    assert (pathlib.Path(ss.__file__).parent / "py.typed").is_file()
