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

import builtins
import math
import os
import sys
import time
import types

# Everything else is imported where it is needed: start-up time is part of every run.

try:  # present when the module runs inside xrun's embedded interpreter
    import _xrun
except ImportError:  # plain python3: run_if_main() hands over to the xrun command
    _xrun = None

__version__ = getattr(_xrun, "__version__", "0.1.0")
__all__ = ["Experiment", "ExperimentMixin", "INHERIT", "file_namespace", "folder_path",
           "UsageError", "PluginEvent", "PLUGIN_HOOKS"]

_DATA_FILE = "experiment_data.json"
_TRACK_FOLDER = ".track"
_SAVE_INTERVAL = 1.0  # seconds between background saves of experiment_data.json
_SPECIAL = {
    "__DEBUG__": (False, "bool", "Run into the folder 'debug', replacing the previous debug run."),
    "__PREFIX__": ("", "str", "Put this text and '__' before the run folder's name."),
    "__INCLUDE__": (None, "Optional[str | list[str]]",
                    "Mixin files to include: one path, a list, or comma-separated paths."),
}
_SPECIAL_TYPES = {"__INCLUDE__": None}  # by default type; None: a literal, else the text
# How deep a value given as text may nest: the bound every converter of parameter values keeps
# (core/value_limits.hpp), so that none of them can exhaust the stack.
_MAX_DEPTH = getattr(_xrun, "MAX_DEPTH", 100)
_SHOWN = 200  # characters of a value an error message echoes


class UsageError(Exception):
    """A wrong command line or experiment definition: reported without a traceback, exit 2."""


def _prefix(kind: str) -> str:
    """``xrun: error:`` or ``xrun: warning:``, in color as the C++ side prints it when stderr
    is a terminal (https://no-color.org: a non-empty NO_COLOR turns it off). Inside
    ``xrun run`` stderr is a pipe to the supervisor, which colors the prefix on the terminal
    and keeps the log plain."""
    text = f"xrun: {kind}:"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb" or not os.isatty(2):
        return text
    return f"\033[1;{31 if kind == 'error' else 33}m{text}\033[0m"


def _shown(text: str) -> str:
    """``text`` as an error message echoes it: whole up to _SHOWN characters, else cut with an
    ellipsis and its length (as util::shorten does on the C++ side)."""
    text = str(text)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}… ({len(text)} characters)"


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: "an int", "a list[int]"."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


class _NotRecorded(Exception):
    """The supervisor could not record the run's start (and says why): the run does not start."""


def file_namespace(file: str) -> str:
    """``results/<module stem>``: the usual namespace of an experiment module."""
    return "results/" + os.path.splitext(os.path.basename(file))[0]


def folder_path(file: str) -> str:
    """The folder that holds ``file``: the usual base path of an experiment module."""
    return os.path.dirname(os.path.realpath(file))


# --------------------------------------------------------------------------------------------
# Parameters: discovered from the module's source, typed by declaration, never eval'ed.


class Parameter:
    """One parameter: its declared type, description, current value and where it came from."""

    def __init__(self, name, value, annotation=None, type_name=None, description="",
                 source_file=""):
        self.name = name
        self.value = value
        self.annotation = annotation  # the evaluated annotation, or None
        self.type_name = type_name or _type_name(annotation, value)
        self.description = description
        self.source = "default"  # default, base, config or cli
        self.source_file = source_file  # the module or config file the value comes from
        # A config's value that needs an environment variable that is not set: the error to
        # report unless a later source (the command line, a sweep) gives a value.
        self.unset = None

    def record(self):
        value, usable = _jsonable(self.value)
        record = {"name": self.name, "type": self.type_name, "description": self.description,
                  "value": value, "usable": usable, "source": self.source}
        if usable and _lossy(self.value):
            record["exact"] = repr(self.value)  # JSON holds NaN as null, 2**70 as a float
        if self.source_file:
            record["source_file"] = self.source_file
        return record


def _lossy(value) -> bool:
    """Whether JSON loses something of the value: infinities and NaN, integers beyond 64 bits."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return not -2**63 <= value < 2**64
    if isinstance(value, dict):
        return any(_lossy(item) for item in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_lossy(item) for item in value)
    return False


def _type_name(annotation, value) -> str:
    if annotation is not None:
        if isinstance(annotation, type):
            return annotation.__name__
        return str(annotation).replace("typing.", "")
    if value is None:
        return "Optional"
    return type(value).__name__


_UNION = types.UnionType  # `int | None`; typing.Union is mapped onto it by _origin()


def _origin(tp):
    """typing.get_origin() without importing typing: a module whose annotations use typing
    has imported it already."""
    typing = sys.modules.get("typing")
    if typing is not None:
        origin = typing.get_origin(tp)
        return _UNION if origin is typing.Union else origin
    if isinstance(tp, types.UnionType):
        return _UNION
    return getattr(tp, "__origin__", None)


def _args(tp) -> tuple:
    return getattr(tp, "__args__", ())


def _is_any(tp) -> bool:
    typing = sys.modules.get("typing")
    return typing is not None and tp is typing.Any


def _source_info(path: str):
    """Top-level assignments of the module (name -> annotation text or None) and its
    ``# :param NAME:`` and ``# :hook NAME:`` descriptions, read from the source by xrun (no
    import of ast needed). Outside xrun nothing is known: every UPPER_CASE data global counts."""
    if not path:
        return {}, {}, {}
    if _xrun is None:
        return _assigned_names(path), {}, {}
    scan = _xrun.scan_module(path)
    assigned = {item["name"]: item["annotation"] or None for item in scan["assignments"]}
    return assigned, scan["descriptions"], scan["hooks"]


def _assigned_names(path: str) -> dict:
    """Outside xrun (re-loading an archived run in plain Python): the names assigned at the
    start of a line, which tells the module's own parameters from imported names."""
    import re

    try:
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
    except (OSError, ValueError):  # unreadable, or in another encoding: the names are unknown
        return {}
    found = re.findall(r"^([A-Za-z_]\w*)\s*(?::\s*([^=\n]+?))?\s*=(?!=)", source, re.MULTILINE)
    return {name: (annotation or None) for name, annotation in reversed(found)}


def _resolve_annotation(text: str, glob: dict):
    """A postponed annotation ("list[int]") as the type it names, evaluated in its module, as
    typing.get_type_hints() would; None when it cannot be."""
    try:
        return eval(text, dict(glob))  # the module's own annotation, not user input
    except Exception:  # noqa: BLE001 - an unresolvable annotation just leaves the type open
        return None


def _is_data(value) -> bool:
    return not isinstance(value, (types.ModuleType, type, types.FunctionType,
                                  types.BuiltinFunctionType, types.MethodType, Experiment,
                                  ExperimentMixin))


def _discover(glob: dict, assigned: dict, descriptions: dict, file: str = "",
              specials: bool = True) -> dict:
    annotations = glob.get("__annotations__", {})
    file = os.path.abspath(file) if file else ""
    parameters = {}
    for name, value in glob.items():
        if not (name.isupper() and not name.startswith("_")) or not _is_data(value):
            continue
        if assigned and name not in assigned:
            continue  # imported, not declared by this module (e.g. `from os import SEEK_SET`)
        annotation = annotations.get(name)
        if isinstance(annotation, str):  # `from __future__ import annotations`
            annotation = _resolve_annotation(annotation, glob)
        type_name = assigned.get(name) or None
        parameters[name] = Parameter(name, value, annotation, type_name,
                                     descriptions.get(name, ""), file)
    for name, (default, type_name, description) in _SPECIAL.items() if specials else ():
        value = glob.get(name, default)
        parameters[name] = Parameter(name, value, _SPECIAL_TYPES.get(name, type(default)),
                                     type_name, descriptions.get(name, description),
                                     file if name in glob else "")
    return parameters


_TRUE = {"true", "yes", "1", "on", "y"}
_FALSE = {"false", "no", "0", "off", "n"}


def _long_digit_run(text: str) -> bool:
    """Whether ``text`` holds a number of more than 18 digits (an int beyond 64 bits, which
    only Python's own parsers keep exact)."""
    run = 0
    for char in text:
        run = run + 1 if "0" <= char <= "9" else 0
        if run > 18:
            return True
    return False


def _check_nesting(text: str):
    """Refuses a literal nested deeper than _MAX_DEPTH before any parser recurses into it
    (brackets inside quotes do not count)."""
    if sum(text.count(bracket) for bracket in "[{(") <= _MAX_DEPTH:
        return
    depth, quote, escaped = 0, None, False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "[{(":
            depth += 1
            if depth > _MAX_DEPTH:
                raise ValueError(f"nested more than {_MAX_DEPTH} levels deep")
        elif char in "]})":
            depth -= 1


def _literal(text: str):
    _check_nesting(text)
    try:
        if _xrun is not None and not _long_digit_run(text):
            return _xrun.loads(text)
        return __import__("json").loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        import ast
        tree = ast.parse(text.strip(), mode="eval")
        # Containers written by repr() hold NaN and infinities as the names nan and inf: those
        # two become numbers inside a container (a bare word stays a word); any other name
        # stays and is refused (no names, no calls).
        containers = (ast.List, ast.Tuple, ast.Dict, ast.Set)
        for node in ast.walk(tree.body) if isinstance(tree.body, containers) else ():
            for field, child in ast.iter_fields(node):
                if isinstance(child, ast.Name) and child.id in ("nan", "inf"):
                    setattr(node, field, ast.Constant(float(child.id)))
                elif isinstance(child, list):
                    child[:] = [ast.Constant(float(item.id))
                                if isinstance(item, ast.Name) and item.id in ("nan", "inf")
                                else item for item in child]
        return ast.literal_eval(tree)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError("not a JSON or Python literal") from None


def _check(value, tp):
    """Whether a parsed literal fits the declared type (recursively for containers)."""
    if tp is None or tp is object or _is_any(tp):
        return True
    origin = _origin(tp)
    if origin is _UNION:
        return any(_check(value, arg) for arg in _args(tp))
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    typing = sys.modules.get("typing")  # annotations using it have imported it already
    if typing is not None and origin is typing.Literal:
        return value in _args(tp)
    if origin is None:
        return isinstance(tp, type) and isinstance(value, tp)
    if not isinstance(origin, type):
        return True  # Annotated, Callable, ...: not checked
    if not isinstance(value, origin):
        return False
    args = _args(tp)
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
    origin = _origin(tp)
    if origin is _UNION:
        args = _args(tp)
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
            raise ValueError(f"not {_a(_type_name(tp, None))}")
        return value
    if isinstance(tp, type):
        try:
            return tp(text)  # e.g. pathlib.Path
        except Exception as error:  # noqa: BLE001 - any constructor failure is a bad value
            raise ValueError(_shown(error)) from None
    typing = sys.modules.get("typing")
    if typing is not None and origin is typing.Literal:
        choices = _args(tp)
        for choice in choices:  # `--KIND cnn` for Literal["mlp", "cnn"], or a literal 2, True
            if choice == text or (not isinstance(choice, str) and repr(choice) == text.strip()):
                return choice
        raise ValueError(f"expected one of {', '.join(map(repr, choices))}")
    raise ValueError(f"parameters of type {_type_name(tp, None)} cannot be set from the command line")


def _did_you_mean(name: str, known, prefix: str = "") -> str:
    known = list(known)
    same = [candidate for candidate in known if candidate.lower() == name.lower()]
    if same:  # `--lr` for `--LR`: a difference of case only
        return f"; did you mean {prefix}{same[0]}?"
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {prefix}{close[0]}?" if close else ""


def _apply_arguments(parameters: dict, args: list, file: str):
    """Applies ``--NAME value`` / ``--NAME=value`` arguments; raises UsageError."""
    index = 0
    while index < len(args):
        arg = args[index]
        if not arg.startswith("--") or len(arg) == 2:
            raise UsageError(f"unexpected argument '{_shown(arg)}' (parameters are given as "
                             f"--NAME value)")
        name, has_value, text = arg[2:].partition("=")
        if name not in parameters:
            raise UsageError(f"{file} has no parameter {_shown(name)}"
                             f"{_did_you_mean(name, parameters, '--')}")
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
            raise UsageError(f"parameter {name} ({parameter.type_name}) cannot be "
                             f"'{_shown(text)}': {error}") from None
        parameter.source = "cli"
        parameter.unset = None
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
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(type(value).__name__)


def _jsonable(value):
    """(JSON value, True), or (repr text, False) for values JSON cannot hold."""
    try:
        return _plain(value), True
    except (TypeError, ValueError, RecursionError):
        return repr(value), False


def _plain_or_repr(value):
    """For values JSON has no form for: numpy scalars and arrays as numbers and lists, others
    as their repr(), so that a data file is always complete and valid."""
    plain, _ = _jsonable(value)
    return plain


def _dumps(value, indent=None) -> str:
    if _xrun is not None:
        return _xrun.dumps(value, _plain_or_repr, -1 if indent is None else indent)
    import json
    return json.dumps(_plain_or_repr(value), indent=indent, ensure_ascii=False)


def _write_atomic(path: str, text: str):
    if _xrun is not None:
        _xrun.write_atomic(str(path), text)
        return
    folder, name = os.path.split(path)
    temp = os.path.join(folder, f".{name}.tmp.{os.getpid()}")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


# --------------------------------------------------------------------------------------------
# The experiment.


class _ParameterView(dict):
    """``e.parameters``: a dict of the current values that writes assignments through."""

    def __init__(self, experiment):
        super().__init__((name, spec.value) for name, spec in experiment.parameter_specs.items())
        self._experiment = experiment

    def __setitem__(self, name, value):
        if name not in self._experiment.parameter_specs:
            raise KeyError(f"the experiment has no parameter {name}")
        setattr(self._experiment, name, value)
        super().__setitem__(name, value)


class Experiment:
    """An experiment: parameters from the module's globals, a main function, hooks and
    analyses. Use it as a decorator on the main function."""

    def __init__(self, base_path: str, namespace: str, glob: dict, debug: bool = False,
                 name_format=None, notify: bool = True, console_width: int = 120):
        object.__setattr__(self, "_ready", False)
        self.base_path = str(base_path)
        self.namespace = str(namespace)
        self.globs = [glob]  # the module's globals; with extend(), the base's first
        self.func = None
        self._registrations = []  # (level, order, sequence, name, func, replace)
        self._level = 0  # how many extend() steps above the first base
        self.dependencies = []  # files of bases and mixins, copied into every run folder
        self.mixins = []
        self.analyses = []
        self.data = {}
        self.path = None
        self.tracked = []
        self.error = None
        self.file = glob.get("__file__", "")
        self.name = os.path.splitext(os.path.basename(self.file))[0] if self.file \
            else "experiment"
        self._describe(glob.get("__doc__") or "")
        assigned, descriptions, self.hook_descriptions = _source_info(self.file)
        self.parameter_specs = _discover(glob, assigned, descriptions, self.file)
        if debug:
            self.parameter_specs["__DEBUG__"].value = True
        self._series = set()
        self._figure_steps = {}
        self._ready = True
        glob["__experiment__"] = self
        _Runner.experiments.append(self)

    def _describe(self, text: str):
        """The description, and its first paragraph (at most 600 characters) as the short one."""
        self.description = text.strip()
        self.short_description = self.description.split("\n\n")[0].strip()[:600]

    # decorator use: @Experiment(...) on the main function
    def __call__(self, func):
        self.func = func
        return self

    # -- parameters ------------------------------------------------------------------------
    @property
    def parameters(self) -> "_ParameterView":
        """The parameter values by name; assigning to one sets the parameter (and its global)."""
        return _ParameterView(self)

    def __getattr__(self, name):
        specs = self.__dict__.get("parameter_specs")
        if specs is not None and name in specs:
            return specs[name].value
        raise AttributeError(f"experiment has no attribute or parameter '{name}'")

    def __setattr__(self, name, value):
        specs = self.__dict__.get("parameter_specs")
        if self.__dict__.get("_ready") and specs is not None and name in specs:
            specs[name].value = value
            self._publish(name, value)
            return
        object.__setattr__(self, name, value)

    @property
    def glob(self) -> dict:
        """The globals of the module being run (the last to extend)."""
        return self.globs[-1]

    def _publish(self, name, value):
        """Every module of the chain sees a parameter's value as its global."""
        for glob in self.globs:
            glob[name] = value

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
        if _xrun is not None:
            _xrun.data_changed()  # saved in the background within a second
        elif self.path is not None:
            self._save_data()

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

    def _save_data(self):
        if self.path is None:
            return
        visible = {k: v for k, v in self.data.items() if not str(k).startswith("_")}
        _write_atomic(os.path.join(self.path, _DATA_FILE), _dumps(visible, indent=2) + "\n")

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
        ``.track/<name>.csv`` as ``step,value,time`` lines, matplotlib figures to
        ``.track/<name>_NNN.png``. While the experiment runs, this is a native function."""
        return self._track_slow(name, value)

    def _track_slow(self, name, value):
        """What the native ``track`` hands over: new series, figures, non-float numbers."""
        if self.path is None or _xrun is None:
            raise RuntimeError("track() is only available while the experiment runs")
        if not isinstance(name, str) or not name or name.startswith("/") \
                or ".." in name.split("/"):
            raise ValueError(f"a tracked series needs a name like 'train/loss', not {name!r}")
        target = os.path.join(self.path, _TRACK_FOLDER, name)
        if hasattr(value, "savefig"):
            step = self._figure_steps.get(name, 0)
            self._figure_steps[name] = step + 1
            os.makedirs(os.path.dirname(target), exist_ok=True)
            value.savefig(f"{target}_{step:03d}.png")
            if name not in self.tracked:
                self.tracked.append(name)
            return
        try:  # numpy scalars, Decimal, ...; NaN and infinities are values too
            number = float(value) if not isinstance(value, (bool, str, bytes)) else None
        except (TypeError, ValueError):
            number = None
        if number is None:
            raise TypeError(f"track('{name}', ...) takes numbers or figures, "
                            f"not {type(value).__name__}")
        if name not in self._series:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            _xrun.track_register(name, target + ".csv")
            self._series.add(name)
            if name not in self.tracked:
                self.tracked.append(name)
        _xrun.track(name, number)

    def track_many(self, values: dict):
        for name, value in values.items():
            self.track(name, value)

    # -- files -------------------------------------------------------------------------------
    def open(self, name: str, mode: str = "r", *args, **kwargs):
        path = os.path.join(self.path, name)
        if any(flag in mode for flag in "wax"):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        return builtins.open(path, mode, *args, **kwargs)

    def commit_raw(self, name: str, content: str):
        with self.open(name, "w") as handle:
            handle.write(content)
        self._committed(name)

    def commit_json(self, name: str, data, encoder_cls=None):
        with self.open(name, "w") as handle:
            if encoder_cls is not None:
                handle.write(__import__("json").dumps(data, cls=encoder_cls))
            else:
                handle.write(_dumps(data))
        self._committed(name)

    def commit_fig(self, name: str, figure):
        path = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        figure.savefig(path)
        self._committed(name)

    def _committed(self, name: str):
        _Runner.plugins.fire("on_commit", experiment=self, path=self.path, name=name,
                             file=os.path.join(self.path, name))

    # -- hooks and analyses ------------------------------------------------------------------
    def hook(self, name: str, replace: bool = True, default: bool = True):
        """Registers the decorated function under ``name``. ``replace=True`` replaces what the
        bases (and mixins) registered under that name; ``replace=False`` runs after it. Hooks
        run base first, then mixins, then the extending module. (``default`` is accepted for
        PyComex compatibility and has no effect: a later registration never goes unheard.)"""
        def register(func):
            self._register(self._level, 1, name, func, replace)
            return func
        return register

    def _register(self, level, order, name, func, replace):
        self._registrations.append((level, order, len(self._registrations), name, func, replace))

    @property
    def hooks(self) -> dict:
        """The functions each hook name runs, in order."""
        effective = {}
        for _, _, _, name, func, replace in sorted(self._registrations, key=lambda r: r[:3]):
            if replace:
                effective[name] = [func]
            else:
                effective.setdefault(name, []).append(func)
        return effective

    def _hook_records(self):
        hooks = self.hooks
        names = list(hooks) + [n for n in self.hook_descriptions if n not in hooks]
        return [{"name": name, "count": len(hooks.get(name, [])),
                 "description": self.hook_descriptions.get(name, "")} for name in names]

    def apply_hook(self, name: str, default=None, **kwargs):
        """Calls every function registered under ``name`` as ``func(e, **kwargs)`` and returns
        the last result, or ``default`` when none is registered."""
        result = default
        for func in self.hooks.get(name, []):
            result = func(self, **kwargs)
        return result

    # -- composition -------------------------------------------------------------------------
    @classmethod
    def extend(cls, experiment_path: str, base_path: str, namespace: str,
               glob: dict) -> "Experiment":
        """The experiment of the module ``experiment_path`` (relative to this module's folder,
        else to the working directory), extended by the calling module: its UPPER_CASE globals
        override the base's parameters (``INHERIT`` / ``INHERIT(fn)`` derive from the base's
        value), its hooks come after the base's, and its base path and namespace are used."""
        path = _resolve_file(experiment_path, glob.get("__file__", ""), "base experiment")
        base = _import_experiment(path)
        base._adopt(glob, base_path, namespace, path)
        return base

    def _adopt(self, glob: dict, base_path: str, namespace: str, base_file: str):
        if self._level > 0:
            self._absorb()  # what the module being extended set after its own extend() call
        self._level += 1
        self.dependencies.append(base_file)
        self.globs.append(glob)
        glob["__experiment__"] = self
        self.base_path = str(base_path)
        self.namespace = str(namespace)
        self.file = glob.get("__file__", self.file)
        self.name = os.path.splitext(os.path.basename(self.file))[0]
        if (glob.get("__doc__") or "").strip():
            self._describe(glob["__doc__"])
        for spec in self.parameter_specs.values():
            if spec.source_file:
                spec.source = "base"
        self._absorb()

    def _absorb(self):
        """Takes the parameters the extending module declares (again at run time, for those
        assigned after its extend() call) over the base's."""
        glob, file = self.glob, self.file
        assigned, descriptions, hook_descriptions = _source_info(file)
        self.hook_descriptions.update(hook_descriptions)
        own = _discover(glob, assigned, descriptions, file, specials=False)
        for name in [n for n in _SPECIAL if n in glob]:
            special = self.parameter_specs[name]
            own[name] = Parameter(name, glob[name], special.annotation, special.type_name,
                                  special.description, os.path.abspath(file))
        for name, spec in own.items():
            base = self.parameter_specs.get(name)
            if base is not None and base.source_file == spec.source_file and \
                    base.value is spec.value:
                continue  # taken already
            if isinstance(spec.value, _Inherit):
                if base is None:
                    raise UsageError(f"{file}: {name} = INHERIT, but the base experiment has no "
                                     f"parameter {name}")
                spec.value = spec.value.derive(base.value)
            if base is not None:
                spec.annotation = spec.annotation or base.annotation
                if not assigned.get(name):
                    spec.type_name = base.type_name
                spec.description = spec.description or base.description
            self.parameter_specs[name] = spec
            glob[name] = spec.value

    def include(self, paths):
        """Adds the mixin module(s) at ``paths`` (one path, a list, or comma-separated paths;
        relative to this module's folder, else to the working directory): their parameters
        fill in what the experiment does not define, their hooks run after the bases' and
        before the experiment's own."""
        for path in _path_list(paths):
            resolved = _resolve_file(path, self.file, "mixin")
            mixin = _import_mixin(resolved)
            if mixin in self.mixins:
                continue  # included already (by a base, the module or a config)
            self.mixins.append(mixin)
            self.dependencies.append(resolved)
            self.globs.insert(0, mixin.glob)  # the mixin's hooks see the values as globals
            for name, spec in mixin.parameter_specs.items():
                if name not in self.parameter_specs:
                    spec.source = "base"
                    self.parameter_specs[name] = spec
                    self._publish(name, spec.value)
            for name, func, replace in mixin.registrations:
                self._register(self._level, 0, name, func, replace)
            self.hook_descriptions.update(
                {k: v for k, v in mixin.hook_descriptions.items() if k not in self.hook_descriptions})

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

        folder = os.path.realpath(path)
        with open(os.path.join(folder, "experiment_meta.json"), encoding="utf-8") as handle:
            meta = __import__("json").load(handle)
        origin = meta.get("experiment_path")
        for extra in [folder, os.path.dirname(origin) if origin else None]:
            if extra and extra not in sys.path:
                sys.path.append(extra)  # the experiment's own imports (`from models import MLP`)
        before = len(_Runner.experiments)
        spec = _source_spec("experiment_code", os.path.join(folder, "experiment_code.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules.setdefault("experiment_code", module)
        # Reading a run folder never writes into it (`import base` finds the copy there).
        writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
        try:
            spec.loader.exec_module(module)
        finally:
            sys.dont_write_bytecode = writes_bytecode
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
                experiment._publish(name, value)
        data_file = os.path.join(folder, _DATA_FILE)
        experiment.data = {}
        if os.path.exists(data_file):
            with open(data_file, encoding="utf-8") as handle:
                experiment.data = __import__("json").load(handle)
        experiment.meta = meta
        experiment.tracked = list(meta.get("tracked", []))
        experiment.path = folder
        return experiment

    # -- running -----------------------------------------------------------------------------
    def run_if_main(self):
        """Runs the experiment when its module (the last to extend it) is the main program."""
        if self.glob.get("__name__") == "__main__":
            self.run()

    def run(self):
        if _xrun is None:
            _hand_over(self.file)
        _Runner.run(self)


class ExperimentMixin:
    """Parameters and hooks to share between experiments. In the mixin module::

        from xrun import ExperimentMixin
        LOG_EVERY: int = 10
        mixin = ExperimentMixin(glob=globals())

        @mixin.hook("after_run", replace=False)
        def report(e): ...

    and in an experiment: ``experiment.include("mixin.py")``, a config's ``include:``, or
    ``--__INCLUDE__ mixin.py``. The mixin's parameters are fallbacks: an experiment that
    defines the same name keeps its own value."""

    def __init__(self, glob: dict):
        self.glob = glob
        self.file = glob.get("__file__", "")
        assigned, descriptions, self.hook_descriptions = _source_info(self.file)
        self.parameter_specs = _discover(glob, assigned, descriptions, self.file,
                                         specials=False)
        self.registrations = []  # (name, func, replace)
        glob["__mixin__"] = self

    def hook(self, name: str, replace: bool = False, default: bool = False):
        """Registers the decorated function under ``name``; by default it runs after the
        experiment's bases' hooks of that name (``replace=True`` replaces them)."""
        def register(func):
            self.registrations.append((name, func, replace))
            return func
        return register


class _Inherit:
    """``PARAM = INHERIT`` keeps the base experiment's value; ``PARAM = INHERIT(fn)`` uses
    ``fn(base value)``."""

    def __init__(self, derive=None):
        self._derive = derive

    def __call__(self, derive):
        return _Inherit(derive)

    def derive(self, value):
        return value if self._derive is None else self._derive(value)

    def __repr__(self):
        return "INHERIT" if self._derive is None else "INHERIT(...)"


INHERIT = _Inherit()


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


def _import_experiment(path: str) -> Experiment:
    return _imported(path, "__experiment__", Experiment, "defines no experiment to extend")


def _import_mixin(path: str) -> ExperimentMixin:
    return _imported(path, "__mixin__", ExperimentMixin,
                     "is not a mixin: it creates no xrun.ExperimentMixin")


def _imported(path: str, key: str, kind: type, problem: str):
    """The Experiment or ExperimentMixin the module at ``path`` registers under ``key``."""
    found = vars(_import_module(path)).get(key)
    if not isinstance(found, kind):
        raise UsageError(f"{path} {problem}")
    return found


def _hand_over(file: str):
    """Under plain python3: run the same command through xrun, so that the run folder is the
    same as with `xrun run` (the supervisor records the run whatever happens to Python)."""
    import shutil

    binary = os.environ.get("XRUN")
    recorded = os.path.join(os.path.dirname(__file__), "xrun_binary.txt")
    if not binary and os.path.isfile(recorded):
        with open(recorded, encoding="utf-8") as handle:
            candidate = handle.read().strip()
        if os.access(candidate, os.X_OK):
            binary = candidate  # the xrun that exported this package
    binary = binary or shutil.which("xrun")
    if not binary:
        sys.stderr.write(f"{_prefix('error')} the xrun command is not on PATH "
                         "(set XRUN=/path/to/xrun)\n")
        raise SystemExit(2)
    sys.stdout.flush()
    sys.stderr.flush()
    given = sys.argv[0] if sys.argv and os.path.abspath(sys.argv[0]) == os.path.abspath(file) \
        else file
    # xrun runs the experiment in its own Python; it says so when that is not this one.
    os.environ["XRUN_STARTED_WITH"] = "\n".join(
        [sys.executable, sys.prefix, sys.version.split()[0], given])
    os.execv(binary, [binary, "run", given, *sys.argv[1:]])


# --------------------------------------------------------------------------------------------
# Plugins: Python modules with functions named after the hooks below, found in xrun's own
# plugins folder, the user's (~/.config/xrun/plugins) and installed `xrun_<name>` packages.

_STARTUP_PATH = list(sys.path)  # before the experiment's folders are added
PLUGIN_HOOKS = ("before_parameters", "after_parameters", "after_folder", "before_run",
                "after_run", "on_failure", "on_track", "on_commit", "after_end")
_PLUGIN_ORDER = {"builtin": 0, "package": 1, "user": 2}  # a later source shadows an earlier
_PLUGIN_FAILURES_KEPT = 20  # in the meta, per plugin
_PLUGIN_FAILURES_ALLOWED = 5  # per hook; then the hook is not called again in the run
# A setting whose name holds one of these is kept out of the record (the plugin gets it).
_SECRET_WORDS = ("token", "secret", "password", "passwd", "key", "auth", "credential")
_REDACTED = "<redacted>"


class PluginEvent:
    """What a plugin's hook function receives: ``hook``, ``plugin`` (its name), ``settings``
    (its settings for this run) and the fields of that hook (``experiment``, ``path``, ...)."""

    def __init__(self, hook: str, plugin: "_Plugin", fields: dict):
        self.hook = hook
        self.plugin = plugin.name
        self.settings = dict(plugin.settings)
        self.__dict__.update(fields)

    def __repr__(self):
        return f"PluginEvent({self.hook!r}, plugin={self.plugin!r})"


class _Plugin:
    """One discovered plugin: where it is, whether it is on for this run, what went wrong."""

    def __init__(self, name: str, source: str, path: str, module_name: str):
        self.name = name
        self.source = source  # builtin, package or user
        self.path = path
        self.module_name = module_name
        self.module = None
        self.enabled = None  # None: as the plugin's ENABLED says
        self.settings = {}
        self.error = ""  # why it could not be loaded
        self.failures = []  # {"hook", "error"} of hooks that raised
        self.shadows = []  # the paths of plugins of the same name it hides
        self.failed_calls = {}  # hook -> how many calls raised
        self.dropped = set()  # hooks not called again: they failed too often

    @property
    def hooks(self) -> list:
        if self.module is None:
            return []
        return [hook for hook in PLUGIN_HOOKS if callable(getattr(self.module, hook, None))]

    def load(self):
        """Imports the plugin's module; an error is kept (and reported), never raised."""
        if self.module is not None or self.error:
            return
        try:
            if self.source == "package":
                import importlib
                self.module = importlib.import_module(self.module_name)
            elif os.path.basename(self.path) == "__init__.py":  # a folder: a package
                import importlib.util
                spec = importlib.util.spec_from_file_location(
                    self.module_name, self.path,
                    submodule_search_locations=[os.path.dirname(self.path)])
                module = importlib.util.module_from_spec(spec)
                sys.modules[self.module_name] = module
                spec.loader.exec_module(module)
                self.module = module
            else:
                self.module = _exec_cached(self.module_name, self.path)
        except BaseException as error:  # noqa: BLE001 - a broken plugin never breaks a run
            if isinstance(error, KeyboardInterrupt):
                raise
            sys.modules.pop(self.module_name, None)
            self.error = _plugin_error(error, self.path)

    def default_enabled(self) -> bool:
        """The module's ``ENABLED``; read from its text when it is not imported, so that a
        plugin that is off is never imported (nor can its import slow or stop a run)."""
        if self.module is not None:
            return bool(getattr(self.module, "ENABLED", True))
        if _xrun is None:
            return True
        try:
            scan = _xrun.scan_module(self.path)
        except Exception:  # noqa: BLE001 - unreadable: the import will say why
            return True
        for assignment in scan["assignments"]:
            if assignment["name"] == "ENABLED":
                return assignment["value"].strip() not in ("False", "0", "None")
        return True

    def secret_settings(self) -> list:
        """The names of its settings whose values are not recorded: those the plugin lists in
        ``SECRET_SETTINGS``, and those named like a secret (token, password, key, ...)."""
        declared = getattr(self.module, "SECRET_SETTINGS", ()) if self.module is not None else ()
        return sorted(name for name in self.settings
                      if name in declared or any(word in name.lower() for word in _SECRET_WORDS))

    def record(self) -> dict:
        record = {"name": self.name, "source": self.source, "path": self.path,
                  "module": self.module_name, "loaded": self.module is not None,
                  "hooks": self.hooks}
        if self.settings:
            secret = self.secret_settings()
            record["settings"] = _plain_or_repr(
                {name: _REDACTED if name in secret else value
                 for name, value in self.settings.items()})
            if secret:
                record["secret_settings"] = secret
        if self.error:
            record["error"] = self.error
        if self.failures:
            record["failures"] = list(self.failures)
        return record


def _exec_cached(name: str, path: str) -> types.ModuleType:
    """Imports the module file at ``path`` as ``name``, with its bytecode cached beside the
    exported package, in a folder private to the user (the invocation's ``plugin_cache``, made
    so by xrun: no one else can plant code there): every run imports the plugins, an installed
    plugins folder is read-only, and PYTHONDONTWRITEBYTECODE is common, so Python's own cache
    often is not written."""
    import marshal

    stat = os.stat(path)
    key = f"{path}\0{stat.st_mtime_ns}\0{stat.st_size}\0{sys.implementation.cache_tag}\n"
    key = key.encode("utf-8", "surrogateescape")
    folder = _xrun.invocation().get("plugin_cache") if _xrun is not None else ""
    cache = os.path.join(folder, name + ".bin") if folder else ""
    code = None
    try:
        with open(cache, "rb") as handle:
            blob = handle.read()
        if blob.startswith(key):
            code = marshal.loads(blob[len(key):])
    except (OSError, ValueError, EOFError, TypeError):
        pass
    if code is None:
        with open(path, "rb") as handle:
            code = compile(handle.read(), path, "exec", dont_inherit=True)
        try:
            if cache:
                temp = f"{cache}.{os.getpid()}.tmp"
                with open(temp, "wb") as handle:
                    handle.write(key + marshal.dumps(code))
                os.replace(temp, cache)
        except OSError:
            pass  # a read-only cache: compiled again next time
    module = types.ModuleType(name)
    module.__file__ = path
    module.__builtins__ = builtins
    sys.modules[name] = module
    exec(code, module.__dict__)
    return module


def _plugin_error(error: BaseException, path: str) -> str:
    """``Type: message`` and the plugin's line that raised it."""
    if isinstance(error, SyntaxError):
        return f"SyntaxError: {error.msg} ({error.filename or path}:{error.lineno})"
    frames = _user_frames(error)
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return _error_text(error) + where


def _user_frames(error: BaseException) -> list:
    """The frames of ``error``'s traceback outside xrun's own code."""
    import traceback

    return [frame for frame in traceback.extract_tb(error.__traceback__)
            if frame.filename != __file__ and not frame.filename.startswith("<frozen ")]


def _error_text(error: BaseException) -> str:
    """``Type: message`` on one line, whatever the exception makes of its message."""
    try:
        message = str(error)
    except Exception:  # noqa: BLE001 - an exception that cannot say what it is
        message = "(its message cannot be shown)"
    return f"{type(error).__name__}: {_shown(message)}" if message else type(error).__name__


def _plugin_folders(invocation: dict) -> list:
    """(source, folder) pairs to look for plugin modules in."""
    folders = []
    builtin = invocation.get("plugin_folder")
    if builtin:
        folders.append(("builtin", builtin))
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(
        os.path.expanduser("~"), ".config")
    folders.append(("user", os.path.join(config_home, "xrun", "plugins")))
    return folders


def _discover_plugins(invocation: dict) -> dict:
    """name -> _Plugin for every plugin found (without importing any)."""
    found = []
    for source, folder in _plugin_folders(invocation):
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            name, ext = os.path.splitext(entry.name)
            if entry.name.startswith((".", "_")) or not name.isidentifier():
                continue
            if ext == ".py" and entry.is_file():
                path = entry.path
            elif not ext and entry.is_dir() and os.path.isfile(
                    os.path.join(entry.path, "__init__.py")):
                path = os.path.join(entry.path, "__init__.py")
            else:
                continue
            found.append(_Plugin(name, source, path, f"xrun_plugin_{source}_{name}"))
    seen = set()
    # Installed packages (and modules) named xrun_<name>: on the path Python started with, not
    # the folders of the experiment, its bases and mixins or the working directory, where an
    # `xrun_utils.py` is just a module of the experiment.
    own = {os.path.realpath(folder) for folder in (
        "", os.path.dirname(os.path.abspath(invocation["file"])) if invocation.get("file")
        else "")}
    for folder in _STARTUP_PATH:
        if os.path.realpath(folder or ".") in own:
            continue
        try:
            entries = [entry for entry in os.scandir(folder or ".")
                       if entry.name.startswith("xrun_")]
        except OSError:
            continue
        for entry in sorted(entries, key=lambda entry: entry.name):
            module_name, ext = os.path.splitext(entry.name)
            if entry.is_dir() and not ext and os.path.isfile(
                    os.path.join(entry.path, "__init__.py")):
                path = os.path.join(entry.path, "__init__.py")
            elif ext == ".py" and entry.is_file():
                path = entry.path
            else:
                continue
            if module_name in seen or not module_name.isidentifier():
                continue  # an earlier sys.path entry wins, as for import
            seen.add(module_name)
            found.append(_Plugin(module_name[len("xrun_"):], "package", path, module_name))
    plugins = {}
    for plugin in sorted(found, key=lambda p: _PLUGIN_ORDER[p.source]):
        hidden = plugins.get(plugin.name)
        if hidden is not None:
            plugin.shadows = hidden.shadows + [hidden.path]
        plugins[plugin.name] = plugin
    return plugins


def _plugin_choices(invocation: dict) -> list:
    """(name, enabled or None, settings, where) in order of precedence: XRUN_PLUGINS, then the
    config's `plugins:`, then --plugin/--no-plugin."""
    choices = []
    for word in os.environ.get("XRUN_PLUGINS", "").split(","):
        word = word.strip()
        if word:
            off = word.startswith("-")
            choices.append((word.lstrip("-").strip(), not off, {}, "XRUN_PLUGINS"))
    for choice in invocation.get("plugins") or []:
        choices.append((choice["name"], choice.get("enabled"), choice.get("settings") or {},
                        choice.get("where", "")))
    return choices


class _Plugins:
    """The plugins of this run: chosen, loaded, and called at each hook. A hook that raises is
    reported (terminal and log) and recorded in the run's meta; the run goes on."""

    def __init__(self, plugins: list):
        self.active = plugins

    @classmethod
    def choose(cls, invocation: dict) -> "_Plugins":
        """The plugins enabled for this run; UsageError for an unknown plugin or setting."""
        found = _discover_plugins(invocation)
        wanted = {}
        for name, enabled, settings, where in _plugin_choices(invocation):
            plugin = found.get(name)
            if plugin is None:
                raise UsageError(f"{where}: there is no plugin {_shown(repr(name))}"
                                 f"{_did_you_mean(name, found)} (xrun plugins list shows them)")
            state = wanted.setdefault(name, [None, {}, where])
            if enabled is not None:
                state[0] = enabled
            if settings:
                state[1].update(settings)
                state[2] = where
                if enabled is None:
                    state[0] = True  # settings given on the command line turn a plugin on
        active = []
        for name, plugin in found.items():
            enabled, settings, where = wanted.get(name, (None, {}, ""))
            if enabled is False or (enabled is None and not plugin.default_enabled()):
                continue
            plugin.load()
            if enabled is None and not plugin.default_enabled():
                continue  # ENABLED computed at import
            plugin.enabled = True
            plugin.settings = settings
            if plugin.module is not None:
                _check_plugin_settings(plugin, where)
            active.append(plugin)
        for plugin in active:
            if plugin.error:
                _report_plugin(plugin, "import", plugin.error)
        return cls(active)

    @classmethod
    def from_records(cls, records: list, given: dict) -> "_Plugins":
        """The plugins a run had, loaded again from their records (for the end of a run whose
        experiment process died); the values of secret settings, which the records do not
        hold, come from ``given`` (name -> the settings chosen for the run)."""
        plugins = []
        for record in records:
            plugin = _Plugin(record["name"], record["source"], record["path"], record["module"])
            plugin.settings = dict(record.get("settings") or {})
            for name in record.get("secret_settings") or []:
                if name in given.get(plugin.name, {}):
                    plugin.settings[name] = given[plugin.name][name]
            plugin.failures = list(record.get("failures") or [])
            if record.get("loaded"):
                plugin.load()
                if plugin.error:
                    _report_plugin(plugin, "import", plugin.error)
            else:
                plugin.error = record.get("error", "")
            plugins.append(plugin)
        return cls(plugins)

    def has(self, hook: str) -> bool:
        return any(hook in plugin.hooks for plugin in self.active)

    def fire(self, hook: str, **fields):
        """Calls every active plugin's ``hook`` function with a PluginEvent."""
        for plugin in self.active:
            func = getattr(plugin.module, hook, None) if plugin.module is not None else None
            if not callable(func) or hook in plugin.dropped:
                continue
            try:
                func(PluginEvent(hook, plugin, fields))
            except UsageError as error:
                if hook in ("before_parameters", "after_parameters"):
                    raise UsageError(f"plugin {plugin.name}: {error}") from None
                self._failed(plugin, hook, error)
            except KeyboardInterrupt:
                if hook == "after_end":  # the run is over: stop the plugins, not the run
                    self._failed(plugin, hook, KeyboardInterrupt("interrupted"))
                    return
                raise
            except BaseException as error:  # noqa: BLE001 - reported, never breaks the run
                self._failed(plugin, hook, error)

    @staticmethod
    def _failed(plugin: _Plugin, hook: str, error: BaseException):
        text = _plugin_error(error, plugin.path)
        if len(plugin.failures) < _PLUGIN_FAILURES_KEPT:
            plugin.failures.append({"hook": hook, "error": text})
        count = plugin.failed_calls[hook] = plugin.failed_calls.get(hook, 0) + 1
        _report_plugin(plugin, hook, text)
        if count == _PLUGIN_FAILURES_ALLOWED:  # e.g. on_track, raising at every call
            plugin.dropped.add(hook)
            _report_plugin(plugin, hook, f"failed {count} times; not called again in this run")

    def records(self) -> list:
        return [plugin.record() for plugin in self.active]


def _report_plugin(plugin: _Plugin, hook: str, text: str):
    """To the process's stderr (the terminal and the log) directly: a plugin may have closed
    or replaced sys.stderr."""
    _flush_output()
    what = "could not be loaded" if hook == "import" else f"failed in {hook}"
    try:
        os.write(2, f"{_prefix('warning')} plugin {plugin.name} {what}: {text}\n".encode(
            "utf-8", "replace"))
    except OSError:
        pass


def _flush_output():
    """Flushes sys.stdout and sys.stderr, whatever the experiment or a plugin made of them."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - closed, None, or not a file any more
            pass


def _check_plugin_settings(plugin: _Plugin, where: str):
    """Settings the plugin does not declare in its SETTINGS are bad input."""
    declared = getattr(plugin.module, "SETTINGS", None)
    if not isinstance(declared, dict):
        return
    for key in plugin.settings:
        if key not in declared:
            known = ", ".join(declared) or "none"
            raise UsageError(f"{where}: plugin {plugin.name} has no setting {_shown(repr(key))}"
                             f"{_did_you_mean(key, declared)} (its settings: {known})")


def _plugins_list(invocation: dict) -> int:
    """`xrun plugins list`: every plugin found, where, whether it loads, its hooks."""
    plugins = _discover_plugins(invocation)
    choices = {}
    for name, enabled, _, _ in _plugin_choices({}):
        choices[name] = enabled
    rows = []
    for name, plugin in sorted(plugins.items()):
        plugin.load()
        enabled = choices.get(name)
        if enabled is None:
            enabled = plugin.default_enabled()
        state = "error" if plugin.error else ("on" if enabled else "off")
        rows.append((name, state, plugin.source, ",".join(plugin.hooks) or "-", plugin))
    if invocation.get("json"):
        print(_dumps([dict(plugin.record(), enabled=state == "on",
                           description=_plugin_summary(plugin), shadows=plugin.shadows)
                      for name, state, _, _, plugin in rows], indent=2))
        return 0
    if not rows:
        print("no plugins found")
        return 0
    widths = [max(len(row[i]) for row in rows + [("NAME", "STATE", "SOURCE", "HOOKS")])
              for i in range(4)]
    print("  ".join(title.ljust(width) for title, width in
                    zip(("NAME", "STATE", "SOURCE", "HOOKS"), widths)) + "  DESCRIPTION")
    for name, state, source, hooks, plugin in rows:
        print("  ".join(text.ljust(width) for text, width in
                        zip((name, state, source, hooks), widths)) + "  " + _plugin_summary(plugin))
        print(f"    {plugin.path}")
        for hidden in plugin.shadows:
            print(f"    (hides {hidden})")
        if plugin.error:
            print(f"    error: {plugin.error}")
    return 0


def _plugin_summary(plugin: _Plugin) -> str:
    doc = (getattr(plugin.module, "__doc__", None) or "").strip()
    return doc.split("\n")[0] if doc else ""


class _Runner:
    """What the embedded interpreter does with the experiment module: resolve parameters, ask
    the supervisor for a run folder, run, and report how it ended."""

    experiments: list = []
    ran = False
    plugins = _Plugins([])
    pending_end = None  # the fields of the after_end hooks still to call

    @classmethod
    def run(cls, experiment: Experiment, config: dict = None):
        if cls.ran:
            return
        cls.ran = True
        invocation = _xrun.invocation()
        mode = invocation["mode"]
        if experiment._level > 0:
            experiment._absorb()
        plugins = cls.plugins = _Plugins.choose(invocation) if mode == "run" else _Plugins([])
        plugins.fire("before_parameters", experiment=experiment)
        specs = experiment.parameter_specs
        args = invocation["args"]
        # Mixins first (from the module, the config and the command line), so that the values
        # the config and the command line give their parameters find them.
        include_args = _include_arguments(args)
        _apply_arguments(specs, include_args, invocation["file"])
        if config:
            experiment.include(config["include"])
        experiment.include(specs["__INCLUDE__"].value)
        if config:
            _apply_config(experiment, config)
        _apply_arguments(specs, [a for a in args if a not in include_args], invocation["file"])
        if invocation.get("variation"):
            _apply_settings(experiment, invocation["variation"])
        if mode not in ("help", "plan"):  # a sweep's plan checks each variation
            _check_unset(specs)
        for name, spec in specs.items():
            if isinstance(spec.value, _Inherit):
                raise UsageError(f"{spec.source_file}: {name} = INHERIT needs a base experiment "
                                 f"(Experiment.extend)")
        if mode == "help":
            _print_help(experiment, invocation["file"])
            return
        if mode == "plan":
            _plan(experiment, invocation)
            return
        if mode == "dry-run":
            _print_parameters(experiment)
            return
        if experiment.func is None:
            raise UsageError(f"{invocation['file']}: the Experiment decorates no function")
        plugins.fire("after_parameters", experiment=experiment)
        reply = _xrun.request({
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
            "hooks": experiment._hook_records(),
            "dependencies": list(dict.fromkeys(experiment.dependencies)),
            "plugins": plugins.records(),
            "sys_path": sys.path,  # where the supervisor finds the installed packages
        })
        if reply.get("unrecorded"):
            raise _NotRecorded(reply["error"])  # the supervisor reports it
        if "error" in reply:
            raise UsageError(reply["error"])
        experiment.path = path = reply["path"]
        start_time = reply.get("start_time") or time.time()
        try:  # should the supervisor die, what the experiment prints then still reaches it
            _xrun.keep_log(os.path.join(path, "experiment_out.log"))
        except OSError:
            pass
        _xrun.track_start(experiment._track_slow)
        _xrun.autosave_start(experiment._save_data, _SAVE_INTERVAL)
        if plugins.has("on_track"):
            object.__setattr__(experiment, "track", _tracking_with_plugins(experiment, plugins))
        else:
            object.__setattr__(experiment, "track", _xrun.track)  # the native fast path
        for name, spec in specs.items():
            experiment._publish(name, spec.value)
        plugins.fire("after_folder", experiment=experiment, path=path)
        outcome = {"type": "finish"}
        error = None
        run_pid = os.getpid()
        os.register_at_fork(after_in_child=lambda: _in_forked_child(experiment))
        try:
            plugins.fire("before_run", experiment=experiment, path=path)
            experiment.apply_hook("before_run")
            experiment.func(experiment)
            if os.getpid() != run_pid:
                _leave_forked_child()
            experiment.apply_hook("after_run")
            experiment.run_analyses()  # part of the run: what they store is saved with it
            plugins.fire("after_run", experiment=experiment, path=path)
        except KeyboardInterrupt as caught:
            if os.getpid() != run_pid:
                raise
            error = caught
            outcome.update(error_type="KeyboardInterrupt", interrupted=True)
            if _xrun.interrupt_signal():  # else raised by the experiment's own code
                outcome["signal"] = _xrun.interrupt_signal()
            sys.stderr.write("xrun: the experiment was interrupted\n")
            plugins.fire("on_failure", experiment=experiment, path=path, error=caught,
                         status="interrupted")
            raise
        except SystemExit as caught:
            if os.getpid() != run_pid:
                raise
            if caught.code not in (0, None):
                error = caught
                outcome.update(error_type="SystemExit", error_message=str(caught.code))
                plugins.fire("on_failure", experiment=experiment, path=path, error=caught,
                             status="failed")
            raise
        except BaseException as caught:
            if os.getpid() != run_pid:
                raise
            error = experiment.error = caught
            outcome.update(error_type=type(caught).__name__, error_message=str(caught))
            plugins.fire("on_failure", experiment=experiment, path=path, error=caught,
                         status="failed")
            raise
        finally:
            if os.getpid() != run_pid:
                _leave_forked_child()  # does not return: the run is not this process's to end
            # However the experiment ended, its results are saved whole: a late copy of the
            # interrupt must not cut this short (a second Ctrl-C still kills, from the supervisor).
            _xrun.shield_interrupts(True)
            try:
                _xrun.track_stop()
                _xrun.autosave_stop()
                experiment.__dict__.pop("track", None)
                try:
                    experiment._save_data()
                except Exception as failure:  # a full disk, say: the run did not end whole
                    sys.stderr.write(f"{_prefix('error')} {failure}\n")
                    if "error_type" not in outcome:
                        outcome.update(error_type=type(failure).__name__,
                                       error_message=f"the data could not be saved: {failure}")
            finally:
                outcome["tracked"] = experiment.tracked
                outcome["hooks"] = experiment._hook_records()
                outcome["end_time"] = time.time()
                outcome["plugins"] = plugins.records()
                _xrun.notify(outcome)
                _xrun.shield_interrupts(False)
            # The run has ended and the supervisor knows how; the plugins have the last word
            # once the error (if any) is reported: _main calls end().
            if plugins.has("after_end"):
                status = "interrupted" if outcome.get("interrupted") else (
                    "failed" if "error_type" in outcome else "done")
                cls.pending_end = dict(
                    experiment=experiment, path=path, name=experiment.name, status=status,
                    error=error, error_type=outcome.get("error_type", ""),
                    error_message=outcome.get("error_message", ""),
                    duration=outcome["end_time"] - start_time,
                    parameters=dict(experiment.parameters), data=experiment.data,
                    tracked=list(experiment.tracked))

    @classmethod
    def end(cls):
        """The plugins' after_end hooks, after the run has ended (see run())."""
        fields, cls.pending_end = cls.pending_end, None
        if fields is None:
            return
        _flush_output()
        cls.plugins.fire("after_end", **fields)
        _xrun.notify({"type": "plugins", "plugins": cls.plugins.records(), "ended": True})


def _in_forked_child(experiment: Experiment):
    """In a process the experiment forked: its values are not recorded (the run's writer
    threads live in the experiment's own process only), and it says so if it tries."""
    def track(name, value):
        raise RuntimeError("track() records values in the experiment's own process, not in a "
                           "process it forked; return them to it")
    object.__setattr__(experiment, "track", track)


def _leave_forked_child():
    """Ends a process the experiment forked that left the experiment's function (by returning
    or raising) as Python would end it, without the run's end: saving, reporting and the
    plugins belong to the experiment's own process."""
    kind, error, _ = sys.exc_info()
    code = 0
    if kind is SystemExit:
        code = error.code if isinstance(error.code, int) else (0 if error.code is None else 1)
        if not isinstance(error.code, (int, type(None))):
            sys.stderr.write(f"{error.code}\n")
    elif kind is not None:
        import traceback
        traceback.print_exception(kind, error, error.__traceback__)
        code = 1
    _flush_output()
    os._exit(code)


def _plan(experiment: Experiment, invocation: dict):
    """For a sweep: each variation's typed parameters, run hash and archive folder, sent to
    the process that runs the sweep; a variation that does not fit is bad input, named."""
    specs = experiment.parameter_specs
    before = {name: (spec.value, spec.source, spec.source_file, spec.unset)
              for name, spec in specs.items()}
    _Plugins.choose(invocation)  # an unknown plugin or setting is bad input here already
    files = []
    for path in [invocation["file"], *dict.fromkeys(experiment.dependencies)]:
        if path.endswith(".py"):
            with open(path, "rb") as handle:  # the bytes, as the supervisor hashes them
                name = "experiment_code.py" if not files else os.path.basename(path)
                files.append((name, handle.read()))
    for index, variation in enumerate(invocation["variations"]):
        for name, (value, source, source_file, unset) in before.items():
            spec = specs[name]
            spec.value, spec.source, spec.source_file, spec.unset = value, source, source_file, \
                unset
        try:
            _apply_settings(experiment, variation)
            _check_unset(specs)
        except UsageError as error:
            raise UsageError(f"variation {index}: {error}") from None
        records = [spec.record() for spec in specs.values()]
        _xrun.notify({"type": "plan", "index": index,
                      "parameters": {r["name"]: r.get("exact", r["value"]) for r in records
                                     if r["name"] in {s["name"] for s in variation}},
                      "run_hash": _xrun.run_hash(records, files),
                      "base_path": experiment.base_path, "namespace": experiment.namespace})


def _tracking_with_plugins(experiment: Experiment, plugins: _Plugins):
    """``e.track`` when a plugin listens: the native call, then the plugins' on_track."""
    native = _xrun.track

    def track(name, value):
        native(name, value)
        plugins.fire("on_track", experiment=experiment, path=experiment.path, name=name,
                     value=value)
    return track


def _finish_run(invocation: dict) -> int:
    """The after_end hooks of a run whose experiment process died before it could call them:
    run by the supervisor in a new process once the final status is recorded."""
    import json

    path = invocation["file"]
    with open(os.path.join(path, "experiment_meta.json"), encoding="utf-8") as handle:
        meta = json.load(handle)
    given = {}
    for name, _, settings, _ in _plugin_choices(invocation):
        given.setdefault(name, {}).update(settings)
    plugins = _Plugins.from_records(meta.get("plugins") or [], given)
    data = {}
    try:
        with open(os.path.join(path, _DATA_FILE), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        pass  # no data saved before the process died, or a half-written file
    parameters = {name: record.get("value") for name, record in
                  (meta.get("parameters") or {}).items()}
    plugins.fire("after_end", experiment=None, path=path, name=meta.get("name", ""),
                 status=meta.get("status", ""),
                 error=None, error_type=meta.get("error_type", ""),
                 error_message=meta.get("error_message", ""),
                 duration=meta.get("duration", 0.0), parameters=parameters, data=data,
                 tracked=list(meta.get("tracked") or []))
    _xrun.notify({"type": "plugins", "plugins": plugins.records(), "ended": True})
    return 0


def _include_arguments(args: list) -> list:
    """The `--__INCLUDE__ VALUE` / `--__INCLUDE__=VALUE` arguments among ``args``."""
    found = []
    for index, arg in enumerate(args):
        if arg.startswith("--__INCLUDE__="):
            found.append(arg)
        elif arg == "--__INCLUDE__":
            found.extend(args[index:index + 2])
    return found


def _apply_config(experiment: Experiment, config: dict):
    """Applies a resolved YAML config: name, namespace, base path, description, mixins and
    parameter values, each checked against the parameter's declared type."""
    experiment.name = config["name"]
    experiment.namespace = config["namespace"]
    if config["base_path"]:  # else the experiment's own: a config's runs go beside its runs
        experiment.base_path = config["base_path"]
    if config["description"]:
        experiment._describe(config["description"])
    experiment.dependencies.extend(config["files"])
    _apply_settings(experiment, config["parameters"])


def _apply_settings(experiment: Experiment, settings: list):
    """Applies located parameter settings (of a config, or of a sweep's variation): each value
    checked against the parameter's declared type, an error naming where it was given."""
    specs = experiment.parameter_specs
    for setting in settings:
        name = setting["name"]
        where = f"{setting['file']}:{setting['line']}:{setting['column']}" if setting["line"] \
            else setting["file"]  # `--sweep LR=0.1,x`
        spec = specs.get(name)
        if spec is None:
            raise UsageError(f"{where}: the experiment has no parameter {_shown(name)}"
                             f"{_did_you_mean(name, specs)}")
        if "unset" in setting:
            spec.unset = setting["unset"]  # reported unless a later source gives a value
            continue
        tp = spec.annotation if spec.annotation is not None else (
            type(spec.value) if spec.value is not None else None)
        try:
            if "text" in setting:
                value = _convert(setting["text"], spec.annotation, spec.value)
            else:
                value = _from_config(setting["value"], tp)
        except ValueError as error:
            shown = setting.get("text", setting["value"])
            raise UsageError(f"{where}: parameter {name} ({spec.type_name}) cannot be "
                             f"{_shown(repr(shown))}: {error}") from None
        spec.value = value
        spec.unset = None
        spec.source = setting.get("source", "config")
        spec.source_file = setting["file"] if spec.source == "config" else ""


def _check_unset(specs: dict):
    """UsageError for a config value that needs an environment variable that is not set, when
    no later source gave its parameter a value."""
    for spec in specs.values():
        if spec.unset:
            raise UsageError(spec.unset)


def _from_config(value, tp):
    """A YAML-typed value checked against the declared type (ints are fine for floats; lists
    become tuples or sets where those are declared)."""
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    container = _origin(tp) or tp
    if container in (tuple, set, frozenset) and isinstance(value, list):
        value = container(value)
    if isinstance(value, str):  # a path written as text in the config
        paths = [arg for arg in (_args(tp) if _origin(tp) is _UNION else (tp,))
                 if isinstance(arg, type) and issubclass(arg, os.PathLike)]
        if paths and not _check(value, tp):
            value = paths[0](value)
    if not _check(value, tp):
        raise ValueError(f"not {_a(_type_name(tp, None))}")
    return value


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
    """``--dry-run``: every parameter's type, value and where it comes from, as a table."""
    rows = [("NAME", "TYPE", "VALUE", "SOURCE")]
    for name, spec in experiment.parameter_specs.items():
        origin = spec.source
        if spec.source in ("base", "config") and spec.source_file:
            origin += f" {os.path.relpath(spec.source_file)}"
        rows.append((name, spec.type_name, repr(spec.value), origin))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    widths[2] = min(widths[2], 40)  # a long value pushes only its own row's source aside
    for row in rows:
        print("  ".join(text.ljust(width) for text, width in zip(row, widths)) + "  " + row[3])


def _print_traceback(error: BaseException):
    """The traceback of ``error`` without xrun's own frames: the experiment's code only."""
    import traceback

    trace = traceback.TracebackException.from_exception(error)
    for item in [trace, *_chained(trace)]:
        kept = [frame for frame in item.stack
                if frame.filename != __file__ and not frame.filename.startswith("<frozen ")]
        item.stack = traceback.StackSummary.from_list(kept)
    sys.stderr.write("".join(trace.format()))


def _chained(trace):
    while True:
        trace = trace.__cause__ or (None if trace.__suppress_context__ else trace.__context__)
        if trace is None:
            return
        yield trace


def _load_error(file: str, error: BaseException) -> str:
    """One clear line for an error raised while the module was being loaded: the module's
    line it came through (the traceback's last frame in that file) and, when it was raised in
    another file (a module it imports, a base), that file's line too."""
    if isinstance(error, SyntaxError):
        where = f"{error.filename or file}:{error.lineno or '?'}"
        if error.offset:
            where += f":{error.offset}"
        return f"{where}: {type(error).__name__}: {error.msg}"
    frames = _user_frames(error)
    own = _frames_in(file, frames)
    text = _error_text(error)
    if frames and frames[-1] is not (own[-1] if own else None):
        text += f" (raised at {frames[-1].filename}:{frames[-1].lineno})"
    return f"{_load_where(file, error)}: {text}"


def _frames_in(file: str, frames: list) -> list:
    """The frames of ``frames`` that ran in ``file``."""
    return [frame for frame in frames if os.path.abspath(frame.filename) == os.path.abspath(file)]


def _load_where(file: str, error: BaseException) -> str:
    """``file:line`` of the module's line that ``error`` came through (``file`` when none)."""
    own = _frames_in(file, _user_frames(error))
    return f"{file}:{own[-1].lineno}" if own else file


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


def _main() -> int:
    """Entry point of the embedded interpreter: runs the module and returns the exit code."""
    invocation = _xrun.invocation()
    started_with = os.environ.pop("XRUN_STARTED_WITH", "")
    if invocation["mode"] == "plugins":
        return _plugins_list(invocation)
    if invocation["mode"] == "finish":
        return _finish_run(invocation)
    file = invocation["file"]
    if started_with and not invocation.get("variation"):  # a sweep's plan has said it
        _warn_other_python(started_with)
    sys.argv = [file, *invocation["args"]]
    folder = os.path.dirname(os.path.abspath(file))
    sys.path.insert(0, folder)
    if os.path.isfile(os.path.join(folder, "experiment_meta.json")):
        sys.dont_write_bytecode = True  # a run folder is not written by running it again
    try:
        try:
            config = invocation.get("config")
            if config:
                # A config's experiment is imported, not run as __main__: the config says how
                # it runs.
                _module_source(file)
                experiment = _import_experiment(os.path.realpath(file))
                _Runner.run(experiment, config)
            else:
                _run_as_main(file)
            if not _Runner.experiments:
                raise UsageError(f"{file} defines no experiment: create an xrun.Experiment "
                                 f"and decorate the main function with it")
            if not _Runner.ran:
                _Runner.run(_Runner.experiments[-1])
        except (UsageError, _NotRecorded):
            raise
        except BaseException as error:
            started = any(e.path is not None for e in _Runner.experiments)
            if isinstance(error, SystemExit) and not _Runner.ran:
                raise UsageError(_load_exit(file, error)) from None
            if started or isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            if not isinstance(error, SyntaxError):
                _print_traceback(error)
            raise UsageError(f"cannot load {_load_error(file, error)}") from None
    except UsageError as error:
        sys.stdout.flush()
        sys.stderr.write(f"{_prefix('error')} {error}\n")
        return 2
    except _NotRecorded:
        return 1
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
        _Runner.end()
        _flush_output()
    return 0


def _load_exit(file: str, error: SystemExit) -> str:
    """The message for a module that called sys.exit() while it was loading: no run was made,
    whatever the code, so it is bad input."""
    code = error.code
    if code is not None and not isinstance(code, int):
        sys.stderr.write(f"{code}\n")  # as Python would print it
        code = 1
    return f"{_load_where(file, error)}: the module exited with code {code or 0} while loading; no run was created"


def _warn_other_python(started_with: str):
    """``python3 exp.py`` handed the run to xrun, which runs it in its own Python: when that is
    not the one the user started, packages installed for that one only are missing, so say so."""
    executable, prefix, version, file = (started_with.split("\n") + ["", "", "", ""])[:4]
    if os.path.realpath(executable) == os.path.realpath(sys.executable) and \
            os.path.realpath(prefix) == os.path.realpath(sys.prefix):
        return
    ours = f"{sys.executable} (Python {sys.version.split()[0]})"
    sys.stderr.write(
        f"{_prefix('warning')} {file} was started with {executable} (Python {version}), but xrun runs "
        f"experiments in its own Python, {ours}: packages installed only for the first are not "
        f"available (use {sys.executable}, or a virtualenv made with it: "
        f"{sys.executable} -m venv)\n")
