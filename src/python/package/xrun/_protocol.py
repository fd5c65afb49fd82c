"""The experiment process's side of its protocol with the C++ side: the invocation (what xrun
was asked to do), the request for a run folder and its reply, and the reports of how the run
ended, of the plugins' records and of a sweep's planned variations. The only module that calls
``_xrun.invocation``, ``_xrun.request`` and ``_xrun.notify`` (also of the extension build,
connected to a watcher, for runs started by ``xrun.start()``) or builds and reads those
messages, one JSON object a line, each carrying ``PROTOCOL_VERSION``; what comes from the
C++ side is refused when it carries another. Mirrored by ``src/core/protocol.hpp``, one struct
a message; ``tests/protocol/`` holds an example of each, read by the tests of both sides.
Imports ``_common`` only.
"""

from __future__ import annotations

import sys
import time

from ._common import UsageError, _native, _NotRecorded, _xrun

# The version of the messages below, sent in each as "protocol"; the C++ side mirrors it.
PROTOCOL_VERSION = 1


def invocation() -> dict:
    """What xrun was asked to do (core::protocol::Invocation): the mode, the module file and
    its arguments, the resolved config, the plugin choices and folders, a sweep's variations.
    Raises UsageError when it is of another protocol version."""
    given = _xrun.invocation()
    _check_version(given, "the invocation")
    return given


def request_run_folder(experiment, plugins: list) -> tuple:
    """Asks the supervisor to create the run folder and record the run's start: the meta (from
    the experiment's parameters, hooks and the ``plugins``' records), the code and the log.
    Returns the folder's path and the run's start time; raises _NotRecorded when the start
    could not be recorded (the supervisor reports why), UsageError when the request is bad."""
    specs = experiment.parameter_specs
    reply = _xrun.request({
        "type": "prepare",
        "protocol": PROTOCOL_VERSION,
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
        "plugins": plugins,
        "sys_path": sys.path,  # where the supervisor finds the installed packages
        **_optional(function=getattr(experiment, "function_record", None),
                    meta_extra=getattr(experiment, "meta_extra", None)),
    })
    _check_version(reply, 'the reply to "prepare"')
    if reply.get("unrecorded"):
        raise _NotRecorded(reply["error"])  # the supervisor reports it
    if "error" in reply:
        raise UsageError(reply["error"])
    return reply["path"], reply.get("start_time") or time.time()


def request_started_run_folder(name: str, base_path: str, parameters: list, description: str,
                               dependencies: list, sys_path, function: dict = None,
                               meta_extra: dict = None, run_name: str = None) -> tuple:
    """The "prepare" of a run started by ``xrun.start()`` (no Experiment): the run ``name``
    is its namespace under ``base_path`` (and its name, unless ``run_name`` gives one: a
    function's); ``parameters`` are records as ``Parameter.record()``
    makes them; ``sys_path`` None lists no packages. Asks the supervisor of ``xrun run`` or
    the watcher of plain python3 (``_xrun.connect``). Returns the folder's path and start time;
    raises _NotRecorded or UsageError as request_run_folder does."""
    reply = _native().request({
        "type": "prepare",
        "protocol": PROTOCOL_VERSION,
        "base_path": base_path,
        "namespace": name,
        "prefix": "",
        "debug": False,
        "name": run_name or name,
        "python_version": sys.version.split()[0],
        "python_executable": sys.executable,
        "description": description,
        "short_description": description.split("\n\n")[0],
        "parameters": parameters,
        "hooks": [],
        "dependencies": dependencies,
        "plugins": [],
        **({"sys_path": sys_path} if sys_path is not None else {}),
        **_optional(function=function, meta_extra=meta_extra),
    })
    _check_version(reply, 'the reply to "prepare"')
    if reply.get("unrecorded"):
        raise _NotRecorded(reply["error"])
    if "error" in reply:
        raise UsageError(reply["error"])
    return reply["path"], reply.get("start_time") or time.time()


def _optional(**fields) -> dict:
    """The fields of a message that are given (not None): a function run's record
    (``function``) and the meta fields it adds (``meta_extra``: ``sweep``, ``batch``)."""
    return {key: value for key, value in fields.items() if value is not None}


def report_started_end(outcome: dict, tracked: list, end_time: float):
    """How a run started by ``xrun.start()`` ended (``outcome`` as for report_end)."""
    _native().notify({"type": "finish", "protocol": PROTOCOL_VERSION, **outcome,
                           "tracked": tracked, "hooks": [], "end_time": end_time,
                           "plugins": []})


def report_end(outcome: dict, tracked: list, hooks: list, end_time: float, plugins: list):
    """Tells the supervisor how the run ended: ``outcome`` holds ``error_type``,
    ``error_message``, ``interrupted`` and ``signal`` where they apply; then the names of the
    tracked series, the hooks' records, the end time and the plugins' records."""
    _xrun.notify({"type": "finish", "protocol": PROTOCOL_VERSION, **outcome,
                  "tracked": tracked, "hooks": hooks, "end_time": end_time, "plugins": plugins})


def report_plugins(plugins: list):
    """The plugins' records once their after_end hooks have run (failures included)."""
    _xrun.notify({"type": "plugins", "protocol": PROTOCOL_VERSION, "plugins": plugins,
                  "ended": True})


def report_plan(index: int, parameters: dict, run_hash: str, base_path: str, namespace: str):
    """One planned variation of a sweep: its swept parameters' values as their records state
    them (``_xrun.stated_value``), its run hash and archive folder."""
    _xrun.notify({"type": "plan", "protocol": PROTOCOL_VERSION, "index": index,
                  "parameters": parameters, "run_hash": run_hash, "base_path": base_path,
                  "namespace": namespace})


def _check_version(message: dict, what: str):
    """Raises UsageError unless ``message`` from the C++ side carries PROTOCOL_VERSION."""
    given = message.get("protocol")
    if given != PROTOCOL_VERSION or isinstance(given, bool):
        version = "no protocol version" if given is None else f"protocol version {given!r}"
        raise UsageError(f"{what} from xrun has {version}, this xrun package speaks version "
                         f"{PROTOCOL_VERSION}: the package is not this xrun's")
