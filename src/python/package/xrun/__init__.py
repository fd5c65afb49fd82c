"""xrun: run Python experiments and record every run truthfully.

An experiment is a module whose UPPER_CASE globals are its parameters and whose main function
is decorated with an ``Experiment``::

    from xrun import Experiment, file_namespace, folder_path

    # :param LR:
    #     The learning rate.
    LR: float = 0.01

    @Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__),
                glob=globals())
    def experiment(e):
        e.log(f"training with {e.LR}")
        e["metrics/acc"] = 0.9

    experiment.run_if_main()

``xrun run exp.py --LR 0.1`` runs it; so does ``python3 exp.py --LR 0.1``, which hands the run
to the ``xrun`` command so that both give the same run folder.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import io
import json
import math
import os
import shutil
import sys
import time
import tokenize
import traceback
import types
import typing
from pathlib import Path

try:  # present when the module runs inside xrun's embedded interpreter
    import _xrun
except ImportError:  # plain python3: run_if_main() hands over to the xrun command
    _xrun = None

__version__ = getattr(_xrun, "__version__", "0.1.0")
__all__ = ["Experiment", "file_namespace", "folder_path", "UsageError"]

_DATA_FILE = "experiment_data.json"
_TRACK_FOLDER = ".track"
_SAVE_INTERVAL = 1.0  # seconds between background saves of experiment_data.json
_SPECIAL = {
    "__DEBUG__": (False, "bool", "Run into the folder 'debug', replacing the previous debug run."),
    "__PREFIX__": ("", "str", "Put this text and '__' before the run folder's name."),
}


class UsageError(Exception):
    """A wrong command line or experiment definition: reported without a traceback, exit 2."""


def file_namespace(file: str) -> str:
    """``results/<module stem>``: the usual namespace of an experiment module."""
    return "results/" + Path(file).stem


def folder_path(file: str) -> str:
    """The folder that holds ``file``: the usual base path of an experiment module."""
    return str(Path(file).resolve().parent)


# --------------------------------------------------------------------------------------------
# Parameters: discovered from the module's source, typed by declaration, never eval'ed.


class Parameter:
    """One parameter: its declared type, description, current value and where it came from."""

    def __init__(self, name, value, annotation=None, type_name=None, description=""):
        self.name = name
        self.value = value
        self.annotation = annotation  # the evaluated annotation, or None
        self.type_name = type_name or _type_name(annotation, value)
        self.description = description
        self.source = "default"

    def record(self):
        value, usable = _jsonable(self.value)
        return {"name": self.name, "type": self.type_name, "description": self.description,
                "value": value, "usable": usable, "source": self.source}


def _type_name(annotation, value) -> str:
    if annotation is not None:
        if isinstance(annotation, type):
            return annotation.__name__
        return str(annotation).replace("typing.", "")
    if value is None:
        return "Optional"
    return type(value).__name__


def _source_info(path: str):
    """Top-level UPPER_CASE assignments of the module (name -> annotation text) and the
    ``# :param NAME:`` descriptions of its comments."""
    try:
        source = Path(path).read_text(encoding="utf-8")
    except OSError:
        return {}, {}
    assigned = {}
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError:
        return {}, {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            assigned[node.target.id] = ast.unparse(node.annotation)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        assigned.setdefault(name.id, None)
    return assigned, _descriptions(source)


def _descriptions(source: str) -> dict:
    comments = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments.append(token.string[1:])
    except (tokenize.TokenError, SyntaxError):
        return {}
    found, current, lines = {}, None, []
    for comment in comments + [""]:
        stripped = comment.strip()
        if stripped.startswith(":param ") and stripped.count(":") >= 2:
            if current:
                found[current] = " ".join(lines).strip()
            head, _, rest = stripped[len(":param "):].partition(":")
            current, lines = head.strip(), [rest.strip()] if rest.strip() else []
        elif current and stripped and (comment.startswith("  ") or comment.startswith("\t")):
            lines.append(stripped)
        elif current:
            found[current] = " ".join(lines).strip()
            current, lines = None, []
    return found


def _is_data(value) -> bool:
    return not isinstance(value, (types.ModuleType, type, types.FunctionType,
                                  types.BuiltinFunctionType, types.MethodType, Experiment))


def _discover(glob: dict) -> dict:
    path = glob.get("__file__", "")
    assigned, descriptions = _source_info(path) if path else ({}, {})
    annotations = glob.get("__annotations__", {})
    parameters = {}
    for name, value in glob.items():
        if not (name.isupper() and not name.startswith("_")) or not _is_data(value):
            continue
        if assigned and name not in assigned:
            continue  # imported, not declared by this module (e.g. `from os import SEEK_SET`)
        annotation = annotations.get(name)
        type_name = assigned.get(name) or None
        parameters[name] = Parameter(name, value, annotation, type_name,
                                     descriptions.get(name, ""))
    for name, (default, type_name, description) in _SPECIAL.items():
        value = glob.get(name, default)
        parameters[name] = Parameter(name, value, type(default), type_name,
                                     descriptions.get(name, description))
    return parameters


_TRUE = {"true", "yes", "1", "on", "y"}
_FALSE = {"false", "no", "0", "off", "n"}


def _literal(text: str):
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)  # a literal parser: no names, no calls
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError("not a JSON or Python literal") from None


def _check(value, tp):
    """Whether a parsed literal fits the declared type (recursively for containers)."""
    if tp in (None, typing.Any, object):
        return True
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_check(value, arg) for arg in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is None:
        return isinstance(tp, type) and isinstance(value, tp)
    if not isinstance(value, origin):
        return False
    args = typing.get_args(tp)
    if origin in (list, set, frozenset) and args:
        return all(_check(item, args[0]) for item in value)
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_check(item, args[0]) for item in value)
        return len(args) == len(value) and all(map(_check, value, args))
    if origin is dict and len(args) == 2:
        return all(_check(k, args[0]) and _check(v, args[1]) for k, v in value.items())
    return True


def _convert(text: str, tp, default):
    """Converts a command-line text to the declared type ``tp`` (or the default's type)."""
    if tp is None:
        tp = type(default) if default is not None else None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if type(None) in args and text.strip().lower() in ("none", "null"):
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(text, arg, None)
            except ValueError as error:
                errors.append(str(error))
        raise ValueError("; ".join(errors) or "no matching type")
    if tp is None:  # declared as `X = None` without annotation: a literal, else the text
        if text.strip().lower() in ("none", "null"):
            return None
        try:
            return _literal(text)
        except ValueError:
            return text
    if tp is str:
        return text
    if tp is bool:
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("expected true/false, yes/no, on/off or 1/0")
    if tp is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError("not an integer") from None
    if tp is float:
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError("not a number") from None
        if math.isinf(value) and "inf" not in text.lower():
            raise ValueError("out of the range of a float")
        return value
    if tp is type(None):
        if text.strip().lower() in ("none", "null"):
            return None
        raise ValueError("expected none")
    container = origin or tp
    if container in (list, tuple, dict, set, frozenset):
        value = _literal(text)
        if container in (tuple, set, frozenset) and isinstance(value, (list, tuple)):
            value = container(value)
        if not _check(value, tp):
            raise ValueError(f"not a {_type_name(tp, None)}")
        return value
    if isinstance(tp, type):
        try:
            return tp(text)  # e.g. pathlib.Path
        except Exception as error:  # noqa: BLE001 - any constructor failure is a bad value
            raise ValueError(str(error)) from None
    raise ValueError(f"parameters of type {_type_name(tp, None)} cannot be set from the command line")


def _apply_arguments(parameters: dict, args: list, file: str):
    """Applies ``--NAME value`` / ``--NAME=value`` arguments; raises UsageError."""
    index = 0
    while index < len(args):
        arg = args[index]
        if not arg.startswith("--") or len(arg) == 2:
            raise UsageError(f"unexpected argument '{arg}' (parameters are given as --NAME value)")
        name, has_value, text = arg[2:].partition("=")
        if name not in parameters:
            close = difflib.get_close_matches(name, list(parameters), n=1)
            hint = f"; did you mean --{close[0]}?" if close else ""
            raise UsageError(f"{file} has no parameter {name}{hint}")
        parameter = parameters[name]
        if not has_value:
            following = args[index + 1] if index + 1 < len(args) else None
            if following is None or (following.startswith("--") and len(following) > 2
                                      and following[2:].partition("=")[0] in parameters):
                if _check(True, parameter.annotation or type(parameter.value)) and \
                        isinstance(parameter.value, bool):
                    text = "true"
                else:
                    raise UsageError(f"parameter {name} ({parameter.type_name}) needs a value")
            else:
                text = following
                index += 1
        try:
            parameter.value = _convert(text, parameter.annotation, parameter.value)
        except ValueError as error:
            raise UsageError(f"parameter {name} ({parameter.type_name}) cannot be '{text}': "
                             f"{error}") from None
        parameter.source = "cli"
        index += 1


# --------------------------------------------------------------------------------------------
# Values for JSON files: numpy scalars and arrays become numbers and lists, never a broken file.


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars
        return _plain(value.tolist())
    if hasattr(value, "item") and callable(value.item):
        return _plain(value.item())
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)


def _jsonable(value):
    """(JSON value, True), or (repr text, False) for values JSON cannot hold."""
    try:
        return _plain(value), True
    except (TypeError, ValueError, RecursionError):
        return repr(value), False


def _dumps(value, indent=None) -> str:
    def fallback(item):
        return repr(item)
    plain, _ = _jsonable(value)
    return json.dumps(plain, indent=indent, default=fallback, ensure_ascii=False)


def _write_atomic(path: Path, text: str):
    if _xrun is not None:
        _xrun.write_atomic(str(path), text)
        return
    temp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


# --------------------------------------------------------------------------------------------
# The experiment.


class Experiment:
    """An experiment: parameters from the module's globals, a main function, hooks and
    analyses. Use it as a decorator on the main function."""

    def __init__(self, base_path: str, namespace: str, glob: dict, debug: bool = False,
                 name_format=None, notify: bool = True, console_width: int = 120):
        object.__setattr__(self, "_ready", False)
        self.base_path = str(base_path)
        self.namespace = str(namespace)
        self.glob = glob
        self.func = None
        self.hooks = {}
        self.analyses = []
        self.data = {}
        self.path = None
        self.tracked = []
        self.error = None
        self.file = glob.get("__file__", "")
        self.name = Path(self.file).stem if self.file else "experiment"
        doc = glob.get("__doc__") or ""
        self.description = doc.strip()
        self.short_description = self.description.split("\n\n")[0].strip()[:600]
        self.parameter_specs = _discover(glob)
        if debug:
            self.parameter_specs["__DEBUG__"].value = True
        self._track_files = {}
        self._track_steps = {}
        self._last_save = 0.0
        self._ready = True
        glob["__experiment__"] = self
        _Runner.experiments.append(self)

    # decorator use: @Experiment(...) on the main function
    def __call__(self, func):
        self.func = func
        return self

    # -- parameters ------------------------------------------------------------------------
    @property
    def parameters(self) -> dict:
        return {name: spec.value for name, spec in self.parameter_specs.items()}

    def __getattr__(self, name):
        specs = self.__dict__.get("parameter_specs")
        if specs is not None and name in specs:
            return specs[name].value
        raise AttributeError(f"experiment has no attribute or parameter '{name}'")

    def __setattr__(self, name, value):
        specs = self.__dict__.get("parameter_specs")
        if self.__dict__.get("_ready") and specs is not None and name in specs:
            specs[name].value = value
            self.glob[name] = value
            return
        object.__setattr__(self, name, value)

    # -- data ------------------------------------------------------------------------------
    def __setitem__(self, key: str, value):
        if not isinstance(key, str):
            raise TypeError(f"data keys are strings like 'a/b/c', not {type(key).__name__}")
        *parents, last = key.split("/")
        node = self.data
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[last] = value
        self._save_data(force=False)

    def __getitem__(self, key: str):
        node = self.data
        for part in key.split("/"):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(key)
            node = node[part]
        return node

    def __contains__(self, key: str) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def _save_data(self, force: bool):
        if self.path is None:
            return
        now = time.monotonic()
        if not force and now - self._last_save < _SAVE_INTERVAL:
            return
        self._last_save = now
        visible = {k: v for k, v in self.data.items() if not str(k).startswith("_")}
        _write_atomic(Path(self.path) / _DATA_FILE, _dumps(visible))

    # -- logging -----------------------------------------------------------------------------
    def log(self, message, *args):
        text = str(message) if not args else str(message) % args
        print(text, flush=True)

    def log_parameters(self, names=None):
        self.log("parameters:")
        for name in names or self.parameter_specs:
            spec = self.parameter_specs[name]
            self.log(f"  {name} ({spec.type_name}) = {spec.value!r}")

    # -- tracking -----------------------------------------------------------------------------
    def track(self, name: str, value):
        """Appends ``value`` to the series ``name`` (``train/loss`` nests): numbers go to
        ``.track/<name>.csv``, matplotlib figures to ``.track/<name>_NNN.png``."""
        if self.path is None:
            raise RuntimeError("track() is only available while the experiment runs")
        step = self._track_steps.get(name, 0)
        self._track_steps[name] = step + 1
        if name not in self.tracked:
            self.tracked.append(name)
        target = Path(self.path) / _TRACK_FOLDER / name
        if hasattr(value, "savefig"):
            target.parent.mkdir(parents=True, exist_ok=True)
            value.savefig(str(target) + f"_{step:03d}.png")
            return
        number, _ = _jsonable(value)
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise TypeError(f"track('{name}', ...) takes numbers or figures, "
                            f"not {type(value).__name__}")
        handle = self._track_files.get(name)
        if handle is None:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = self._track_files[name] = open(str(target) + ".csv", "a", buffering=1)
            if handle.tell() == 0:
                handle.write("step,value,time\n")
        handle.write(f"{step},{float(value)!r},{time.time():.3f}\n")

    def track_many(self, values: dict):
        for name, value in values.items():
            self.track(name, value)

    def _close_tracks(self):
        for handle in self._track_files.values():
            handle.close()
        self._track_files.clear()

    # -- files -------------------------------------------------------------------------------
    def open(self, name: str, mode: str = "r", *args, **kwargs):
        path = Path(self.path) / name
        if any(flag in mode for flag in "wax"):
            path.parent.mkdir(parents=True, exist_ok=True)
        return builtins.open(path, mode, *args, **kwargs)

    def commit_raw(self, name: str, content: str):
        with self.open(name, "w") as handle:
            handle.write(content)

    def commit_json(self, name: str, data, encoder_cls=None):
        with self.open(name, "w") as handle:
            if encoder_cls is not None:
                json.dump(data, handle, cls=encoder_cls)
            else:
                handle.write(_dumps(data))

    def commit_fig(self, name: str, figure):
        path = Path(self.path) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(str(path))

    # -- hooks and analyses ------------------------------------------------------------------
    def hook(self, name: str, replace: bool = True, default: bool = True):
        """Registers the decorated function under ``name``: ``replace=True`` replaces what is
        registered, ``replace=False`` runs after it."""
        def register(func):
            if replace:
                self.hooks[name] = [func]
            else:
                self.hooks.setdefault(name, []).append(func)
            return func
        return register

    def apply_hook(self, name: str, default=None, **kwargs):
        """Calls every function registered under ``name`` as ``func(e, **kwargs)`` and returns
        the last result, or ``default`` when none is registered."""
        result = default
        for func in self.hooks.get(name, []):
            result = func(self, **kwargs)
        return result

    def analysis(self, func):
        """Registers ``func(e)`` to run after a successful run, and again from the run
        folder's ``analysis.py``."""
        self.analyses.append(func)
        return func

    def run_analyses(self):
        for func in self.analyses:
            func(self)

    @classmethod
    def load(cls, path) -> "Experiment":
        """The experiment of an archived run folder, with the run's parameter values and data:
        imports the folder's ``experiment_code.py`` (without running it)."""
        import importlib.util

        folder = Path(path).resolve()
        meta = json.loads((folder / "experiment_meta.json").read_text(encoding="utf-8"))
        origin = meta.get("experiment_path")
        for extra in [str(folder), os.path.dirname(origin) if origin else None]:
            if extra and extra not in sys.path:
                sys.path.append(extra)  # the experiment's own imports (`from models import MLP`)
        before = len(_Runner.experiments)
        spec = importlib.util.spec_from_file_location("experiment_code",
                                                      folder / "experiment_code.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules.setdefault("experiment_code", module)
        spec.loader.exec_module(module)
        if len(_Runner.experiments) == before:
            raise UsageError(f"{folder}/experiment_code.py defines no experiment")
        experiment = _Runner.experiments[-1]
        for name, record in meta.get("parameters", {}).items():
            spec_ = experiment.parameter_specs.get(name)
            if spec_ is not None and record.get("usable", True) and "value" in record:
                value = record["value"]
                if isinstance(spec_.value, tuple) and isinstance(value, list):
                    value = tuple(value)
                spec_.value = value
                experiment.glob[name] = value
        data_file = folder / _DATA_FILE
        experiment.data = json.loads(data_file.read_text(encoding="utf-8")) \
            if data_file.exists() else {}
        experiment.meta = meta
        experiment.tracked = list(meta.get("tracked", []))
        experiment.path = str(folder)
        return experiment

    # -- running -----------------------------------------------------------------------------
    def run_if_main(self):
        """Runs the experiment when its module is the main program."""
        if self.glob.get("__name__") == "__main__":
            self.run()

    def run(self):
        if _xrun is None:
            _hand_over(self.file)
        _Runner.run(self)


def _hand_over(file: str):
    """Under plain python3: run the same command through xrun, so that the run folder is the
    same as with `xrun run` (the supervisor records the run whatever happens to Python)."""
    recorded = Path(__file__).with_name("xrun_binary.txt")
    binary = os.environ.get("XRUN")
    if not binary and recorded.is_file() and os.access(recorded.read_text().strip(), os.X_OK):
        binary = recorded.read_text().strip()  # the xrun that exported this package
    binary = binary or shutil.which("xrun")
    if not binary:
        sys.stderr.write("xrun: error: the xrun command is not on PATH (set XRUN=/path/to/xrun)\n")
        raise SystemExit(2)
    sys.stdout.flush()
    sys.stderr.flush()
    given = sys.argv[0] if sys.argv and os.path.abspath(sys.argv[0]) == os.path.abspath(file) \
        else file
    os.execv(binary, [binary, "run", given, *sys.argv[1:]])


class _Runner:
    """What the embedded interpreter does with the experiment module: resolve parameters, ask
    the supervisor for a run folder, run, and report how it ended."""

    experiments: list = []
    ran = False

    @classmethod
    def run(cls, experiment: Experiment):
        if cls.ran:
            return
        cls.ran = True
        invocation = json.loads(_xrun.invocation())
        specs = experiment.parameter_specs
        _apply_arguments(specs, invocation["args"], invocation["file"])
        mode = invocation["mode"]
        if mode == "help":
            _print_help(experiment, invocation["file"])
            return
        if mode == "dry-run":
            _print_parameters(experiment)
            return
        if experiment.func is None:
            raise UsageError(f"{invocation['file']}: the Experiment decorates no function")
        reply = json.loads(_xrun.request(json.dumps({
            "type": "prepare",
            "base_path": experiment.base_path,
            "namespace": experiment.namespace,
            "prefix": str(specs["__PREFIX__"].value or ""),
            "debug": bool(specs["__DEBUG__"].value),
            "name": experiment.name,
            "python_version": sys.version.split()[0],
            "python_executable": sys.executable,
            "description": experiment.description,
            "short_description": experiment.short_description,
            "parameters": [spec.record() for spec in specs.values()],
            "hooks": [{"name": name, "count": len(funcs)}
                      for name, funcs in experiment.hooks.items()],
        })))
        if "error" in reply:
            raise UsageError(reply["error"])
        experiment.path = reply["path"]
        for name, spec in specs.items():
            experiment.glob[name] = spec.value
        outcome = {"type": "finish"}
        try:
            experiment.apply_hook("before_run")
            experiment.func(experiment)
            experiment.apply_hook("after_run")
        except KeyboardInterrupt:
            outcome.update(error_type="KeyboardInterrupt", interrupted=True)
            sys.stderr.write("xrun: the experiment was interrupted\n")
            raise
        except SystemExit as error:
            if error.code not in (0, None):
                outcome.update(error_type="SystemExit", error_message=str(error.code))
            raise
        except BaseException as error:
            outcome.update(error_type=type(error).__name__, error_message=str(error))
            experiment.error = error
            raise
        finally:
            experiment._close_tracks()
            try:
                experiment._save_data(force=True)
            finally:
                outcome["tracked"] = experiment.tracked
                outcome["hooks"] = [{"name": name, "count": len(funcs)}
                                    for name, funcs in experiment.hooks.items()]
                _xrun.notify(json.dumps(outcome))
        for analysis in experiment.analyses:
            analysis(experiment)


def _print_help(experiment: Experiment, file: str):
    print(f"usage: xrun run {file} [--NAME VALUE ...]\n")
    if experiment.short_description:
        print(experiment.short_description + "\n")
    print("parameters:")
    for name, spec in experiment.parameter_specs.items():
        print(f"  --{name} ({spec.type_name}), default: {spec.value!r}")
        if spec.description:
            print(f"      {spec.description}")


def _print_parameters(experiment: Experiment):
    for name, spec in experiment.parameter_specs.items():
        print(f"{name} ({spec.type_name}) = {spec.value!r}    [{spec.source}]")


def _print_traceback(error: BaseException):
    """The traceback of ``error`` without xrun's own frames: the experiment's code only."""
    trace = traceback.TracebackException.from_exception(error)
    for item in [trace, *_chained(trace)]:
        kept = [frame for frame in item.stack
                if frame.filename != "<xrun>" and not frame.filename.startswith("<frozen ")]
        item.stack = traceback.StackSummary.from_list(kept)
    sys.stderr.write("".join(trace.format()))


def _chained(trace):
    while True:
        trace = trace.__cause__ or (None if trace.__suppress_context__ else trace.__context__)
        if trace is None:
            return
        yield trace


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _load_error(file: str, error: BaseException) -> str:
    """One clear line for an error raised while the module was being loaded."""
    if isinstance(error, SyntaxError):
        where = f"{error.filename or file}:{error.lineno or '?'}"
        if error.offset:
            where += f":{error.offset}"
        return f"{where}: {type(error).__name__}: {error.msg}"
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if os.path.abspath(frame.filename) == os.path.abspath(file)]
    where = f"{file}:{frames[-1].lineno}" if frames else file
    return f"{where}: {type(error).__name__}: {error}"


def _main() -> int:
    """Entry point of the embedded interpreter: runs the module and returns the exit code."""
    import runpy
    import signal

    invocation = json.loads(_xrun.invocation())
    file = invocation["file"]
    sys.argv = [file, *invocation["args"]]
    sys.path.insert(0, os.path.dirname(os.path.abspath(file)))
    if invocation["mode"] == "run":
        signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        try:
            runpy.run_path(file, run_name="__main__")
            if not _Runner.experiments:
                raise UsageError(f"{file} defines no experiment: create an xrun.Experiment "
                                 f"and decorate the main function with it")
            if not _Runner.ran:
                _Runner.run(_Runner.experiments[-1])
        except UsageError:
            raise
        except BaseException as error:
            started = any(e.path is not None for e in _Runner.experiments)
            if started or isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            if not isinstance(error, SyntaxError):
                _print_traceback(error)
            raise UsageError(f"cannot load {_load_error(file, error)}") from None
    except UsageError as error:
        sys.stdout.flush()
        sys.stderr.write(f"xrun: error: {error}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    except SystemExit as error:
        if error.code is None:
            return 0
        if isinstance(error.code, int):
            return error.code
        sys.stderr.write(f"{error.code}\n")
        return 1
    except BaseException as error:
        _print_traceback(error)
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0
