"""Names for heap-profile frames, which arrive without a live frame object.

The CPU sampler names a frame from the frame itself (:mod:`pprofx.runtime.frames`). The heap
sampler keeps only ``(code object, line)`` per frame, and its tracemalloc twin only
``(filename, line)``; both need the same frame model (DESIGN §4): name = qualified name,
system_name = ``module.qualname``, filename, start_line, line. Here:

* :func:`code_info` names a code object: ``co_qualname`` on 3.11+, else the qualified name
  its source compiles to (below); the module from the file name (``sys.modules``).
* :func:`line_info` names the innermost function containing ``filename:line``, from the code
  objects that compiling the file's source (``linecache``) gives, with qualified names
  rebuilt from their nesting (class body ``C.f``, nested function ``f.<locals>.g``).

Caches are bounded and owned by the caller's lock (the heap module's); :func:`clear` empties
them (they hold code objects).
"""

from __future__ import annotations

import dis
import inspect
import linecache
import os
import sys
from types import CodeType

#: (name, system_name, filename, start_line) of a function.
FuncInfo = tuple[str, str, str, int]

UNKNOWN = "<unknown>"
_HAS_QUALNAME = sys.version_info >= (3, 11)
_MAX_FILES = 1024
_MAX_CODES = 100_000

_code_cache: dict[CodeType, FuncInfo] = {}
# filename -> ({line: [(qualname, first_line), …] innermost first}, {(name, first_line): qualname})
_file_cache: dict[str, tuple[dict[int, list[tuple[str, int]]], dict[tuple[str, int], str]]] = {}
_modules: dict[str, str] = {}
_modules_seen = [-1]


def clear() -> None:
    """Forget code objects and modules (the per-file index stays: it holds only strings)."""
    _code_cache.clear()
    _modules.clear()
    _modules_seen[0] = -1


def module_of(filename: str) -> str:
    """The name of the module loaded from ``filename`` ("" if none is known)."""
    name = _modules.get(filename)
    if name is not None:
        return name
    if len(sys.modules) != _modules_seen[0]:
        _modules.clear()
        for mod_name, mod in list(sys.modules.items()):
            for attr in ("__file__",):
                f = getattr(mod, attr, None)
                if isinstance(f, str):
                    _modules.setdefault(f, mod_name)
            spec = getattr(mod, "__spec__", None)
            origin = getattr(spec, "origin", None)
            if isinstance(origin, str):
                _modules.setdefault(origin, mod_name)
        _modules_seen[0] = len(sys.modules)
        name = _modules.get(filename)
        if name is not None:
            return name
    if filename.startswith("<frozen ") and filename.endswith(">"):
        return filename[8:-1]
    return ""


def _system(module: str, qualname: str) -> str:
    return f"{module}.{qualname}" if module else qualname


def _index_file(filename: str):
    got = _file_cache.get(filename)
    if got is not None:
        return got
    by_line: dict[int, list[tuple[str, int]]] = {}
    by_def: dict[tuple[str, int], str] = {}
    lines = linecache.getlines(filename)
    if lines:
        try:
            top = compile("".join(lines), filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            top = None
        if top is not None:
            # parents before children, so each line's list ends up innermost first
            todo: list[tuple[CodeType, str, bool]] = [(top, "", True)]
            while todo:
                code, qual, is_module = todo.pop(0)
                if not is_module:
                    by_def[(code.co_name, code.co_firstlineno)] = qual
                    for line in {ln for _, ln in dis.findlinestarts(code) if ln is not None and ln > 0}:
                        by_line.setdefault(line, []).insert(0, (qual, code.co_firstlineno))
                is_function = bool(code.co_flags & inspect.CO_NEWLOCALS)
                for const in code.co_consts:
                    if isinstance(const, CodeType):
                        if _HAS_QUALNAME:
                            child = const.co_qualname
                        elif is_module:
                            child = const.co_name
                        elif is_function:
                            child = f"{qual}.<locals>.{const.co_name}"
                        else:  # a class body
                            child = f"{qual}.{const.co_name}"
                        todo.append((const, child, False))
    if len(_file_cache) >= _MAX_FILES:
        _file_cache.clear()
    _file_cache[filename] = (by_line, by_def)
    return by_line, by_def


def code_info(code: CodeType) -> FuncInfo:
    """(name, system_name, filename, start_line) of the function ``code`` belongs to."""
    info = _code_cache.get(code)
    if info is not None:
        return info
    filename = code.co_filename
    if _HAS_QUALNAME:
        qual = code.co_qualname
    else:
        qual = _index_file(filename)[1].get((code.co_name, code.co_firstlineno), code.co_name)
    info = (qual, _system(module_of(filename), qual), filename, code.co_firstlineno)
    if len(_code_cache) >= _MAX_CODES:
        _code_cache.clear()
    _code_cache[code] = info
    return info


def line_info(filename: str, line: int, outward: int = 0) -> FuncInfo:
    """(name, system_name, filename, start_line) of the innermost function at ``filename:line``
    (``outward`` > 0: the one that many levels further out, as far as there are).

    Module-level code is named ``<module>``; a line whose source is unavailable ``<unknown>``.
    """
    by_line, _ = _index_file(filename)
    funcs = by_line.get(line)
    got = funcs[min(outward, len(funcs) - 1)] if funcs else None
    module = module_of(filename)
    if got is None:
        if by_line or linecache.getlines(filename):
            qual, first = "<module>", 1
        else:
            qual, first = UNKNOWN, 0
            base = os.path.basename(filename)
            module = module or (base[:-3] if base.endswith(".py") else "")
    else:
        qual, first = got
    return qual, _system(module, qual), filename, first
