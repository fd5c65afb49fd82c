"""``xrun.compat.digitalhub``: the local part of digitalhub's python runtime as a thin map onto
``xrun.function``: ``handler`` (names a function's outputs), projects
(``get_or_create_project``: the runs of project P go to ``results/P/<function name>``) and
their artifacts (xrun's, ``results/.xrun/artifacts``), ``new_function(kind="python",
code_src=..., handler=...)`` and ``function.run(action="job", inputs=..., parameters=...)``,
whose inputs are xrun inputs (a path, ``run:<id>/outputs/<name>``, an artifact ``name:latest``).
What needs the platform (serve, build, invoke, nuclio's context and events, init functions,
Kubernetes task settings) raises a NotImplementedError naming it. Imports ``_common``,
``_standalone``, ``_assets``, ``_sdk``, ``_results`` and ``_function``.
"""

from __future__ import annotations

import inspect
import os
import shutil

from . import _standalone
from ._assets import artifact_path
from ._common import UsageError, _shown
from ._function import Input, function_of, import_target
from ._results import RunView
from ._sdk import Run as _SdkRun, _running_experiment

# Function and task settings that only the platform acts on: refused, named.
_REMOTE_TASK = ("node_selector", "volumes", "resources", "affinity", "tolerations", "envs",
                "secrets", "profile", "backoff_limit", "replicas", "service_type",
                "instructions", "init_parameters")
# Arguments the platform fills in remote execution only (nuclio's).
_REMOTE_ARGUMENTS = ("context", "events")
# xrun's statuses as digitalhub's run states.
_STATES = {"done": "COMPLETED", "failed": "ERROR", "interrupted": "STOPPED",
           "killed": "ERROR", "lost": "ERROR", "corrupt": "ERROR", "running": "RUNNING"}


def _remote(what: str):
    raise NotImplementedError(f"{what}: this is the digitalhub platform's; "
                              "xrun.compat.digitalhub runs functions on this machine only "
                              "(action='job')")


def handler(func=None, *, outputs=None):
    """``@handler`` or ``@handler(outputs=[...])``: names the function's return values (its
    outputs and results); the function itself is returned, callable as it was."""
    def mark(target):
        if not callable(target):
            raise TypeError(f"handler decorates a function, not {type(target).__name__}")
        target.__dh_outputs__ = [outputs] if isinstance(outputs, str) else list(outputs or [])
        return target
    return mark if func is None else mark(func)


class Item:
    """An input or output file as digitalhub's Dataitem, Artifact and Model give it: ``key``
    (its reference), ``name``, ``path`` (the local file), ``as_file()``, ``download()`` and
    ``as_df()`` (a pandas DataFrame of a CSV or Parquet file)."""

    def __init__(self, key: str, name: str, path: str):
        self.key, self.name, self.path = key, name, path

    def __repr__(self):
        return f"<{type(self).__name__} {self.key}>"

    def __fspath__(self) -> str:
        return self.path

    def as_file(self) -> str:
        return self.path

    def download(self, destination: str = None, overwrite: bool = False) -> str:
        """The file's path, or a copy of it at ``destination``."""
        if destination is None:
            return self.path
        target = os.path.join(destination, os.path.basename(self.path)) \
            if os.path.isdir(destination) else destination
        if os.path.exists(target) and not overwrite:
            raise FileExistsError(f"{target} exists (download(..., overwrite=True) replaces it)")
        shutil.copyfile(self.path, target)
        return target

    def as_df(self, **options):
        import pandas

        if self.path.endswith(".parquet"):
            return pandas.read_parquet(self.path, **options)
        return pandas.read_csv(self.path, **options)


Dataitem = Artifact = Model = Item


def _current_run_folder():
    """The folder of the run this process records now, if any: a function run in progress
    (``Function.run``), or inside ``xrun run`` the experiment's."""
    if _standalone._open:
        return _standalone._open[-1].path
    experiment = _running_experiment()
    return experiment.path if experiment is not None else None


class Project:
    """A project: its functions' runs go to ``results/<name>/<function>`` of the folder it was
    made in, its artifacts to that archive's (``results/.xrun``)."""

    def __init__(self, name: str, base: str = "results"):
        if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
            raise UsageError(f"project name {_shown(repr(name))} is not a folder name")
        self.name = name
        self.archive = os.path.abspath(base)

    def __repr__(self):
        return f"<Project {self.name} in {self.archive}>"

    def new_function(self, name: str, kind: str, code_src: str = None, handler: str = None,
                     **settings) -> "Function":
        return Function(self, name, kind, code_src, handler, **settings)

    def log_artifact(self, name: str, kind: str = "artifact", source_path: str = None,
                     **metadata) -> Item:
        """Stores ``source_path`` as a new version of artifact ``name`` of the run in
        progress (only inside a function's run: an artifact belongs to the run that made it)."""
        folder = _current_run_folder()
        if folder is None:
            raise UsageError(f"log_artifact({name!r}): artifacts are recorded by the run that "
                             "makes them; call it inside a function that function.run() runs")
        if source_path is None or not os.path.isfile(source_path):
            raise UsageError(f"log_artifact({name!r}): source_path {_shown(repr(source_path))} "
                             "is not a file")
        run = _SdkRun(folder, os.path.basename(folder), store=self.archive)
        run.save_artifact(source_path, name=name, kind=kind, metadata=metadata or None)
        run._wait_for_assets()
        return self.get_artifact(name)

    log_dataitem = log_model = log_artifact

    def get_artifact(self, name: str, version: str = "latest") -> Item:
        """The artifact ``name`` (its latest version, or ``v3``)."""
        spec = name if ":" in name else f"{name}:{version}"
        try:
            path = artifact_path(spec, base=self.archive)
        except (LookupError, FileNotFoundError, ValueError) as error:
            raise UsageError(f"project {self.name}: {error}") from None
        return Item(spec, name.partition(":")[0], path)

    get_dataitem = get_model = get_artifact

    def build(self, *args, **kwargs):
        _remote("project.build()")

    def run(self, *args, **kwargs):
        _remote("project.run() (workflows)")


def get_or_create_project(name: str, **settings) -> Project:
    return Project(name)


new_project = get_project = get_or_create_project


class Function:
    """A function of kind ``python``: the handler of ``code_src``, run here by ``run()``."""

    def __init__(self, project: Project, name: str, kind: str, code_src: str = None,
                 handler: str = None, **settings):
        if kind != "python":
            raise UsageError(f"function {name}: kind {_shown(repr(kind))} is not one "
                             "xrun.compat.digitalhub runs (kind='python')")
        if settings.get("init_function"):
            _remote(f"function {name}: init_function (nuclio's init in remote execution)")
        for field in ("code", "base64"):
            if settings.get(field) is not None:
                raise UsageError(f"function {name}: {field}= sources are not read; give the "
                                 "code as a file: code_src='main.py'")
        if not code_src or "://" in code_src:
            raise UsageError(f"function {name}: code_src is a local .py file, not "
                             f"{_shown(repr(code_src))}")
        if not handler:
            raise UsageError(f"function {name}: handler names the function to run in "
                             f"{code_src}")
        self.project, self.name, self.kind = project, name, kind
        self.code_src, self.handler = os.path.abspath(code_src), handler
        self.settings = settings

    def __repr__(self):
        return f"<Function {self.name}: {self.handler} of {self.code_src}>"

    def _target(self):
        """The handler, imported from its module (not as ``__main__``)."""
        if not os.path.isfile(self.code_src):
            raise UsageError(f"function {self.name}: {self.code_src} does not exist")
        return import_target(self.code_src, self.handler).func

    def run(self, action: str = "job", inputs: dict = None, parameters: dict = None,
            local_execution: bool = False, **task):
        """Runs the handler here with ``inputs`` (argument name: reference) and ``parameters``
        and returns the run. Every run is local: ``local_execution`` changes nothing."""
        if action in ("serve", "build"):
            _remote(f"action={action!r}")
        if action != "job":
            raise UsageError(f"function {self.name}: action is 'job', not {_shown(repr(action))}")
        remote = [key for key in task if key in _REMOTE_TASK]
        if remote:
            _remote(f"the task setting{'s' if len(remote) > 1 else ''} {', '.join(remote)}")
        if task:
            raise UsageError(f"function {self.name}: run() takes no {', '.join(task)}")
        inputs, parameters = dict(inputs or {}), dict(parameters or {})
        both = set(inputs) & set(parameters)
        if both:
            raise UsageError(f"function {self.name}: {', '.join(sorted(both))} given both as "
                             "an input and as a parameter")
        target = self._target()
        function = function_of(_entry(target, self.project, set(inputs)),
                               outputs=getattr(target, "__dh_outputs__", None),
                               name=self.name, base=os.path.dirname(self.project.archive),
                               namespace=f"{os.path.basename(self.project.archive)}/"
                                         f"{self.project.name}/{self.name}")
        keys = {name: key.key if isinstance(key, Item) else key for name, key in inputs.items()}
        return Run(function.run(**keys, **parameters))

    def invoke(self, *args, **kwargs):
        _remote("invoke()")

    def deploy(self, *args, **kwargs):
        _remote("deploy()")


def _entry(target, project: Project, input_names: set):
    """``target`` as the callable a run calls: the ``project`` argument given the project,
    each input an Item of its file, and the signature (the run's parameters) without
    ``project``, with ``xrun.Input`` for the inputs."""
    signature = inspect.signature(target)
    reserved = [name for name in _REMOTE_ARGUMENTS if name in signature.parameters]
    if reserved:
        _remote(f"{target.__name__}'s argument{'s' if len(reserved) > 1 else ''} "
                f"{' and '.join(reserved)} (nuclio's, given in remote execution)")
    takes_project = "project" in signature.parameters
    kept = []
    for name, parameter in signature.parameters.items():
        if name == "project":
            continue
        if name in input_names:
            parameter = parameter.replace(annotation=Input)
        kept.append(parameter)

    def call(**arguments):
        for name in input_names:
            given = arguments.get(name)
            if isinstance(given, Input):
                arguments[name] = Item(given.ref, name, given.path)
        if takes_project:
            arguments["project"] = project
        return target(**arguments)

    call.__name__, call.__qualname__ = target.__name__, target.__qualname__
    call.__module__, call.__doc__ = target.__module__, target.__doc__
    call.__signature__ = signature.replace(parameters=kept)
    return call


class RunStatus:
    """A run's status as digitalhub shows it: ``state`` (COMPLETED, ERROR, STOPPED, RUNNING)
    and xrun's own word (``xrun``)."""

    def __init__(self, xrun_status: str):
        self.xrun = xrun_status
        self.state = _STATES.get(xrun_status, xrun_status.upper())

    def __repr__(self):
        return f"<RunStatus {self.state} ({self.xrun})>"

    def __eq__(self, other):
        return other in (self.state, self.xrun) if isinstance(other, str) else NotImplemented


class Run:
    """A run of a function: ``output(name)`` (an Item of an output file), ``outputs()``,
    ``result(name)`` (a plain value), ``results()``, ``status`` and ``refresh()``; ``id`` and
    ``path`` are the xrun run's."""

    def __init__(self, view: RunView):
        self._view = view
        self.id, self.path = view.id, view.path
        self.key = f"run:{view.id}"
        self.status = RunStatus(view.status)

    def __repr__(self):
        return f"<Run {self.id} {self.status.state}>"

    def refresh(self) -> "Run":
        self.status = RunStatus(self._view.status)
        return self

    def output(self, name: str) -> Item:
        entry = self._view.outputs.entry(name)
        return Item(f"run:{self.id}/outputs/{name}", name,
                    os.path.join(self.path, entry["file"]))

    def outputs(self) -> dict:
        return {name: self.output(name) for name in self._view.outputs}

    def result(self, name: str):
        return self._view.result(name)

    def results(self) -> dict:
        return dict(self._view.results)

    def invoke(self, *args, **kwargs):
        _remote("run.invoke() (a served function)")


def new_function(name: str, kind: str, code_src: str = None, handler: str = None,
                 project: str = None, **settings) -> Function:
    """``dh.new_function(project="p", name=..., kind="python", code_src=..., handler=...)``."""
    if not project:
        raise UsageError(f"new_function {name}: project names the project the runs belong to")
    return get_or_create_project(project).new_function(name, kind, code_src, handler,
                                                       **settings)
