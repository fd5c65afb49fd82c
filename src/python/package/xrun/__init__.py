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

The package is built of modules, each importing only those listed before it:
``_common`` (the native module, errors, message wording), ``_jsonio`` (JSON values and
files), ``_params`` (parameters, types, conversion), ``_loading`` (the experiment's files),
``_protocol`` (the messages to and from the C++ side), ``_tracking`` (a run's series files),
``_heartbeat`` and ``_standalone`` (a run started outside an experiment, with its watcher),
``_plugins``, ``_compose`` (extend,
mixins, configs), ``_runner`` (one run), ``_experiment`` (the experiment API), ``_content``
and ``_assets`` (what a tracking run records), ``_sdk`` (``start()`` and ``Run``),
``_results`` (``load()`` and ``runs()``: recorded runs read without their code),
``_function`` (``function()``: a plain function's runs, outputs, inputs and cache),
``_batch`` (``Batch``: rows of a function's runs, as a sweep), the compatibility modules
(``_compat_*``, registered by ``compat``) and ``_entry`` (the embedded interpreter's entry point).
This file only re-exports the public API.
"""

from . import _common
from ._common import UsageError

__version__ = _common.__version__
__all__ = ["Experiment", "ExperimentMixin", "INHERIT", "file_namespace", "folder_path",
           "UsageError", "PluginEvent", "PLUGIN_HOOKS", "start", "Run", "artifact_path", "load",
           "runs", "RunView", "function", "function_of", "Function", "FunctionRun", "Input",
           "Batch"]

# Each public name and its module, imported on first use: a plain-python script that only
# calls start() does not pay for the experiment machinery at every start, nor an experiment
# for the tracking SDK or the readers of results.
_LAZY = {"Experiment": "_experiment", "ExperimentMixin": "_experiment",
         "file_namespace": "_experiment", "folder_path": "_experiment", "INHERIT": "_compose",
         "Parameter": "_params", "PluginEvent": "_plugins", "PLUGIN_HOOKS": "_plugins",
         "start": "_sdk", "Run": "_sdk", "artifact_path": "_assets", "load": "_results",
         "runs": "_results", "RunView": "_results", "function": "_function",
         "function_of": "_function", "Function": "_function", "FunctionRun": "_function",
         "Input": "_function", "Batch": "_batch"}
# The public classes are xrun's wherever they are defined: tracebacks print `xrun.UsageError`
# and reprs `xrun.Experiment`.
_CLASSES = ("Experiment", "ExperimentMixin", "Parameter", "PluginEvent", "Run", "RunView",
            "Function", "FunctionRun", "Input", "Batch")
UsageError.__module__ = __name__


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    if name in _CLASSES:
        value.__module__ = __name__
    globals()[name] = value
    return value


# Inside xrun (the embedded interpreter) the experiment API is what runs: imported now, so
# that its classes are xrun's before any of them is shown.
if _common._xrun is not None:
    for _name in _LAZY:
        if _LAZY[_name] not in ("_sdk", "_assets", "_results", "_function", "_batch"):
            __getattr__(_name)
    del _name
