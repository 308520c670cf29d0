"""Griffe extension used by the docs build (mkdocs.yml), not part of the package.

The package's docstrings are Google style with a few reStructuredText habits
(``:func:`shapley```, a paragraph ending in ``::`` before an indented
example). Markdown would print the roles literally, and a role right after
``Returns:`` reads as a "name: description" pair, so they become inline code.
An ``Args`` entry that documents several parameters at once
(``scale, eps, ddof: as in ...``) is split into one entry per parameter, as
the Google parser expects. Functions whose docstring is assigned at import time (``f.__doc__ = ...``)
have none for static analysis; they get the runtime one.
"""

from __future__ import annotations

import importlib
import inspect
import re

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|obj|exc|const):`(~?)([^`]+)`")
_LITERAL_BLOCK = re.compile(r"(\S)::[ \t]*$", re.MULTILINE)
_ARGS_TITLE = re.compile(r"^(\s*)(Args|Arguments|Parameters):\s*$")
_GROUPED_ENTRY = re.compile(r"^(\s+)(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)+)(\s*\([^)]*\))?:(\s.*|)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _split_grouped_params(text: str) -> str:
    lines = text.splitlines()
    out, i, section = [], 0, None
    while i < len(lines):
        line = lines[i]
        title = _ARGS_TITLE.match(line)
        if title:
            section = len(title.group(1))
        elif line.strip() and section is not None and _indent(line) <= section:
            section = None
        entry = _GROUPED_ENTRY.match(line) if section is not None else None
        if entry is None:
            out.append(line)
            i += 1
            continue
        lead, names, kind, rest = entry.groups()
        block_end = i + 1
        while block_end < len(lines) and (
            not lines[block_end].strip() or _indent(lines[block_end]) > len(lead)
        ):
            block_end += 1
        while block_end > i + 1 and not lines[block_end - 1].strip():
            block_end -= 1
        for name in (n.strip() for n in names.split(",")):
            out.append(f"{lead}{name}{kind or ''}:{rest}")
            out.extend(lines[i + 1 : block_end])
        i = block_end
    return "\n".join(out)


def _runtime_doc(obj) -> str | None:
    # Only where the source assigns the docstring: importing a module can be
    # heavy (the trainer integrations import their trainer).
    try:
        source = obj.module.filepath.read_text(encoding="utf-8")
    except (AttributeError, OSError):
        return None
    if not re.search(rf"\b{re.escape(obj.name)}\.__doc__\s*=", source):
        return None
    try:
        module = importlib.import_module(obj.module.path)
        value = module
        for part in obj.path[len(obj.module.path) + 1 :].split("."):
            value = getattr(value, part)
    except Exception:  # noqa: BLE001 - best effort; no docstring is the fallback
        return None
    doc = getattr(value, "__doc__", None)
    return inspect.cleandoc(doc) if doc else None


def _code(match) -> str:
    # ``:func:`~a.b.c``` shows ``c``, as Sphinx does.
    target = match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"


class RstToMarkdown(griffe.Extension):
    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is None and obj.is_function:
            doc = _runtime_doc(obj)
            if doc:
                obj.docstring = griffe.Docstring(doc, parent=obj)
        if obj.docstring is not None:
            text = _ROLE.sub(_code, obj.docstring.value)
            text = _LITERAL_BLOCK.sub(r"\1:", text)
            obj.docstring.value = _split_grouped_params(text)
