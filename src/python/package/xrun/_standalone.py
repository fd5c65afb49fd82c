"""Runs started by ``xrun.start()`` in a script without an Experiment: ``begin(...)`` creates
the run and returns its session, ``session.finish(...)`` records its end. Inside ``xrun run``
the supervisor is there already and is asked for the folder; under plain python3 the package
starts the watcher (``xrun watch``: the xrun binary, holding no Python), which records the
run's start, heartbeat, system metrics and end, and the end also when the script dies without
reporting it. Without the binary (or the ``_xrun`` extension) a pure-Python run folder with a
heartbeat thread is made instead, and a killed run shows as ``lost``.
Imports ``_common``, ``_params``, ``_protocol``, ``_tracking`` and ``_heartbeat``.
"""

from __future__ import annotations

import atexit
import os
import sys
import _thread
import time

from . import _heartbeat, _protocol, _tracking
from ._common import _binary, _native, _NotRecorded, _own_frame, _prefix, _xrun
from ._params import Parameter

# What the log keeps of a line redrawn with "\r" (a progress bar): its last state, every
# state as a line, or nothing of it.
_TQDM_MODES = ("smart", "all", "none")
_STATUSES = ("done", "failed", "interrupted")
_open = []  # the session open in this process, if any (one at a time)
_warned = []  # the missing watcher was reported (once a process)


def begin(name: str, params: dict | None = None, base: str = "results",
          capture_console: bool = True, capture_env: bool = True, tqdm_mode: str = "smart",
          system_metrics: float = 10.0, _records: list = None, _file: str = None,
          _dependencies: list = (), _doc: str = None, _function: dict = None,
          _meta_extra: dict = None, _name: str = None):
    """Starts a run in ``<base>/<name>/<id>`` (``base`` relative to the current folder) with
    the parameters ``params`` and returns its session (``path``, ``id``, ``finish``). Raises
    ValueError naming a bad value, RuntimeError when a run is open in this process already.
    A function run (``_function``) gives its parameters' records, its module (the run's code,
    instead of the script), the project's modules it imports and the meta fields it adds."""
    _check_arguments(name, params, base, tqdm_mode, system_metrics)
    prepare = _Prepare(_file, list(_dependencies), _doc, _function, _meta_extra, _name)
    if _xrun is not None and _started:
        raise RuntimeError(f"inside xrun run a process records one run, and this one has "
                           f"({_started[0]}): start the next one from another xrun run")
    if _open:
        raise RuntimeError(f"a run is already open in this process ({_open[0].path}): finish "
                           f"it (run.finish() or the end of its with block) before starting "
                           f"another")
    records = _records if _records is not None else \
        [_record(key, value) for key, value in (params or {}).items()]
    try:
        os.makedirs(base, exist_ok=True)
    except OSError as error:
        raise ValueError(f"base {str(base)!r} cannot be created: {error.strerror}") from None
    session = None
    if _xrun is not None:
        session = _Session.under_supervisor(name, base, records, capture_env, prepare)
    elif not _binary():
        _warn_alone("the _xrun extension module is not found" if _native() is None
                    else "the xrun binary is not found")
    else:
        try:
            session = _Session.watched(name, base, records, capture_console, capture_env,
                                       float(system_metrics), tqdm_mode, prepare)
        except _NoExtension:
            _warn_alone("the _xrun extension module is not found")
        except _NoWatcher as error:
            _warn_alone(f"the xrun watcher cannot be started ({error})")
    if session is None:
        file, command = _script()
        record = _heartbeat.start_unwatched(name, base, records, prepare.file or file, command,
                                            prepare.description_or(_description()),
                                            prepare.meta_fields())
        session = _Session(record.path, record.start_time, None)
        session._heartbeat = record
    _open.append(session)
    _started.append(session.path)
    session._arm()
    if _native() is not None:
        _tracking.begin(session.path)
    return session


def _warn_alone(why: str):
    """Says once a process that runs are recorded by Python alone, and why."""
    if not _warned:
        _warned.append(True)
        sys.stderr.write(f"{_prefix('warning')} {why}: this run is recorded by Python alone "
                         f"(a heartbeat; if the process is killed the run shows as lost); "
                         f"put $(xrun python-path) on PYTHONPATH\n")


class _NoWatcher(Exception):
    """The watcher could not be started (the run is then recorded by Python alone)."""


class _NoExtension(Exception):
    """The _xrun extension module is missing (the run is then recorded by Python alone)."""


def end_open(error: BaseException | None):
    """Inside ``xrun run``: the script has ended (``error``: how), and so has its open run."""
    for session in list(_open):
        session.finish(error=error)


def started() -> bool:
    """Whether this process started a run with xrun.start()."""
    return bool(_started)


_started = []


def _forget_in_child():
    """In a process forked from the script (plain python3): the parent's open run is not its
    own (its finish() there does nothing), so it may start one of its own. Inside ``xrun run``
    the state stays: the supervisor's line is the parent's, and a process records one run."""
    if _xrun is None:
        _open.clear()
        _started.clear()
        _tracking.forget_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def _check_arguments(name, params, base, tqdm_mode, system_metrics):
    # Folder names `xrun archive` lists: no empty, `.` or hidden part, nothing unprintable.
    if not isinstance(name, str) or any(not part or part.startswith(".")
                                        for part in name.split("/")) \
            or not name.isprintable():
        raise ValueError(f"xrun.start() needs a run name like 'cifar/resnet' (folders, none "
                         f"empty or starting with '.'), not {name!r}")
    if params is not None and not isinstance(params, dict):
        raise ValueError(f"params must be a dict, not {type(params).__name__}")
    if not isinstance(base, (str, os.PathLike)) or not str(base):
        raise ValueError(f"base must be a folder, not {base!r}")
    if tqdm_mode not in _TQDM_MODES:
        raise ValueError(f"tqdm_mode {tqdm_mode!r} is not one of 'smart', 'all', 'none'")
    if isinstance(system_metrics, bool) or not isinstance(system_metrics, (int, float)) \
            or not system_metrics >= 0:
        raise ValueError(f"system_metrics must be seconds >= 0 (0: off), not {system_metrics!r}")


def _record(key, value) -> dict:
    """The parameter record of ``key = value`` given to start()."""
    if not isinstance(key, str):
        raise ValueError(f"parameter names must be strings, not {key!r}")
    # Recorded as the script's own values ("default": neither a config nor the command line).
    return Parameter(key, value).record()


def _script() -> tuple:
    """The running script's file (archived as the run's code; "" for -c or a notebook) and
    the command line that started it."""
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", "") or ""
    return (os.path.abspath(file) if file and os.path.isfile(file) else "",
            [sys.executable, *sys.argv])


class _Prepare:
    """What a function run adds to its "prepare": its module as the run's code, the project's
    modules it imports, its description and its meta fields (None where not given)."""

    def __init__(self, file, dependencies, description, function, meta_extra, name):
        self.file = file
        self.name = name
        self.dependencies = dependencies
        self.description = description
        self.function = function
        self.meta_extra = meta_extra

    def description_or(self, default: str) -> str:
        return default if self.description is None else self.description

    def meta_fields(self) -> dict:
        """The meta fields a run recorded by Python alone writes itself."""
        fields = dict(self.meta_extra or {})
        if self.function is not None:
            fields["function"] = self.function
        return fields


class _Session:
    """One run started by xrun.start(): its folder, and the line to whoever records it."""

    def __init__(self, path: str, start_time: float, watched_by):
        self.path = path
        self.id = os.path.basename(path)
        self.start_time = start_time
        self.watched_by = watched_by  # "supervisor", "watcher" or None (Python alone)
        self.status = None  # the final status once finished
        self._pid = os.getpid()  # the process whose run it is (not a fork of it)
        self._console = None  # the saved stdout/stderr while captured
        self._pipes = []  # the line to the watcher: replies in, messages out
        self._console_lock = _thread.allocate_lock()
        self._guard = None  # watches for the watcher's death while the console is captured
        self._left = []  # the output's read ends the guard kept, once it has stopped

    @classmethod
    def under_supervisor(cls, name, base, records, capture_env, prepare):
        """Inside ``xrun run``: the supervisor creates the folder and captures the console."""
        path, start = _protocol.request_started_run_folder(
            name, os.path.abspath(base), records, prepare.description_or(_description()),
            prepare.dependencies, sys.path if capture_env else None, prepare.function,
            prepare.meta_extra, prepare.name)
        return cls(path, start, "supervisor")

    @classmethod
    def watched(cls, name, base, records, capture_console, capture_env, interval, tqdm_mode,
                prepare):
        """Plain python3: starts the watcher, lets it trace this process, asks for the folder."""
        file, command = _script()
        file = prepare.file or file
        to_watcher = os.pipe()
        to_script = os.pipe()
        pid_pipe = os.pipe()
        output = [os.pipe(), os.pipe()] if capture_console else []
        watcher_ends = [to_watcher[0], to_script[1], pid_pipe[1], *(o[0] for o in output)]
        # Read ends of the output kept here too: should the watcher die, a print must not fail
        # on a pipe nobody reads (the guard gives the console back).
        kept = [os.dup(pipe[0]) for pipe in output]
        words = [_binary(), "watch", "--pid", str(os.getpid()), "--file", file,
                 "--control-in", str(to_script[1]), "--control-out", str(to_watcher[0]),
                 "--pid-fd", str(pid_pipe[1]), "--system-metrics", repr(interval),
                 "--tqdm-mode", tqdm_mode]
        if output:
            words += ["--out", str(output[0][0]), "--err", str(output[1][0])]
        _flush()
        starter = _start_watcher([*words, "--", *command], watcher_ends)
        for fd in watcher_ends:
            os.close(fd)
        # The extension is loaded while the watcher starts: neither waits for the other.
        native = _native()
        watcher = _read_pid(pid_pipe[0])
        if not watcher or native is None:
            why = _await_starter(starter)
            # A watcher without its script's request makes no run folder and ends with it.
            for fd in [to_script[0], to_watcher[1], *kept, *(o[1] for o in output)]:
                os.close(fd)
            if native is None:
                raise _NoExtension()
            raise _NoWatcher(why or "it did not start")
        _native().allow_tracer(watcher)
        _native().connect(to_script[0], to_watcher[1])
        session = cls("", 0.0, "watcher")  # its folder once the watcher has made it
        session._watcher = watcher
        session._pipes = [to_script[0], to_watcher[1]]
        if output:
            session._console = _capture(output[0][1], output[1][1])
        try:
            session.path, session.start_time = _protocol.request_started_run_folder(
                name, os.path.abspath(base), records, prepare.description_or(_description()),
                prepare.dependencies, sys.path if capture_env else None, prepare.function,
                prepare.meta_extra, prepare.name)
        except BaseException as error:
            for fd in kept:
                os.close(fd)
            session._release()
            if isinstance(error, _NotRecorded):
                raise RuntimeError(f"the run cannot be recorded, so it did not start: "
                                   f"{error}") from None
            raise
        finally:
            _await_starter(starter)  # gone by now: it exits once it has written the pid
        session.id = os.path.basename(session.path)
        session._guard = _Guard(session, kept)
        return session

    # -- the end ------------------------------------------------------------------------------
    def finish(self, status: str | None = None, error: BaseException | None = None):
        """Records the run's end: ``status`` as given ("done", "failed", "interrupted"), or
        when None decided from ``error`` (None: done, KeyboardInterrupt: interrupted, else
        failed with its traceback in the log). A second call does nothing."""
        if status is not None and status not in _STATUSES:
            raise ValueError(f"finish(status={status!r}): the status is one of "
                             f"{', '.join(_STATUSES)}")
        if self.status is not None or os.getpid() != self._pid:
            return  # finished, or a process forked from the script's: the run is not its own
        outcome = _outcome(status, error)
        self.status = status or ("interrupted" if outcome["interrupted"]
                                 else "failed" if outcome["error_type"] else "done")
        if isinstance(error, BaseException) and self.status == "failed" and \
                not isinstance(error, (KeyboardInterrupt, SystemExit)) and \
                not getattr(error, "_xrun_reported", False):
            _print_traceback(error)
            error._xrun_reported = True  # the exit's traceback is not printed again
        tracked, lost = _tracking.end() if _native() is not None else ([], None)
        if lost and self.status == "done":
            # Values that were not saved fail the run, as in xrun run (warned as it happened):
            # a run on record as done has all it was given.
            self.status = "failed"
            outcome.update(error_type="OSError",
                           error_message=f"tracked values could not be saved: {lost}")
        end_time = time.time()
        if self.watched_by is None:
            self._finish_unwatched(outcome, tracked, end_time)
        else:
            _flush()
            _protocol.report_started_end(outcome, tracked, end_time)
            if self.watched_by == "watcher":
                self._await_release()
        self._release()

    def _await_release(self, limit: float = 5.0):
        """Waits (at most ``limit`` seconds) until the watcher has the run's end on record and
        no longer traces this process (the next start() is then traced by its own): it closes
        its end of the reply pipe then, as it does when it dies."""
        import select

        if self._guard is not None:
            # The pipe's end is no longer the watcher's death; the output's read ends it kept
            # are forwarded once the run is released.
            self._left = self._guard.stop()
            self._guard = None
        deadline = time.monotonic() + limit
        while select.select([self._pipes[0]], [], [], max(0.0, deadline - time.monotonic()))[0]:
            if not os.read(self._pipes[0], 4096):
                return

    def _finish_unwatched(self, outcome, tracked, end_time):
        self._heartbeat.end(self.status, outcome, tracked, end_time)

    def _release(self):
        """Gives the console back, closes the line to the watcher, disarms the exit hooks."""
        _flush()
        left, self._left = self._left, []
        if self._guard is not None:
            left = self._guard.stop()
            self._guard = None
        self._give_console_back()
        if left:
            # Programs the script started may print after the run (and the watcher) ended:
            # their output goes on to the console instead of failing on a pipe nobody reads.
            _start_forwarder(dict(zip(left, (1, 2))), self._watcher)
        if self._pipes:
            _native().connect(-1, -1)
            # The leave to trace this process was the watcher's for this run only: its pid
            # may be another process's once it is gone.
            _native().allow_tracer(0)
            for fd in self._pipes:
                os.close(fd)
            self._pipes = []
        if self in _open:
            _open.remove(self)
        self._disarm()

    def _give_console_back(self):
        """Points stdout and stderr at what they were before the run captured them."""
        with self._console_lock:
            if self._console is not None:
                for saved, fd in zip(self._console, (1, 2)):
                    os.dup2(saved, fd)
                    os.close(saved)
                self._console = None

    # -- the exit hooks -----------------------------------------------------------------------
    def _arm(self):
        """Until the run is finished: an uncaught exception fails it, the exit finishes it,
        SIGTERM interrupts it (as inside ``xrun run``)."""
        if self.watched_by == "supervisor":
            return  # the entry point of xrun run ends it
        # _signal, not signal: the latter imports enum, a millisecond of every start.
        import _signal as signal

        atexit.register(self._at_exit)
        _hook_exceptions()
        self._previous_term = None
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            try:
                self._previous_term = signal.signal(signal.SIGTERM, _terminate)
            except ValueError:  # not the main thread: SIGTERM is left as it is
                pass

    def _disarm(self):
        import _signal as signal

        atexit.unregister(self._at_exit)
        if getattr(self, "_previous_term", None) is not None:
            try:
                signal.signal(signal.SIGTERM, self._previous_term)
            except ValueError:  # not the main thread
                pass
            self._previous_term = None

    def _at_exit(self):
        self.finish(error=_uncaught[0] if _uncaught else None)


class _Guard:
    """A thread waiting for the watcher's end of the reply pipe to close (the watcher died):
    the console is then given back, with what was left in the pipes, and a warning; what the
    script's programs write there later is copied to the console until they have all ended."""

    def __init__(self, session, kept: list):
        self._session = session
        self._kept = kept
        self._wake = os.pipe()
        self._lock = _thread.allocate_lock()
        self._stopped = False
        self._forwarding = False  # the watcher died: the thread owns the pipes from then on
        # A bare thread (the threading module is a millisecond of every start to import):
        # daemonic, and joined through the lock it holds while it runs.
        self._running = _thread.allocate_lock()
        self._running.acquire()
        _start_thread(self._run)

    def _run(self):
        try:
            self._watch()
        finally:
            self._running.release()

    def stop(self) -> list:
        """Ends the watch (the run is over); returns the read ends of the output for the
        caller to forward, or [] when this guard forwards them already."""
        with self._lock:
            self._stopped = True
            if self._forwarding:
                return []
        os.write(self._wake[1], b"x")
        with self._running:  # the thread has ended
            pass
        for fd in self._wake:
            os.close(fd)
        return self._kept

    def _watch(self):
        import select

        ready, _, _ = select.select([self._session._pipes[0], self._wake[0]], [], [])
        with self._lock:
            if self._stopped or self._session._pipes[0] not in ready:
                return  # the run ended, the watcher is fine
            self._forwarding = True
        for fd in self._wake:
            os.close(fd)
        self._session._give_console_back()
        # What is in the pipes, and what a write begun before the switch still puts there,
        # before the warning; then whatever comes, until no writer is left.
        targets = dict(zip(self._kept, (1, 2)))
        _forward(targets, quiet=0.2)
        os.write(2, f"{_prefix('warning')} the xrun watcher of this run is gone; its output "
                    f"is no longer recorded and the run shows as lost\n".encode())
        _forward(targets)


def _start_thread(body):
    """Runs ``body`` on a daemonic thread (it ends with the process at the latest), once the
    thread is running: one still starting when the interpreter shuts down (the script ended
    right after) would stop the process with a fatal error. (The threading module, which waits
    so too, is a millisecond of every start to import.)"""
    running = _thread.allocate_lock()
    running.acquire()

    def run():
        running.release()
        body()

    _thread.start_new_thread(run, ())
    running.acquire()


def _start_forwarder(targets: dict, watcher: int):
    """Copies the captured output's read ends (``targets``: each to its console descriptor)
    to the console in a daemon thread, until no writer is left. It starts once ``watcher``
    has left: until then what is in the pipes is the watcher's, for the run's log."""
    def forward():
        _await_end(watcher)
        _forward(targets)

    _start_thread(forward)


def _await_end(pid: int):
    """Waits for the end of process ``pid`` (not a child of this one)."""
    import select

    try:
        ended = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (OSError, AttributeError):
        ended = None  # no pidfds here: asked for every 50 ms
    if ended is not None:
        select.select([ended], [], [])
        os.close(ended)
        return
    while True:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return
        except (ProcessLookupError, FileNotFoundError):
            return
        except OSError:
            pass
        time.sleep(0.05)


_forwarding = []  # a lock held by each thread copying output to the console (see _forward)


def _drain_forwarders():
    """At exit: output a program wrote just before it ended (the script waited for it) is
    still in a pipe; the threads copying it get a moment to finish, as they end at EOF."""
    for busy in list(_forwarding):
        if busy.acquire(timeout=2.0):
            busy.release()


def _forward(targets: dict, quiet: float | None = None):
    """Copies each read end of ``targets`` to its console descriptor and closes it once no
    writer is left; returns early (ends left in ``targets``) after ``quiet`` seconds without
    output. A console that is gone drops the output, so the writers never block."""
    busy = _thread.allocate_lock()
    busy.acquire()
    if not _forwarding:
        atexit.register(_drain_forwarders)
    _forwarding.append(busy)
    try:
        _copy(targets, quiet)
    finally:
        _forwarding.remove(busy)
        busy.release()


def _copy(targets: dict, quiet: float | None):
    import select

    while targets:
        readable, _, _ = select.select(list(targets), [], [], quiet)
        if not readable:
            return
        for fd in readable:
            chunk = os.read(fd, 65536)
            if not chunk:
                os.close(fd)
                del targets[fd]
                continue
            try:
                while chunk:
                    chunk = chunk[os.write(targets[fd], chunk):]
            except OSError:
                pass


_uncaught = []  # the exception that is ending the process, seen by sys.excepthook


def _hook_exceptions():
    """Keeps the exception that ends the process for the exit's finish(); the traceback of one
    a finish() reported already is not printed again."""
    if getattr(sys.excepthook, "_xrun", False):
        return
    previous = sys.excepthook

    def hook(kind, value, trace):
        if value is not None and not getattr(value, "_xrun_reported", False):
            _uncaught[:] = [value]
            if any(session.watched_by is not None for session in _open) and \
                    not isinstance(value, (KeyboardInterrupt, SystemExit)):
                _print_traceback(value)
                value._xrun_reported = True
                return
        if value is not None and getattr(value, "_xrun_reported", False):
            return
        previous(kind, value, trace)

    hook._xrun = True
    sys.excepthook = hook


def _terminate(number, frame):
    """SIGTERM while a run is open: the run is interrupted, as a Ctrl-C would."""
    _signals[:] = [number]
    raise KeyboardInterrupt


_signals = []  # the signal that interrupted the run, if one did


def _outcome(status, error) -> dict:
    """The "finish" report's fields for ``status`` (as given) or ``error``."""
    import _signal as signal

    if isinstance(error, SystemExit) and error.code in (None, 0):
        error = None  # sys.exit() or sys.exit(0): the script ended well
    interrupted = status == "interrupted" or (status is None and
                                              isinstance(error, KeyboardInterrupt))
    outcome = {"error_type": "", "error_message": "", "interrupted": interrupted}
    if interrupted:
        outcome["error_type"] = "KeyboardInterrupt"
        outcome["signal"] = _signals[0] if _signals else signal.SIGINT
        outcome["error_message"] = ""
    elif status == "failed" or (status is None and error is not None):
        if isinstance(error, BaseException):
            outcome["error_type"] = type(error).__name__
            outcome["error_message"] = str(error)[:2000]
        else:
            outcome["error_type"] = "Failed"
            outcome["error_message"] = "finished as failed by the script (finish(status='failed'))"
    return outcome


def _print_traceback(error: BaseException):
    """The traceback of ``error`` on stderr (the log), without xrun's own frames."""
    import traceback

    trace = traceback.TracebackException.from_exception(error)
    trace.stack = traceback.StackSummary.from_list(
        [frame for frame in trace.stack if not _own_frame(frame.filename)])
    sys.stderr.write("".join(trace.format()))
    _flush()


def _capture(out_fd: int, err_fd: int) -> tuple:
    """Points this process's stdout and stderr at the watcher's pipes; returns the originals."""
    _flush()
    saved = (os.dup(1), os.dup(2))
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    os.close(out_fd)
    os.close(err_fd)
    return saved


def _start_watcher(words: list, fds: list):
    """Starts ``xrun watch`` (``words``) with ``fds`` passed on and stdin from /dev/null, and
    returns its process (for _await_starter), or why it could not be started. (posix_spawn:
    the subprocess module costs a few milliseconds to import; the watcher closes what else
    this process lets it inherit.) The descriptors stay close-on-exec here: a dup2 onto itself
    in the spawned process only (glibc clears the flag there) passes them, so a program another
    thread starts meanwhile never holds them."""
    try:
        return os.posix_spawn(words[0], words, os.environ, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            *((os.POSIX_SPAWN_DUP2, fd, fd) for fd in fds)])
    except OSError as error:
        return error.strerror or str(error)


def _await_starter(starter) -> str:
    """Waits for the process _start_watcher started, which exits once the watcher itself goes
    on in a process of its own. Returns "" when it exited well, else why not."""
    if isinstance(starter, str):
        return starter
    try:
        _, status = os.waitpid(starter, 0)
    except ChildProcessError:  # reaped by the script's own os.wait()
        return ""
    code = os.waitstatus_to_exitcode(status)
    return "" if code == 0 else f"xrun watch exited with code {code}"


def _read_pid(fd: int) -> int:
    """The watcher's pid, a line its starter writes before it exits (read without waiting for
    that exit); 0 when it wrote none."""
    text = b""
    try:
        while not text.endswith(b"\n"):
            chunk = os.read(fd, 64)
            if not chunk:
                break
            text += chunk
    finally:
        os.close(fd)
    try:
        return int(text.strip() or 0)
    except ValueError:
        return 0


def _description() -> str:
    main = sys.modules.get("__main__")
    return (getattr(main, "__doc__", None) or "").strip()


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - closed or replaced
            pass

