"""The run of an experiment in xrun's embedded interpreter, once per process: its parameters
resolved from the mixins, the config, the command line and a sweep's variation; the help,
dry-run and sweep-plan modes; the request for a run folder, the experiment's function with its
hooks, analyses and plugins, and how it ended (saved and reported whatever happened); the
plugins' after_end hooks, also for a run whose process died. Under plain python3 a run is
handed over to the xrun command. Works on the experiment it is given, never importing the
``Experiment`` class. Imports ``_common``, ``_params``, ``_compose``, ``_plugins`` and
``_protocol``.
"""

from __future__ import annotations

import os
import sys
import time

from . import _protocol
from ._common import _DATA_FILE, UsageError, _flush_output, _prefix, _xrun
from ._compose import _absorb, _apply_config, _apply_settings, _check_unset, _Inherit
from ._params import _apply_arguments, _include_arguments
from ._plugins import _plugin_choices, _Plugins

_SAVE_INTERVAL = 1.0  # seconds between background saves of experiment_data.json


class _Run:
    """The one run of this process: whether it has started, its plugins, and the fields of
    the after_end hooks still to call (see _end)."""

    started = False
    plugins = _Plugins([])
    pending_end = None


def _run(experiment, config: dict = None):
    """Runs ``experiment`` as the invocation says (help, plan, dry-run or a run), the first
    time it is called in this process; ``config`` is the resolved YAML config, if any."""
    if _Run.started:
        return
    _Run.started = True
    invocation = _protocol.invocation()
    mode = invocation["mode"]
    if experiment._level > 0:
        _absorb(experiment)
    plugins = _Run.plugins = _Plugins.choose(invocation) if mode == "run" else _Plugins([])
    plugins.fire("before_parameters", experiment=experiment)
    _resolve_parameters(experiment, invocation, config)
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
    before_folder = getattr(experiment, "before_folder", None)
    if before_folder is not None and before_folder(invocation):
        return  # a function run whose done run is reused: nothing to record
    plugins.fire("after_parameters", experiment=experiment)
    # An interrupt that comes while the supervisor makes the run folder is raised inside
    # _execute: raised at once, it would end the process between the run's start and its
    # report, and the run would be recorded without the signal that interrupted it.
    _xrun.hold_interrupts(True)
    try:
        path, start_time = _protocol.request_run_folder(experiment, plugins.records())
    except BaseException:
        _xrun.hold_interrupts(False)  # no run started: a held interrupt ends the process
        raise
    experiment.path = path
    _execute(experiment, plugins, path, start_time)


def _resolve_parameters(experiment, invocation: dict, config: dict):
    """The final values: defaults and bases, mixins, the config, the command line, a sweep's
    variation, in that order; UsageError for anything that does not fit."""
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
    if invocation["mode"] not in ("help", "plan"):  # a sweep's plan checks each variation
        _check_unset(specs)
    for name, spec in specs.items():
        if isinstance(spec.value, _Inherit):
            raise UsageError(f"{spec.source_file}: {name} = INHERIT needs a base experiment "
                             f"(Experiment.extend)")


def _start_recording(experiment, plugins: _Plugins, path: str):
    """Once the run folder exists: the log kept for a dying supervisor, the native writers of
    tracked series and of the data, ``e.track`` and the final values as the globals."""
    try:  # should the supervisor die, what the experiment prints then still reaches it
        _xrun.keep_log(os.path.join(path, "experiment_out.log"))
    except OSError:
        pass
    experiment._start_tracking()
    _xrun.autosave_start(experiment._save_data, _SAVE_INTERVAL)
    if plugins.has("on_track"):
        object.__setattr__(experiment, "track", _tracking_with_plugins(experiment, plugins))
    else:
        object.__setattr__(experiment, "track", _xrun.track)  # the native fast path
    for name, spec in experiment.parameter_specs.items():
        experiment._publish(name, spec.value)


def _execute(experiment, plugins: _Plugins, path: str, start_time: float):
    """The run's recording started, then the experiment's function with its hooks and
    analyses; however it ends, the data is saved and the supervisor told how (the exception,
    if any, goes on to the caller)."""
    outcome = {}
    error = None
    run_pid = os.getpid()
    os.register_at_fork(after_in_child=lambda: _in_forked_child(experiment))
    try:
        _xrun.hold_interrupts(False)  # one held since the folder's request is raised here
        _start_recording(experiment, plugins, path)
        plugins.fire("after_folder", experiment=experiment, path=path)
        plugins.fire("before_run", experiment=experiment, path=path)
        experiment.apply_hook("before_run")
        experiment.func(experiment)
        if os.getpid() != run_pid:
            _leave_forked_child()
        experiment.apply_hook("after_run")
        experiment.run_analyses()  # part of the run: what they store is saved with it
        plugins.fire("after_run", experiment=experiment, path=path)
    except BaseException as caught:
        if os.getpid() != run_pid:
            raise
        failure = _failure_of(caught)
        if failure is not None:  # not sys.exit(0)
            error, status = caught, failure.pop("status")
            if status == "failed" and not isinstance(caught, SystemExit):
                experiment.error = caught
            outcome.update(failure)
            plugins.fire("on_failure", experiment=experiment, path=path, error=caught,
                         status=status)
        raise
    finally:
        if os.getpid() != run_pid:
            _leave_forked_child()  # does not return: the run is not this process's to end
        end_time = _save_and_report(experiment, plugins, outcome)
        # The run has ended and the supervisor knows how; the plugins have the last word
        # once the error (if any) is reported: the entry point calls _end().
        if plugins.has("after_end"):
            status = _xrun.reported_status(outcome)  # as the supervisor records it
            _Run.pending_end = dict(
                experiment=experiment, path=path, name=experiment.name, status=status,
                error=error, error_type=outcome.get("error_type", ""),
                error_message=outcome.get("error_message", ""),
                duration=end_time - start_time,
                parameters=dict(experiment.parameters), data=experiment.data,
                tracked=list(experiment.tracked))


def _failure_of(caught: BaseException):
    """The outcome fields of the exception that ended the experiment, with the status it
    means ("interrupted" or "failed"); None for ``sys.exit(0)``, which ends it well."""
    if isinstance(caught, KeyboardInterrupt):
        fields = {"error_type": "KeyboardInterrupt", "interrupted": True, "status": "interrupted"}
        signal_number = _xrun.interrupt_signal()
        if signal_number:  # else raised by the experiment's own code
            fields["signal"] = signal_number
        sys.stderr.write("xrun: the experiment was interrupted\n")
        return fields
    if isinstance(caught, SystemExit):
        if caught.code in (0, None):
            return None
        return {"error_type": "SystemExit", "error_message": str(caught.code), "status": "failed"}
    return {"error_type": type(caught).__name__, "error_message": str(caught), "status": "failed"}


def _save_and_report(experiment, plugins: _Plugins, outcome: dict) -> float:
    """Stops the native writers, saves the data and reports the run's end (``outcome``, with
    a failure to save added) to the supervisor; returns the end time."""
    # However the experiment ended, its results are saved whole: a late copy of the
    # interrupt must not cut this short (a second Ctrl-C still kills, from the supervisor).
    _xrun.shield_interrupts(True)
    try:
        lost = _xrun.track_stop()
        _xrun.autosave_stop()
        experiment.__dict__.pop("track", None)
        if lost and "error_type" not in outcome:  # warned already, as it happened
            outcome.update(error_type="OSError",
                           error_message=f"tracked values could not be saved: {lost}")
        try:
            experiment._save_data()
        except Exception as failure:  # a full disk, say: the run did not end whole
            sys.stderr.write(f"{_prefix('error')} {failure}\n")
            if "error_type" not in outcome:
                outcome.update(error_type=type(failure).__name__,
                               error_message=f"the data could not be saved: {failure}")
    finally:
        tracked, hooks = experiment.tracked, experiment._hook_records()
        end_time = time.time()
        _protocol.report_end(outcome, tracked, hooks, end_time, plugins.records())
        _xrun.shield_interrupts(False)
    return end_time


def _end():
    """The plugins' after_end hooks, after the run has ended (see _execute())."""
    fields, _Run.pending_end = _Run.pending_end, None
    if fields is None:
        return
    _flush_output()
    _Run.plugins.fire("after_end", **fields)
    _protocol.report_plugins(_Run.plugins.records())


def _in_forked_child(experiment):
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


def _plan(experiment, invocation: dict):
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
        _protocol.report_plan(
            index, {r["name"]: _xrun.stated_value(r) for r in records
                    if r["name"] in {s["name"] for s in variation}},
            _xrun.run_hash(records, files), experiment.base_path, experiment.namespace)


def _tracking_with_plugins(experiment, plugins: _Plugins):
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
    _protocol.report_plugins(plugins.records())
    return 0


def _print_help(experiment, file: str):
    function = getattr(experiment, "function", None)
    target = f"{file}:{function.name}" if function is not None else file
    print(f"usage: xrun run {target} [--NAME VALUE ...]\n")
    if experiment.short_description:
        print(experiment.short_description + "\n")
    print("parameters:")
    for name, spec in experiment.parameter_specs.items():
        default = "required" if spec.unset else f"default: {spec.value!r}"
        print(f"  --{name} ({spec.type_name}), {default}")
        if spec.description:
            print(f"      {spec.description}")


def _print_parameters(experiment):
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
