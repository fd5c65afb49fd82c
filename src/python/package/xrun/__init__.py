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
and ``_assets`` (what a tracking run records), ``_sdk`` (``start()`` and ``Run``), the
compatibility modules (``compat``) and ``_entry`` (the embedded interpreter's entry point).
This file only re-exports the public API.
"""

from . import _common
from ._common import UsageError
from ._compose import INHERIT
from ._experiment import Experiment, ExperimentMixin, file_namespace, folder_path
from ._params import Parameter
from ._plugins import PLUGIN_HOOKS, PluginEvent

__version__ = _common.__version__
__all__ = ["Experiment", "ExperimentMixin", "INHERIT", "file_namespace", "folder_path",
           "UsageError", "PluginEvent", "PLUGIN_HOOKS", "start", "Run", "artifact_path"]

# The public classes are xrun's wherever they are defined: tracebacks print `xrun.UsageError`
# and reprs `xrun.Experiment`.
for _public in (UsageError, Experiment, ExperimentMixin, Parameter, PluginEvent):
    _public.__module__ = __name__
del _public

# The tracking SDK is imported on first use: an experiment that does not call it does not pay
# for its modules at every start.
_LAZY = {"start": "_sdk", "Run": "_sdk", "artifact_path": "_assets"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    if name == "Run":
        value.__module__ = __name__
    globals()[name] = value
    return value
