"""The experiment's own files: finding a base's or a mixin's file, importing a module under its
file name, and running the experiment module as ``__main__``, each from its source alone (no
bytecode cache read or written), so that what runs is what xrun archives and hashes. Imports
``_common`` only.
"""

from __future__ import annotations

import builtins
import os
import sys
import types

from ._common import UsageError, _shown


def _path_list(paths) -> list:
    if paths is None:
        return []
    if isinstance(paths, str):
        return [part.strip() for part in paths.split(",") if part.strip()]
    return [str(path) for path in paths]


def _resolve_file(path: str, relative_to: str, what: str) -> str:
    """``path`` as given (absolute), else relative to the folder of ``relative_to``, else to
    the working directory; a UsageError naming both places when it is in neither."""
    path = os.path.expanduser(str(path))
    candidates = [path] if os.path.isabs(path) else \
        [os.path.join(os.path.dirname(os.path.abspath(relative_to)), path)] * bool(relative_to) \
        + [os.path.abspath(path)]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return os.path.realpath(candidate)
    where = " or ".join(dict.fromkeys(candidates))
    raise UsageError(f"{relative_to or 'the experiment'}: the {what} '{_shown(path)}' does not "
                     f"exist (looked for {_shown(where)})")


def _import_module(path: str):
    """Imports the module at ``path`` under its file name (not as __main__, so its
    run_if_main() does not run), once per file."""
    import importlib.util

    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) and os.path.realpath(module.__file__) == path:
            return module
    stem = os.path.splitext(os.path.basename(path))[0]
    name = stem if stem not in sys.modules else f"{stem}__{len(sys.modules)}"
    spec = _source_spec(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.append(folder)  # the module's own imports of its neighbours
    spec.loader.exec_module(module)
    return module


_SOURCE_LOADER = None


def _source_spec(name: str, path: str):
    """The import spec of the experiment file at ``path`` (a module, a base, a mixin, a run's
    ``experiment_code.py``), loaded from its source alone: as for the script python3 runs, no
    bytecode cache is read or written for it. So what runs is the source xrun archives and
    hashes (a cached file of the same time and size could hold other code), and neither the
    experiment's folder nor a run folder gets a ``__pycache__`` from it."""
    global _SOURCE_LOADER
    import importlib.machinery
    import importlib.util

    if _SOURCE_LOADER is None:
        class SourceOnlyLoader(importlib.machinery.SourceFileLoader):
            def get_code(self, fullname):
                source_path = self.get_filename(fullname)
                return self.source_to_code(self.get_data(source_path), source_path)
        _SOURCE_LOADER = SourceOnlyLoader
    return importlib.util.spec_from_file_location(name, path, loader=_SOURCE_LOADER(name, path))


def _imported(path: str, key: str, kind: type, problem: str):
    """The Experiment or ExperimentMixin the module at ``path`` registers under ``key``."""
    found = vars(_import_module(path)).get(key)
    if not isinstance(found, kind):
        raise UsageError(f"{path} {problem}")
    return found


def _module_source(file: str) -> bytes:
    """The module's source, refused as python3 refuses to run it when it is not UTF-8 and
    declares no other encoding (compile() and importlib let such bytes through in comments and
    decode them in strings with a message that names no file)."""
    with open(file, "rb") as handle:
        source = handle.read()
    try:
        source.decode("utf-8")
        return source
    except UnicodeDecodeError as error:
        bad = error.start
    for line in source.split(b"\n", 2)[:2]:  # PEP 263: a declaration on line 1 or 2
        if line.lstrip().startswith(b"#") and (b"coding:" in line or b"coding=" in line):
            return source  # compile() decodes it as declared, or says why it cannot
    line = source.count(b"\n", 0, bad) + 1
    column = bad - (source.rfind(b"\n", 0, bad) + 1) + 1
    raise SyntaxError(f"Non-UTF-8 code starting with '\\x{source[bad]:02x}', but no encoding "
                      f"declared; see https://peps.python.org/pep-0263/ for details",
                      (file, line, column, None))


def _run_as_main(file: str):
    """Runs ``file`` as the ``__main__`` module, as ``python3 file`` does."""
    module = types.ModuleType("__main__")
    module.__file__ = file
    module.__builtins__ = builtins
    module.__spec__ = None
    sys.modules["__main__"] = module
    code = compile(_module_source(file), file, "exec", dont_inherit=True)
    exec(code, module.__dict__)

