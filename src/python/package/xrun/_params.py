"""Parameters: which globals of a module are its parameters (read from its source by xrun),
their declared types, and the conversion of command-line text to those types by a JSON or
literal parser, never by eval; the ``--NAME value`` arguments and a config's typed values
checked against them. Imports ``_common`` and ``_jsonio``.
"""

from __future__ import annotations

import math
import os
import sys
import types

from ._common import UsageError, _a, _did_you_mean, _shown, _xrun
from ._jsonio import _jsonable, _lossy

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


class _Definition:
    """The base of xrun's objects that a module holds as globals (an experiment, a mixin):
    like its classes and functions, they are never parameters."""


def _is_data(value) -> bool:
    return not isinstance(value, (types.ModuleType, type, types.FunctionType,
                                  types.BuiltinFunctionType, types.MethodType, _Definition))


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


def _include_arguments(args: list) -> list:
    """The `--__INCLUDE__ VALUE` / `--__INCLUDE__=VALUE` arguments among ``args``."""
    found = []
    for index, arg in enumerate(args):
        if arg.startswith("--__INCLUDE__="):
            found.append(arg)
        elif arg == "--__INCLUDE__":
            found.extend(args[index:index + 2])
    return found


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

