"""The experiment API: ``Experiment`` (parameters from the module's globals, the main
function, data, logging, tracking, files, hooks, analyses, extending a base and including
mixins, loading an archived run), ``ExperimentMixin``, and the helpers for an experiment's
base path and namespace. Imports ``_common``, ``_params``, ``_jsonio``, ``_loading``,
``_compose``, ``_runner`` and ``_tracking``.
"""

from __future__ import annotations

import builtins
import os
import sys

from ._common import _DATA_FILE, UsageError, _xrun
from ._compose import _add_mixin, _adopt
from ._jsonio import _dumps, _write_atomic
from ._loading import _imported, _path_list, _resolve_file, _source_spec
from ._params import _Definition, _discover, _source_info
from ._runner import _hand_over, _run, _Run
from ._tracking import SeriesFiles

# Every experiment created in this process, in order: the last is the one to run.
_experiments: list = []


def file_namespace(file: str) -> str:
    """``results/<module stem>``: the usual namespace of an experiment module."""
    return "results/" + os.path.splitext(os.path.basename(file))[0]


def folder_path(file: str) -> str:
    """The folder that holds ``file``: the usual base path of an experiment module."""
    return os.path.dirname(os.path.realpath(file))


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


class Experiment(_Definition):
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
        self._series_files = None
        self._ready = True
        glob["__experiment__"] = self
        _experiments.append(self)

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
        # The experiment's own attributes (path, error, func, ...) stay its own even when a
        # parameter has their name (a function's lower-case arguments may).
        if self.__dict__.get("_ready") and specs is not None and name in specs and \
                name not in self.__dict__:
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
    def _setitem(self, key: str, value):
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

    # ``e[key] = value``: in C where it can be, a third of the cost (a hot path of many loops).
    __setitem__ = _setitem if _xrun is None else _xrun.data_setitem

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
        """Appends ``value`` to the series ``name`` (``train/loss`` nests) at one more than the
        series' last step: numbers go to ``.track/<name>.csv`` as ``step,value,time,stage``
        lines, matplotlib figures to ``.track/<name>_NNN.png``. While the experiment runs,
        this is a native function."""
        return self._track_slow(name, value)

    def _track_slow(self, name, value):
        """What the native ``track`` hands over: new series, figures, non-float numbers."""
        if self.path is None or _xrun is None:
            raise RuntimeError("track() is only available while the experiment runs")
        if self._series_files is None or self._series_files.path != self.path:
            self._series_files = SeriesFiles(self.path, self.tracked)
        self._series_files.fallback(name, value)

    def _start_tracking(self):
        """Hands this run's series to the native writer once its folder exists."""
        self._series_files = SeriesFiles(self.path, self.tracked)
        self._series_files.start()

    def track_many(self, values: dict):
        """``track`` of every item: each series at one more than its own last step."""
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
        _Run.plugins.fire("on_commit", experiment=self, path=self.path, name=name,
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
        _adopt(base, glob, base_path, namespace, path)
        return base

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
            _add_mixin(self, mixin, resolved)

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
        before = len(_experiments)
        spec = _source_spec("experiment_code", os.path.join(folder, "experiment_code.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules.setdefault("experiment_code", module)
        # Reading a run folder never writes into it (`import base` finds the copy there).
        writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
        try:
            spec.loader.exec_module(module)
        finally:
            sys.dont_write_bytecode = writes_bytecode
        if len(_experiments) == before:
            raise UsageError(f"{folder}/experiment_code.py defines no experiment")
        experiment = _experiments[-1]
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
        _run(self)


class ExperimentMixin(_Definition):
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


def _import_experiment(path: str) -> Experiment:
    return _imported(path, "__experiment__", Experiment, "defines no experiment to extend")


def _import_mixin(path: str) -> ExperimentMixin:
    return _imported(path, "__mixin__", ExperimentMixin,
                     "is not a mixin: it creates no xrun.ExperimentMixin")
