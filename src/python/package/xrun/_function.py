"""Function runs: ``@xrun.function`` makes a plain Python function an experiment whose
parameters are its arguments (typed by their annotations, defaulted by their defaults) and
whose return values are the run's results (plain values, in its data) and outputs (arrays,
data frames, bytes, files: ``outputs/`` listed by ``outputs.json``). ``Function.run(...)``
records one run in this process (supervised by ``xrun watch``, as ``xrun.start()`` is);
``xrun run mod.py:train`` runs it under xrun's own supervisor (``run_in_child``). Inputs
(``xrun.Input``: a path, ``run:<id>/outputs/<name>`` or an artifact ``name:latest``) are
resolved and hashed before the run starts and recorded as its lineage; the cache key covers
the function's name, its typed parameter values, its inputs' contents and its code (the
module and the project's modules it imports). Imports ``_common``, ``_jsonio``, ``_params``,
``_standalone``, ``_compose``, ``_runner``, ``_experiment``, ``_assets`` and ``_results``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import sys
import types

from ._common import UsageError, _did_you_mean, _shown, _xrun
from ._jsonio import _dumps, _jsonable, _write_atomic
from ._params import Parameter, _check, _convert, _resolve_annotation, _type_name
from ._results import RunView, _open_inside

_OUTPUTS_FILE = "outputs.json"
_OUTPUTS_FOLDER = "outputs"
# The word of an undeclared single return value.
_RETURN = "return"


class ImportStop(BaseException):
    """Raised by a call that would start runs while ``xrun run mod.py:NAME`` imports the
    module for its definitions: the import ends there, keeping what was defined above it."""


_importing = []  # [True] while the child of `xrun run mod.py:NAME` imports the module


def importing() -> bool:
    """Whether this process is importing a module for one of its functions' runs."""
    return bool(_importing)


def stop_if_importing(what: str):
    """Ends a module's import for a function run at a call that would start runs (``what``)."""
    if _importing:
        raise ImportStop(what)


# -- inputs -----------------------------------------------------------------------------------

class Input(os.PathLike):
    """An input of a function run. As an annotation (``data: xrun.Input``) it marks the
    argument whose value is a reference: a path, ``run:<id>/outputs/<name>`` or an artifact
    ``name:latest`` / ``name:v3``. The function receives an ``Input``: a path-like object
    (``open(data)``, ``numpy.load(data)``) with ``.path``, ``.ref``, ``.sha256``, ``.size``,
    ``.run`` (the producing run's RunView, or None) and ``.load()``."""

    def __init__(self, ref, path: str = "", sha256: str = "", size: int = 0, run=None,
                 output: str = "", artifact: str = ""):
        self.ref = os.fspath(ref) if isinstance(ref, os.PathLike) else str(ref)
        self.path = path
        self.sha256 = sha256
        self.size = size
        self.run = run
        self.output = output
        self.artifact = artifact

    def __fspath__(self) -> str:
        return self.path or self.ref  # the reference until it is resolved (a record keeps it)

    def __str__(self) -> str:
        return self.__fspath__()

    def __repr__(self) -> str:
        return f"<xrun.Input {self.ref!r} sha256={self.sha256[:12]}>"

    def load(self, allow_pickle: bool = False):
        """The input's value: a run's output as that run's manifest says (``RunView.output``);
        a file by its suffix (``.npy`` numpy, ``.csv``/``.parquet`` pandas, ``.json`` its
        value), else its bytes."""
        if self.run is not None and self.output:
            return self.run.output(self.output, allow_pickle=allow_pickle)
        suffix = os.path.splitext(self.path)[1].lower()
        if suffix == ".npy":
            import numpy
            return numpy.load(self.path, allow_pickle=False)
        if suffix in (".csv", ".parquet"):
            import pandas
            return pandas.read_csv(self.path) if suffix == ".csv" else \
                pandas.read_parquet(self.path)
        if suffix == ".json":
            with open(self.path, encoding="utf-8") as handle:
                return json.load(handle)
        with open(self.path, "rb") as handle:
            return handle.read()

    def record(self, name: str) -> dict:
        """The lineage record of this input as argument ``name`` (the meta's function.inputs)."""
        record = {"name": name, "ref": self.ref, "path": self.path, "sha256": self.sha256,
                  "size": self.size}
        if self.run is not None:
            record.update(run=self.run.id, run_path=self.run.path, output=self.output)
        if self.artifact:
            record["artifact"] = self.artifact
        return record


def _is_input(annotation) -> bool:
    """Whether an argument's annotation makes it an input: ``Input``, or a union of it with
    None (``Input | None``, ``Optional[Input]``)."""
    if isinstance(annotation, type):
        return issubclass(annotation, Input)
    args = getattr(annotation, "__args__", ())
    return bool(args) and any(isinstance(arg, type) and issubclass(arg, Input) for arg in args) \
        and all(arg is type(None) or (isinstance(arg, type) and issubclass(arg, Input))
                for arg in args)


def _hash_stream(handle) -> tuple:
    """(SHA-256 hex, size) of what is left to read of a binary file object."""
    digest = hashlib.sha256()
    size = 0
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _hash_file(path: str) -> tuple:
    """(SHA-256 hex, size) of a file's bytes."""
    with open(path, "rb") as handle:
        return _hash_stream(handle)


def _hash_path(path: str) -> tuple:
    """(SHA-256 hex, size) of a file, or of a folder: its files' relative paths and hashes."""
    if not os.path.isdir(path):
        return _hash_file(path)
    digest = hashlib.sha256()
    total = 0
    for folder, folders, files in os.walk(path):
        folders.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            hexdigest, size = _hash_file(full)
            total += size
            digest.update(f"{os.path.relpath(full, path)}\0{hexdigest}\n".encode())
    return digest.hexdigest(), total


def _archives_for(base_path: str, namespace: str) -> list:
    """Where a run id of an input is looked for: the archive of the function's runs (the
    first folder of its namespace) and ``results`` of the working directory."""
    first = namespace.split("/")[0] if namespace else ""
    found = []
    for folder in (os.path.join(base_path, first) if first else base_path,
                   os.path.abspath("results")):
        if folder not in found and os.path.isdir(folder):
            found.append(folder)
    return found


def resolve_input(name: str, value, base_path: str, namespace: str) -> Input:
    """The input ``value`` of argument ``name`` resolved to a file and hashed; UsageError
    naming the argument when it names nothing that exists."""
    if isinstance(value, Input):
        value = value.ref
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise UsageError(f"input {name}: expected a path, run:<id>/outputs/<name> or an "
                         f"artifact name:latest, not {_shown(repr(value))}")
    if value.startswith("run:"):
        return _run_input(name, value, base_path, namespace)
    if not os.path.exists(value) and ":" in value and "/" not in value:
        return _artifact_input(name, value, base_path, namespace)
    if not os.path.exists(value):
        raise UsageError(f"input {name}: {_shown(value)} does not exist")
    path = os.path.abspath(value)
    try:
        digest, size = _hash_path(path)
    except OSError as error:
        raise UsageError(f"input {name}: {_shown(value)} cannot be read: "
                         f"{error.strerror}") from None
    return Input(value, path, digest, size)


def _run_input(name: str, ref: str, base_path: str, namespace: str) -> Input:
    from ._results import RunView, load

    body = ref[len("run:"):]
    run_part, marker, output = body.partition("/outputs/")
    if not marker or not run_part or not output or "/" in output:
        raise UsageError(f"input {name}: {_shown(ref)} is not run:<id>/outputs/<name>")
    view = None
    if os.path.isabs(run_part) and os.path.isdir(run_part):
        view = RunView(run_part)
    else:
        archives = _archives_for(base_path, namespace)
        for archive in archives:
            try:
                view = load(run_part, path=archive)
                break
            except ValueError:
                continue
        if view is None:
            where = " or ".join(archives) or os.path.join(base_path, namespace.split("/")[0])
            raise UsageError(f"input {name}: no run {_shown(run_part)} in {where}")
    try:
        entry = view.outputs.entry(output)
    except (KeyError, ValueError) as error:
        raise UsageError(f"input {name}: {error.args[0] if error.args else error}") from None
    path = os.path.join(view.path, str(entry.get("file", "")))
    try:  # opened part by part inside the run folder: a link in it never leads out
        fd = _open_inside(view.path, entry.get("file"), f"input {name}")
    except (OSError, ValueError) as error:
        raise UsageError(f"input {name}: output {output!r} of run {view.id} has no readable "
                         f"file {_shown(str(entry.get('file')))} ({error})") from None
    with os.fdopen(fd, "rb") as handle:
        digest, size = _hash_stream(handle)
    if digest != entry.get("sha256"):
        raise UsageError(f"input {name}: {path} has SHA-256 {digest}, the run's outputs.json "
                         f"says {entry.get('sha256')}: the file changed since the run wrote it")
    return Input(ref, path, digest, size, run=view, output=output)


def _artifact_input(name: str, ref: str, base_path: str, namespace: str) -> Input:
    from ._assets import artifact_path

    problems = []
    for archive in _archives_for(base_path, namespace):
        try:
            path = artifact_path(ref, base=archive)
        except (LookupError, ValueError, FileNotFoundError) as error:
            problems.append(str(error))
            continue
        digest, size = _hash_file(path)
        return Input(ref, path, digest, size, artifact=ref)
    why = problems[0] if problems else "no archive to look in"
    raise UsageError(f"input {name}: {_shown(ref)} is neither a file nor an artifact ({why})")


# -- parameters from the signature ------------------------------------------------------------

_SKIPPED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _signature_parameters(func, file: str) -> dict:
    """The function's arguments as parameters: annotation (a postponed one evaluated in the
    function's module), default, and an ``unset`` error for a required one."""
    parameters = {}
    glob = getattr(func, "__globals__", {})
    for argument in inspect.signature(func).parameters.values():
        if argument.kind in _SKIPPED_KINDS:
            continue
        annotation = argument.annotation
        if annotation is inspect.Parameter.empty:
            annotation = None
        elif isinstance(annotation, str):
            annotation = _resolve_annotation(annotation, glob)
        required = argument.default is inspect.Parameter.empty
        value = None if required else argument.default
        type_name = "Input" if _is_input(annotation) else None
        parameter = Parameter(argument.name, value, annotation, type_name, "", file)
        if required:
            parameter.unset = (f"{getattr(func, '__name__', 'the function')}: parameter "
                               f"{argument.name} is required (it has no default): give "
                               f"--{argument.name} VALUE")
        parameters[argument.name] = parameter
    return parameters


def _typed(name: str, parameter: Parameter, value):
    """A value given in Python checked against the parameter's annotation (an int for a
    float becomes a float); UsageError naming the parameter when it does not fit."""
    annotation = parameter.annotation
    if getattr(value, "shape", None) == () and callable(getattr(value, "item", None)):
        value = value.item()  # a numpy scalar: its Python number
    if annotation is None or _is_input(annotation):
        return value
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and annotation is not str and not _check(value, annotation):
        try:
            return _convert(value, annotation, parameter.value)  # text, as on the command line
        except ValueError:
            pass
    if not _check(value, annotation):
        raise UsageError(f"parameter {name} ({parameter.type_name}) cannot be "
                         f"{_shown(repr(value))}: not {_type_name(annotation, None)}")
    return value


# -- the canonical form of values, for the cache key ------------------------------------------

def _canonical(value, where: str, depth: int = 0):
    """A JSON form of ``value`` that equal values share and different ones do not: floats
    kept apart from ints, tuples from lists, functions and classes by qualified name;
    UsageError for a value with no such form."""
    if depth > 100:
        raise UsageError(f"{where}: nested too deeply for a cache key")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if -2**63 <= value < 2**63 else {"int": str(value)}
    if isinstance(value, float):
        return {"float": repr(value)} if not math.isfinite(value) or value.is_integer() \
            else value
    if isinstance(value, (list, tuple)):
        items = [_canonical(item, where, depth + 1) for item in value]
        return items if isinstance(value, list) else {"tuple": items}
    if isinstance(value, (set, frozenset)):
        items = [_canonical(item, where, depth + 1) for item in value]
        return {"set": sorted(items, key=lambda item: json.dumps(item, sort_keys=True))}
    if isinstance(value, dict):
        return {"dict": sorted(([_canonical(key, where, depth + 1),
                                 _canonical(item, where, depth + 1)]
                                for key, item in value.items()),
                               key=lambda pair: json.dumps(pair[0], sort_keys=True))}
    if isinstance(value, Input):
        return {"input": value.ref}
    if isinstance(value, os.PathLike):
        return {"path": os.fspath(value)}
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
        return {"callable": f"{value.__module__}.{value.__qualname__}"}
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        return _canonical(value.item(), where, depth + 1)  # a numpy scalar
    raise UsageError(f"{where}: a {type(value).__name__} has no canonical form for the cache "
                     "key or the run's record; pass it as an input (a path or "
                     "run:<id>/outputs/<name>) or as plain values")


def _sha256_json(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- the code snapshot ------------------------------------------------------------------------

def _excluded_folders() -> list:
    """Folders whose modules are not the project's: the interpreter's, installed packages'
    and xrun's own."""
    import site
    import sysconfig

    folders = {os.path.dirname(__file__)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            folders.add(path)
    for getter in (getattr(site, "getsitepackages", None),):
        if getter is not None:
            folders.update(getter())
    folders.add(site.getusersitepackages() if hasattr(site, "getusersitepackages") else "")
    folders.update(path for path in sys.path if "site-packages" in path or
                   "dist-packages" in path)
    return [os.path.realpath(folder) for folder in folders if folder]


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _package_root(file: str) -> str:
    """The folder absolute imports of ``file`` start from: its folder, or above the packages
    (folders with ``__init__.py``) that hold it."""
    folder = os.path.dirname(file)
    while os.path.isfile(os.path.join(folder, "__init__.py")) and \
            os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    return folder


def _module_files(folder: str, parts: list) -> list:
    """The files a dotted name under ``folder`` stands for: each package's ``__init__.py`` on
    the way and the module itself (``a/b.py`` or ``a/b/__init__.py``); [] when it is not
    there."""
    found = []
    for depth in range(1, len(parts) + 1):
        path = os.path.join(folder, *parts[:depth])
        if os.path.isfile(path + ".py"):
            found.append(path + ".py")
            break  # a module holds no modules
        if os.path.isfile(os.path.join(path, "__init__.py")):
            found.append(os.path.join(path, "__init__.py"))
            continue
        break
    return found


def _imported_names(file: str) -> list:
    """(folder, dotted parts) of every module ``file`` may import: its ``import`` and ``from
    ... import`` statements anywhere in it (inside functions too), relative ones resolved
    against its folder; absolute ones get folder None (looked up in the search folders)."""
    import ast

    try:
        with open(file, "rb") as handle:
            tree = ast.parse(handle.read(), filename=file)
    except (OSError, SyntaxError, ValueError):
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend((None, alias.name.split(".")) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = node.module.split(".") if node.module else []
            folder = None
            if node.level:
                folder = os.path.dirname(file)
                for _ in range(node.level - 1):
                    folder = os.path.dirname(folder)
            if parts:
                names.append((folder, parts))
            # `from pkg import mod` may name a module as well as a value.
            names.extend((folder, [*parts, alias.name]) for alias in node.names
                         if alias.name != "*")
    return names


_EXCLUDED = []  # the folders of _excluded_folders(), once a process


def local_modules(module_file: str, root: str) -> list:
    """The files of the module at ``module_file`` and of the project's modules it imports,
    directly or through each other (read from their import statements, so a value imported by
    name or an import inside a function counts), that lie under ``root`` and outside the
    interpreter's, installed packages' and xrun's folders."""
    if not _EXCLUDED:
        _EXCLUDED.append(_excluded_folders())
    root = os.path.realpath(root)
    excluded = [folder for folder in _EXCLUDED[0] if not _inside(root, folder)]

    def project_file(path: str) -> bool:
        return _inside(path, root) and not any(_inside(path, folder) for folder in excluded)

    search = [_package_root(os.path.realpath(module_file))]
    search += [os.path.realpath(entry or ".") for entry in sys.path
               if project_file(os.path.realpath(entry or "."))]
    search = list(dict.fromkeys(search))
    files, queue = [], [os.path.realpath(module_file)]
    while queue:
        current = queue.pop()
        if current in files or not project_file(current):
            continue
        files.append(current)
        package = os.path.join(os.path.dirname(current), "__init__.py")
        if os.path.isfile(package):
            queue.append(package)  # the package holding it runs before it
        for folder, parts in _imported_names(current):
            for base in [folder] if folder is not None else search:
                found = _module_files(base, parts)
                queue.extend(os.path.realpath(path) for path in found)
                if found:
                    break
    return sorted(files)


def _code_record(func, module_file: str) -> tuple:
    """({file relative to the module's folder: SHA-256}, dependencies): the code the cache
    key covers, and the files besides the module that the run folder keeps a copy of."""
    root = _package_root(os.path.realpath(module_file)) if module_file else os.getcwd()
    files = local_modules(module_file, root) if module_file else []
    code = {}
    for path in files:
        code[os.path.relpath(path, os.path.realpath(root))] = _hash_file(path)[0]
    if not files:  # defined in a notebook or at the interpreter: its source is its code
        try:
            source = inspect.getsource(func)
        except (OSError, TypeError):
            source = getattr(getattr(func, "__code__", None), "co_code", b"").hex()
        code["<source>"] = hashlib.sha256(source.encode("utf-8")).hexdigest()
    main = os.path.realpath(module_file) if module_file else ""
    dependencies = [path for path in files if path != main]
    return code, dependencies


# -- outputs ----------------------------------------------------------------------------------

class OutputError(Exception):
    """A return value that does not fit the declared outputs, or cannot be stored."""


def named_values(value, declared: list, function_name: str) -> dict:
    """The function's return value by output name: one declared name takes the whole value, a
    tuple or list fills several by position, a dict by key; without declared names a dict's
    items are named by their keys and any other value is ``return``."""
    if not declared:
        if value is None:
            return {}
        if isinstance(value, dict) and all(isinstance(key, str) for key in value):
            return dict(value)
        return {_RETURN: value}
    if len(declared) == 1:
        return {declared[0]: value}
    if isinstance(value, dict):
        missing = [name for name in declared if name not in value]
        if missing:
            raise OutputError(f"{function_name} returned a dict without the outputs "
                              f"{', '.join(missing)} (declared: {', '.join(declared)})")
        return {name: value[name] for name in declared}
    if isinstance(value, (tuple, list)) and len(value) == len(declared):
        return dict(zip(declared, value))
    count = f"{len(value)} values" if isinstance(value, (tuple, list)) else \
        f"one {type(value).__name__}"
    raise OutputError(f"{function_name} returned {count} for {len(declared)} outputs "
                      f"({', '.join(declared)})")


def _plain_result(value):
    """(True, JSON value) for a plain value a result can hold, else (False, None)."""
    if _is_array(value) or _is_frame(value) or isinstance(value, (bytes, bytearray,
                                                                   memoryview, os.PathLike)):
        return False, None
    plain, usable = _jsonable(value)
    if not usable:
        return False, None
    return True, plain


def _is_array(value) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def _is_frame(value) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, (pandas.DataFrame, pandas.Series))


def _kind(name: str, value, allow_pickle: bool, function_name: str) -> tuple:
    """(kind, file suffix) an output value is stored as; OutputError when it cannot be."""
    if _is_array(value):
        if not value.dtype.hasobject:
            return "npy", ".npy"
        if allow_pickle:
            return "pickle", ".pkl"
        raise OutputError(f"output {name!r} of {function_name}: a numpy array of Python "
                          "objects needs pickle; allow it with @xrun.function(pickle=True)")
    if _is_frame(value):
        import importlib.util

        # Parquet where pandas can write it (pyarrow), else CSV.
        return ("parquet", ".parquet") if importlib.util.find_spec("pyarrow") is not None \
            else ("csv", ".csv")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes", ".bin"
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        if not os.path.isfile(path):
            raise OutputError(f"output {name!r} of {function_name}: {path} is not a file")
        return "file", os.path.splitext(path)[1]
    if allow_pickle:
        return "pickle", ".pkl"
    raise OutputError(f"output {name!r} of {function_name}: a {type(value).__module__}."
                      f"{type(value).__qualname__} is stored only as a pickle (which runs "
                      "code when loaded): return arrays, data frames, bytes or a file path, "
                      "or allow it with @xrun.function(pickle=True)")


def _write(handle, kind: str, value):
    """Writes ``value`` as ``kind`` to the binary file ``handle``, streamed where the format
    allows (an array, a file), so a large output is not held twice in memory."""
    if kind == "npy":
        sys.modules["numpy"].save(handle, value, allow_pickle=False)
    elif kind == "pickle":
        import pickle
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    elif kind in ("parquet", "csv"):
        frame = value.to_frame() if not hasattr(value, "columns") else value  # a Series
        if kind == "parquet":
            frame.to_parquet(handle)
            return
        pandas = sys.modules["pandas"]
        plain_index = isinstance(frame.index, pandas.RangeIndex) and \
            frame.index.start == 0 and frame.index.step == 1
        text = (frame if plain_index else frame.reset_index()).to_csv(index=False)
        handle.write(text.encode("utf-8"))
    elif kind == "bytes":
        handle.write(value)
    else:  # a file
        import shutil
        with open(os.fspath(value), "rb") as source:
            shutil.copyfileobj(source, handle, 1 << 20)


def _file_names(names: list) -> dict:
    """Each output's file stem: its name with path separators and leading dots replaced, made
    unique (``a/b`` and ``a_b`` get ``a_b`` and ``a_b-2``)."""
    stems, taken = {}, set()
    for name in names:
        safe = "".join(char if char.isalnum() or char in "-_." else "_" for char in name)
        stem = base = safe.lstrip(".") or "output"
        number = 1
        while stem.lower() in taken:
            number += 1
            stem = f"{base}-{number}"
        taken.add(stem.lower())
        stems[name] = stem
    return stems


def store_outputs(folder: str, named: dict, allow_pickle: bool, function_name: str) -> tuple:
    """Writes the named return values into the run folder ``folder``: plain values as results,
    the others as files of ``outputs/`` listed in ``outputs.json`` (kind, size, SHA-256), each
    written to a temporary name, synced and renamed. Returns (results, entries); raises
    OutputError before writing anything when a value cannot be stored."""
    results, files = {}, []
    for name, value in named.items():
        plain, json_value = _plain_result(value)
        if plain:
            results[name] = json_value
            if isinstance(json_value, dict):
                for key, item in json_value.items():
                    results.setdefault(key, item)
            continue
        files.append((name, value, *_kind(name, value, allow_pickle, function_name)))
    entries = []
    if files:
        os.makedirs(os.path.join(folder, _OUTPUTS_FOLDER), exist_ok=True)
    stems = _file_names([name for name, *_ in files])
    for name, value, kind, suffix in files:
        relative = f"{_OUTPUTS_FOLDER}/{stems[name]}{suffix}"
        path = os.path.join(folder, relative)
        temp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}")
        try:
            with open(temp, "w+b") as handle:
                _write(handle, kind, value)
                handle.flush()
                os.fsync(handle.fileno())
                handle.seek(0)
                digest, size = _hash_stream(handle)
            os.replace(temp, path)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
        entries.append({"name": name, "kind": kind, "file": relative, "size": size,
                        "sha256": digest})
    if entries:
        _write_atomic(os.path.join(folder, _OUTPUTS_FILE),
                      _dumps({"outputs": entries}, indent=2) + "\n")
    return results, entries


# -- the function and its runs ----------------------------------------------------------------

def _module_file(func) -> str:
    module = sys.modules.get(getattr(func, "__module__", "") or "")
    file = getattr(module, "__file__", None) or ""
    if not file:
        code = getattr(func, "__code__", None)
        file = getattr(code, "co_filename", "") if code is not None else ""
    return os.path.abspath(file) if file and os.path.isfile(file) else ""


def _module_stem(func, module_file: str) -> str:
    if module_file:
        return os.path.splitext(os.path.basename(module_file))[0]
    module = getattr(func, "__module__", "") or "main"
    return module.rpartition(".")[2].strip("_") or "main"


class _Prepared:
    """One run about to start: its typed parameters, resolved inputs and the record the meta
    keeps of the function (its cache key and the key's parts, code and lineage)."""

    def __init__(self, parameters: dict, inputs: dict, record: dict, dependencies: list):
        self.parameters = parameters
        self.inputs = inputs
        self.record = record
        self.dependencies = dependencies

    @property
    def cache_key(self) -> str:
        return self.record["cache_key"]

    def arguments(self) -> dict:
        """The keyword arguments of the call: the values, an Input for each input."""
        return {name: self.inputs.get(name, parameter.value)
                for name, parameter in self.parameters.items()}

    def call(self, func):
        """``func`` called with the values: positional-only arguments by position."""
        values = self.arguments()
        positional = [values.pop(argument.name) for argument in
                      inspect.signature(func).parameters.values()
                      if argument.kind is inspect.Parameter.POSITIONAL_ONLY
                      and argument.name in values]
        return func(*positional, **values)


class Function:
    """A function whose calls can be recorded as runs: calling it calls the function (nothing
    recorded); ``run(**params)`` records a run; ``find_done(**params)`` is the done run with
    the same cache key, if any."""

    def __init__(self, func, outputs=None, cache: bool = False, pickle: bool = False,
                 name: str = None, base=None, namespace: str = None):
        if not callable(func):
            raise TypeError(f"xrun.function needs a function, not {type(func).__name__}")
        if isinstance(outputs, str):
            outputs = [outputs]
        outputs = list(outputs or [])
        for output in outputs:
            if not isinstance(output, str) or not output:
                raise TypeError(f"xrun.function(outputs=...): names are strings, not "
                                f"{output!r}")
        if len(set(outputs)) != len(outputs):
            raise TypeError(f"xrun.function(outputs={outputs!r}): a name is given twice")
        self.func = func
        self.outputs = outputs
        self.cache = bool(cache)
        self.pickle = bool(pickle)
        self.name = name or getattr(func, "__name__", "function")
        self.module_file = _module_file(func)
        stem = _module_stem(func, self.module_file)
        self.base_path = os.path.abspath(base) if base is not None else (
            os.path.dirname(self.module_file) if self.module_file else os.getcwd())
        self.namespace = namespace or f"results/{stem}/{self.name}"
        # Named by its module's file, not by how that was imported (`python3 mod.py`,
        # `import pkg.mod` and `xrun run pkg/mod.py:train` agree).
        self.qualified_name = f"{stem}.{getattr(func, '__qualname__', self.name)}"
        self.__doc__ = getattr(func, "__doc__", None)
        self.__name__ = self.name
        self.__wrapped__ = func

    def __repr__(self):
        return f"<xrun.function {self.qualified_name}>"

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)

    @property
    def parameters(self) -> dict:
        """The function's parameters by name, typed from its signature."""
        return _signature_parameters(self.func, self.module_file)

    @property
    def namespace_folder(self) -> str:
        return os.path.join(self.base_path, self.namespace)

    # -- preparing a run ----------------------------------------------------------------------
    def _parameters_given(self, params: dict) -> dict:
        """The signature's parameters with ``params`` applied (typed); UsageError naming an
        unknown or ill-typed parameter, or a required one left out."""
        parameters = self.parameters
        for key, value in params.items():
            if key not in parameters:
                raise UsageError(f"{self.name} has no parameter {_shown(str(key))}"
                                 f"{_did_you_mean(str(key), parameters)}")
            parameter = parameters[key]
            parameter.value = _typed(key, parameter, value)
            parameter.source = "cli"  # given by the caller, as the command line gives it
            parameter.unset = None
        return parameters

    def prepare(self, parameters: dict, base_path: str = None, namespace: str = None,
                hash_code: bool = True) -> _Prepared:
        """The record of a run with these resolved ``parameters``: inputs resolved and hashed
        (UsageError for one that names nothing), the cache key and its parts."""
        for parameter in parameters.values():
            if parameter.unset:
                raise UsageError(parameter.unset)
        base_path = base_path or self.base_path
        namespace = namespace or self.namespace
        inputs = {}
        values = {}
        for name, parameter in parameters.items():
            if _is_input(parameter.annotation) and parameter.value is not None:
                inputs[name] = resolve_input(name, parameter.value, base_path, namespace)
                values[name] = {"input": inputs[name].ref}
            else:
                values[name] = _canonical(parameter.value, f"{self.name}: parameter {name}")
        code, dependencies = _code_record(self.func, self.module_file) if hash_code else ({}, [])
        parts = {"parameters": _sha256_json(values),
                 "inputs": _sha256_json({name: item.sha256 for name, item in inputs.items()}),
                 "code": _sha256_json(code)}
        key = _sha256_json({"function": self.qualified_name, **parts})
        record = {"name": self.name, "qualified_name": self.qualified_name,
                  "module": self.module_file, "outputs": list(self.outputs), "cache_key": key,
                  "key_parts": parts, "code": code,
                  "inputs": [item.record(name) for name, item in inputs.items()]}
        return _Prepared(parameters, inputs, record, dependencies)

    def cache_key(self, **params) -> str:
        """The cache key of a run with these parameters (inputs are resolved and hashed)."""
        return self.prepare(self._parameters_given(params)).cache_key

    def find_done(self, **params):
        """The done run of this function with the cache key of these parameters, or None."""
        prepared = self.prepare(self._parameters_given(params))
        return find_done_run(self.namespace_folder, prepared.cache_key)

    # -- running ------------------------------------------------------------------------------
    def run(self, _cache=None, _rerun: bool = False, _base=None, _namespace: str = None,
            _sweep: dict = None, **params) -> "FunctionRun":
        """Records one run of the function with ``params`` in this process (its start, log,
        end and status kept by ``xrun watch`` even when the process is killed) and returns it;
        with caching on (``cache=True`` or ``_cache=True``) the done run of the same cache key
        instead, unless ``_rerun``. A failure of the function is raised once it is recorded."""
        stop_if_importing(f"{self.name}.run()")
        if _xrun is not None:
            raise UsageError(f"{self.name}.run() records a run of its own, which a process of "
                             f"xrun run cannot (it records its one run): call "
                             f"{self.name}(...) there, or run the function with xrun run "
                             f"FILE.py:{self.name}")
        base_path = os.path.abspath(_base) if _base is not None else self.base_path
        namespace = _namespace or self.namespace
        prepared = self.prepare(self._parameters_given(params), base_path, namespace)
        use_cache = self.cache if _cache is None else bool(_cache)
        if use_cache and not _rerun:
            found = find_done_run(os.path.join(base_path, namespace), prepared.cache_key)
            if found is not None:
                return found
        return self._run_here(prepared, base_path, namespace, _sweep)

    def _run_here(self, prepared: _Prepared, base_path: str, namespace: str,
                  sweep: dict = None) -> "FunctionRun":
        from . import _standalone

        records = [parameter.record() for parameter in prepared.parameters.values()]
        extra = {"sweep": dict(sweep)} if sweep else None
        session = _standalone.begin(
            namespace, base=base_path, _records=records, _file=self.module_file,
            _dependencies=prepared.dependencies, _doc=self.__doc__ or "",
            _function=prepared.record, _meta_extra=extra, _name=self.name)
        returned = None
        try:
            value = prepared.call(self.func)
            named = named_values(value, self.outputs, self.name)
            results, _ = store_outputs(session.path, named, self.pickle, self.name)
            _save_results(session.path, results)
            returned = named
        except BaseException as error:
            session.finish(error=error)
            raise
        session.finish()
        return FunctionRun(session.path, returned=returned)


def _save_results(folder: str, results: dict):
    """The results into the run's data (``experiment_data.json``'s ``results``)."""
    path = os.path.join(folder, "experiment_data.json")
    data = {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        pass
    if not isinstance(data, dict):
        data = {}
    if results or "results" not in data:
        data["results"] = {**(data.get("results") or {}), **results}
    _write_atomic(path, _dumps(data, indent=2) + "\n")


def find_done_run(namespace_folder: str, key: str):
    """The newest done run under ``namespace_folder`` whose meta has cache key ``key``, as a
    FunctionRun marked cached; None when there is none."""
    from ._results import _archive_list

    if not os.path.isdir(namespace_folder) or not key.isalnum():
        return None
    rows = _archive_list(namespace_folder,
                         where=f'meta.function.cache_key == "{key}" and status == "done"',
                         sort="-started", limit=1)
    if not rows:
        return None
    run = FunctionRun(rows[0]["path"])
    run.cached = True
    return run


def function(func=None, *, outputs=None, cache: bool = False, pickle: bool = False,
             name: str = None, base=None, namespace: str = None):
    """Makes ``func`` a function whose runs xrun records (``@xrun.function`` or
    ``@xrun.function(outputs=[...])``). ``outputs`` names the return values (a tuple by
    position, a dict by key, a single value by the one name); ``cache=True`` makes ``run()``
    return the done run with the same cache key instead of running again; ``pickle=True``
    allows outputs that only pickle can store. Runs go to ``<base>/<namespace>/<id>``, by
    default ``results/<module>/<function>`` beside the module."""
    settings = dict(outputs=outputs, cache=cache, pickle=pickle, name=name, base=base,
                    namespace=namespace)
    if func is None:
        return lambda given: Function(given, **settings)
    return Function(func, **settings)


def function_of(target, **settings) -> Function:
    """``target`` as a Function: itself when it is one, else a plain callable wrapped (with the
    decorator's ``settings``)."""
    if isinstance(target, Function):
        return target
    maker = getattr(target, "__xrun_function__", None)
    if maker is not None and not isinstance(target, types.FunctionType):
        return maker()
    return Function(target, **settings)


# -- a run's view -----------------------------------------------------------------------------

class FunctionRun(RunView):
    """A function's recorded run: a RunView, whose ``output(name)`` is the value the function
    returned when this process ran it, loaded from the run folder otherwise; ``cached`` is
    True for an earlier run reused for the same cache key."""

    def __init__(self, folder, returned: dict = None):
        super().__init__(folder)
        self._returned = returned or {}
        self.cached = False

    def __repr__(self):
        return f"<FunctionRun {self.id} {self.status}{' cached' if self.cached else ''}>"

    def output(self, name: str, allow_pickle: bool = False):
        if name in self._returned and name in self.outputs:
            return self._returned[name]
        return super().output(name, allow_pickle=allow_pickle)


# -- the child of `xrun run mod.py:NAME` -------------------------------------------------------

def _module_name(file: str) -> tuple:
    """(the dotted name ``file`` is imported under, the folder that name starts from): within
    packages (folders with ``__init__.py``) their dotted path, so relative imports work; else
    its stem, or a name made from its path when the stem is no identifier."""
    real = os.path.realpath(file)
    root = _package_root(real)
    parts = os.path.relpath(os.path.splitext(real)[0], root).split(os.sep)
    if all(part.isidentifier() for part in parts):
        return ".".join(parts), root
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"_xrun_module_{digest}", os.path.dirname(real)


def import_target(file: str, name: str) -> Function:
    """The Function ``name`` of the module ``file``, imported (not as ``__main__``; within its
    packages, so relative imports work) with calls that would start runs ending the import;
    UsageError naming what is missing."""
    import importlib
    import importlib.util

    from ._loading import _module_source

    _module_source(file)
    module_name, root = _module_name(file)
    if root not in sys.path:
        sys.path.insert(0, root)
    parent = module_name.rpartition(".")[0]
    if parent:
        importlib.import_module(parent)  # the packages above it, as an import would
    spec = importlib.util.spec_from_file_location(module_name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    _importing.append(True)
    try:
        spec.loader.exec_module(module)
    except ImportStop:
        pass
    finally:
        _importing.clear()
    target = getattr(module, name, None)
    if target is None:
        candidates = [key for key, value in vars(module).items()
                      if callable(value) and not key.startswith("_")]
        raise UsageError(f"{file} has no function {_shown(name)}"
                         f"{_did_you_mean(name, candidates, '')}")
    if not callable(target) and getattr(target, "__xrun_function__", None) is None:
        raise UsageError(f"{file}: {name} is a {type(target).__name__}, not a function")
    return function_of(target)


def experiment_for(target: Function, file: str):
    """An Experiment that runs ``target``: its parameters the function's, its main function a
    call with their values whose return values are stored as results and outputs; the
    project's modules the function's module imports are kept with each run (and hashed with
    it, by the supervisor and by a sweep's plan alike)."""
    from ._experiment import Experiment

    glob = {"__file__": file, "__doc__": target.__doc__ or "", "__name__": "__xrun_function__"}
    experiment = Experiment(target.base_path, target.namespace, glob)
    experiment.name = target.name
    experiment.parameter_specs = {**target.parameters, **experiment.parameter_specs}
    object.__setattr__(experiment, "function", target)  # never a parameter of that name
    _, dependencies = _code_record(target.func, target.module_file)
    experiment.dependencies.extend(path for path in dependencies
                                   if path not in experiment.dependencies)
    object.__setattr__(experiment, "before_folder",
                       lambda invocation: _before_folder(experiment, invocation))

    def main(e):
        value = e._prepared.call(target.func)
        named = named_values(value, target.outputs, target.name)
        results, _ = store_outputs(e.path, named, target.pickle, target.name)
        e["results"] = results

    experiment.func = main
    return experiment


def _before_folder(experiment, invocation: dict) -> bool:
    """Before a function run's folder is asked for: its inputs resolved and its record made
    (``experiment.function_record``, kept in the meta); with caching on, the done run of the
    same key is named and True returned (nothing runs)."""
    target = experiment.function
    specs = {name: spec for name, spec in experiment.parameter_specs.items()
             if not name.startswith("__")}
    prepared = target.prepare(specs, experiment.base_path, experiment.namespace)
    object.__setattr__(experiment, "_prepared", prepared)
    object.__setattr__(experiment, "function_record", prepared.record)
    cache = invocation.get("cache")
    use_cache = target.cache if cache is None else bool(cache)
    if use_cache and not invocation.get("rerun"):
        found = find_done_run(os.path.join(experiment.base_path, experiment.namespace),
                              prepared.cache_key)
        if found is not None:
            print(f"xrun: {target.name}: run {found.id} is done with the same cache key, so "
                  f"nothing runs (--rerun runs it again): {found.path}", file=sys.stderr)
            return True
    return False
