"""The entry point of xrun's embedded interpreter (``main``, called by the C++ side once the
package is imported): the mode the invocation names, the experiment module run as ``__main__``
(or imported, for a config), and every way that can end turned into an exit code and a clear
message, with the experiment's own traceback. Imports the modules an experiment's run needs
(``_standalone`` only where a script's ``xrun.start()`` has imported it); nothing imports it.
"""

from __future__ import annotations

import os
import sys

from . import _protocol
from ._common import (UsageError, _error_text, _flush_output, _NotRecorded, _own_frame,
                      _prefix, _user_frames)
from ._experiment import _experiments, _import_experiment
from ._loading import _module_source, _run_as_main
from ._plugins import _plugins_list
from ._runner import _end, _finish_run, _run, _Run


def _standalone():
    """``_standalone``, imported by ``xrun.start()`` when the script called it (None else): an
    experiment's start does not pay for importing it."""
    return sys.modules.get(__package__ + "._standalone")


def _started() -> bool:
    """Whether the script started a run of its own with ``xrun.start()``."""
    standalone = _standalone()
    return standalone is not None and standalone.started()


def main() -> int:
    """Entry point of the embedded interpreter: runs the module and returns the exit code."""
    try:
        invocation = _protocol.invocation()
    except UsageError as error:  # not this xrun's protocol: nothing can be asked of it
        sys.stderr.write(f"{_prefix('error')} {error}\n")
        return 2
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
            function = invocation.get("function") or (config or {}).get("function")
            if function:
                from ._function import experiment_for, import_target

                _run(experiment_for(import_target(file, function), file), config)
            elif config:
                # A config's experiment is imported, not run as __main__: the config says how
                # it runs.
                _module_source(file)
                try:
                    experiment = _import_experiment(os.path.realpath(file))
                except UsageError:
                    # A script that records its run with xrun.start() (a reproduced one): its
                    # values are its code's. Importing it has run it, or (its work under
                    # `if __name__ == "__main__":`) it runs as the main module now.
                    if not _started():
                        _run_as_main(file)
                    if not _started():
                        raise
                    _standalone().end_open(None)
                    return 0
                _run(experiment, config)
            else:
                _run_as_main(file)
            if not _experiments and _started():
                _standalone().end_open(None)  # a script that started its run with xrun.start()
                return 0
            if not _experiments:
                raise UsageError(f"{file} defines no experiment: create an xrun.Experiment "
                                 f"and decorate the main function with it, or start a run "
                                 f"with xrun.start()")
            if not _Run.started:
                _run(_experiments[-1])
        except (UsageError, _NotRecorded):
            raise
        except BaseException as error:
            if _started():
                _standalone().end_open(error)
            started = any(e.path is not None for e in _experiments) or _started()
            if isinstance(error, SystemExit) and not _Run.started and not _started():
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
        _end()
        _flush_output()
    return 0


def _print_traceback(error: BaseException):
    """The traceback of ``error`` without xrun's own frames: the experiment's code only (once:
    not again for a run's error its finish() printed)."""
    import traceback

    if getattr(error, "_xrun_reported", False):
        return

    trace = traceback.TracebackException.from_exception(error)
    for item in [trace, *_chained(trace)]:
        kept = [frame for frame in item.stack
                if not _own_frame(frame.filename)]
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
