"""Batches: ``xrun.Batch``, rows of parameter values for functions, each row run only when
no done run in the batch's folder has its key (the function's cache key), in this process or
in forked workers, and recorded as a sweep (``<namespace>/.sweeps/<id>/manifest.json``, the
format of ``src/sweep/manifest.cpp``) that ``xrun sweep status``, ``list`` and ``resume``
read. Imports ``_common``, ``_jsonio``, ``_results`` and ``_function``.
"""

from __future__ import annotations

import fcntl
import inspect
import itertools
import json
import os
import secrets
import socket
import sys
import time

from ._common import UsageError, _did_you_mean, _shown
from . import _function
from ._function import Function, function_of
from ._jsonio import _write_atomic
from ._results import RunView

_SWEEPS = ".sweeps"
_MANIFEST = "manifest.json"
_META_FILE = "experiment_meta.json"
# get_runs_with's suffixes and what each asks of a row's value.
_OPERATORS = {
    "eq": lambda value, wanted: value == wanted,
    "ne": lambda value, wanted: value != wanted,
    "lt": lambda value, wanted: value < wanted,
    "le": lambda value, wanted: value <= wanted,
    "gt": lambda value, wanted: value > wanted,
    "ge": lambda value, wanted: value >= wanted,
    "in": lambda value, wanted: value in wanted,
}
# Run ids and sweep ids end in four characters of this alphabet (util::random_token).
_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
# A row's status once its run has ended, as the manifest records it (C++ reconcile's words).
_ENDED = ("done", "failed", "interrupted", "killed", "lost", "corrupt")


def _is_literal(value) -> bool:
    """Whether ``value`` is JSON-able as it is: the values a sweep row's settings can hold,
    and so the rows ``xrun sweep resume`` can run again."""
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, (list, tuple)):
        return all(_is_literal(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_literal(item) for key, item in value.items())
    return False


def _shown_value(value):
    """A row's value as the manifest shows it: itself when JSON-able, a function or class by
    its name, else its repr."""
    if _is_literal(value):
        return json.loads(json.dumps(value))
    if callable(value) and isinstance(getattr(value, "__qualname__", None), str):
        return value.__qualname__
    return repr(value)


def _new_id(when: float) -> str:
    """An id as run folders are named (core::format_run_id), for a sweep folder."""
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.gmtime(when))
    suffix = "".join(secrets.choice(_ID_ALPHABET) for _ in range(4))
    return f"{stamp}-{int(when % 1 * 1000):03d}_{suffix}"


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _keys_of(meta: dict) -> list:
    """The keys a run answers to: its function's cache key and its batch row's key."""
    function, sweep = meta.get("function"), meta.get("sweep")
    keys = [function.get("cache_key") if isinstance(function, dict) else None,
            sweep.get("key") if isinstance(sweep, dict) else None]
    return [key for key in keys if isinstance(key, str) and key]


def _manifests(namespace_folder: str) -> list:
    """The sweep manifests of a namespace folder (unreadable ones left out), oldest first."""
    folder = os.path.join(namespace_folder, _SWEEPS)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for name in names:
        try:
            with open(os.path.join(folder, name, _MANIFEST), encoding="utf-8") as reader:
                manifest = json.load(reader)
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict):
            found.append(manifest)
    return found


def _read_meta(folder: str):
    try:
        with open(os.path.join(folder, _META_FILE), encoding="utf-8") as reader:
            meta = json.load(reader)
        return meta if isinstance(meta, dict) else None
    except (OSError, ValueError):
        return None


def _source_of(given) -> tuple:
    """(the module file, the name in it) of what a batch was given (a function, an
    ``xrun.function``, a class with ``__xrun_function__``), or ("", "") when it has no place a
    later process can import it from (a lambda, a nested function)."""
    target = given if isinstance(given, type) else inspect.unwrap(given)
    name = getattr(target, "__qualname__", "")
    try:
        file = inspect.getsourcefile(target) or ""
    except TypeError:
        file = ""
    if not file or not name.isidentifier():
        return "", ""
    return os.path.abspath(file), name


def _defaults(function) -> dict:
    """The function's parameters that have a default, with it."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return {}
    return {name: parameter.default for name, parameter in signature.parameters.items()
            if parameter.default is not inspect.Parameter.empty}


class BatchRun:
    """One row of a batch: its function, its parameter values and, once it has one, its run
    (read from the run folder, so a row done by another process shows as done)."""

    def __init__(self, batch: "Batch", index: int, function: Function, parameters: dict):
        self.batch, self.index, self.function = batch, index, function
        # The values given over the function's defaults: what the run is called with.
        self.parameters = {**_defaults(function), **parameters}
        self.given = dict(parameters)
        self.path = None
        self.failure = ""
        try:
            self.key = self._make_key()
        except UsageError as error:
            raise UsageError(f"batch {batch.name}: {error}") from None

    def _make_key(self) -> str:
        """What identifies the row's run: the function's cache key (its code, parameters and
        inputs). Raises UsageError for values that do not fit the function."""
        return self.function.cache_key(**self.given)

    def __repr__(self):
        return f"<BatchRun #{self.index} {self.status} {self.given}>"

    @property
    def id(self):
        """The run's id (its folder's name), None before it has a run."""
        return os.path.basename(self.path) if self.path else None

    @property
    def view(self):
        """The RunView of its run, None before it has one."""
        return RunView(self.path) if self.path else None

    @property
    def status(self) -> str:
        """``pending`` before it has a run, else its run's status."""
        return self.view.status if self.path else "pending"

    @property
    def done(self) -> bool:
        if self.path is None:
            self.path = self.batch._done_run(self.key)
        return self.path is not None and self.status == "done"

    @property
    def result(self):
        """The run's results (a dict), None until it is done."""
        return self.view.results if self.done else None

    @property
    def runtime(self):
        """Seconds the run took, None until it is done."""
        return self.view.meta.get("duration") if self.done else None


class Batch:
    """Rows of parameter values for functions, recorded in ``<base>/<name>``: ``add_run``,
    ``add_factorial_runs``, then ``batch(jobs=N)`` runs the rows that have no done run."""

    def __init__(self, name: str, base: str = "results"):
        if not isinstance(name, str) or not name or name in (".", "..") or "/" in name \
                or "\0" in name or name.startswith("."):
            raise UsageError(f"batch name {_shown(repr(name))} is not a folder name "
                             "(no '/', not empty, not starting with '.')")
        self.name = name
        self.base = os.path.abspath(os.fspath(base))
        self.run = []
        self._functions = []  # (what add_run was given, its Function), in the order added
        self._done = None  # key -> run folder, from the last look at the folder

    def __repr__(self):
        return f"<xrun.Batch {self.name}: {len(self.run)} rows in {self.namespace_folder}>"

    @property
    def namespace_folder(self) -> str:
        return os.path.join(self.base, self.name)

    # -- rows ------------------------------------------------------------------------------
    def _function_for(self, func) -> Function:
        """``func`` (an ``xrun.function``, a plain function, a class with
        ``__xrun_function__``) as a Function, the same one for every row of it."""
        for given, function in self._functions:
            if given is func:
                return function
        if not callable(func) and not hasattr(func, "__xrun_function__"):
            raise UsageError(f"batch {self.name}: {_shown(repr(func))} is not a function")
        function = function_of(func)
        self._functions.append((func, function))
        return function

    def _checked(self, func, parameters) -> Function:
        if not isinstance(parameters, dict):
            raise UsageError(f"batch {self.name}: a row's parameters are a dict of name to "
                             f"value, not {_shown(repr(parameters))}")
        function = self._function_for(func)
        known = function.parameters
        for name in parameters:
            if name not in known:
                raise UsageError(f"batch {self.name}: {function.__name__} has no parameter "
                                 f"{_shown(repr(name))}{_did_you_mean(name, known)}")
        return function

    def add_run(self, func, params: dict) -> BatchRun:
        """A row: ``func`` (an ``xrun.function`` or a plain function) with ``params``. Raises
        UsageError for a name the function does not take or a value that does not fit."""
        row = self._row(func, len(self.run), self._checked(func, params), params)
        self.run.append(row)
        return row

    def _row(self, func, index: int, function: Function, params: dict) -> BatchRun:
        """A row of ``func`` (what add_run was given) as this batch's rows are."""
        return BatchRun(self, index, function, params)

    def add_factorial_runs(self, func, params: dict) -> list:
        """A row for every combination of ``params``' values ({name: [values]}), the first
        name's values varying slowest. All rows are checked before any is added."""
        if not isinstance(params, dict):
            raise UsageError(f"batch {self.name}: add_factorial_runs takes a dict of name to "
                             f"list of values, not {_shown(repr(params))}")
        for name, values in params.items():
            if not isinstance(values, (list, tuple)):
                raise UsageError(f"batch {self.name}: add_factorial_runs: the values of "
                                 f"{_shown(repr(name))} are a list, not {_shown(repr(values))}")
        names = list(params)
        combinations = [dict(zip(names, values))
                        for values in itertools.product(*(params[name] for name in names))]
        rows = [self._row(func, len(self.run) + offset, self._checked(func, combination),
                          combination)
                for offset, combination in enumerate(combinations)]
        self.run.extend(rows)
        return rows

    def get_runs_with(self, **conditions) -> list:
        """The rows whose values meet every condition: ``name=value`` (equal; a list for a
        parameter whose value is not a list: one of them), ``name__SUFFIX=value`` with
        ``eq ne lt le gt ge in``. A name no row has is a UsageError."""
        parsed = []
        for word, wanted in conditions.items():
            name, _, suffix = word.rpartition("__")
            if not name or suffix not in _OPERATORS:
                name, suffix = word, ""
            if not any(name in row.parameters for row in self.run):
                known = sorted({key for row in self.run for key in row.parameters})
                raise UsageError(f"batch {self.name}: get_runs_with: no row has a parameter "
                                 f"{_shown(repr(name))}{_did_you_mean(name, known)}")
            parsed.append((name, suffix, wanted))
        return [row for row in self.run
                if all(_meets(row.parameters, name, suffix, wanted)
                       for name, suffix, wanted in parsed)]

    # -- runs in the folder ----------------------------------------------------------------
    def _look(self) -> dict:
        """The done runs of the batch's folder by key: a run's cache key, the key its batch
        row recorded in its meta, and the key of the manifest row that names it (a row
        `xrun sweep resume` ran has only that). The latest run wins."""
        found, done = {}, {}
        try:
            entries = sorted(os.scandir(self.namespace_folder), key=lambda entry: entry.name)
        except OSError:
            entries = []
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            meta = _read_meta(entry.path)
            if meta is not None and meta.get("status") == "done":
                done[entry.name] = entry.path
                for key in _keys_of(meta):
                    found[key] = entry.path
        for manifest in _manifests(self.namespace_folder):
            for row in manifest.get("variations") or []:
                run, key = (row.get("run"), row.get("run_hash")) if isinstance(row, dict) \
                    else (None, None)
                if isinstance(key, str) and key and run in done:
                    found.setdefault(key, done[run])
        self._done = found
        return found

    def _done_run(self, key: str):
        if self._done is None:
            self._look()
        return self._done.get(key)

    # -- running ---------------------------------------------------------------------------
    def __call__(self, jobs: int = 1) -> list:
        """Runs the rows that have no done run, ``jobs`` at a time (each in a forked process
        when more than one); a row that fails is reported on stderr and the others go on.
        Returns the rows that did not end done."""
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise UsageError(f"batch {self.name}: jobs is a whole number >= 1, "
                             f"not {_shown(repr(jobs))}")
        # `xrun run mod.py:NAME` imports the module for its definitions: the batch stops it.
        _function.stop_if_importing(f"batch {self.name}()")
        done = self._look()
        for row in self.run:
            row.path = done.get(row.key)
            row.failure = ""
        todo = [row for row in self.run if row.path is None]
        if not todo:
            _say(f"batch {self.name}: all {len(self.run)} rows are done already")
            return []
        # Rows with the same key are one computation: the first runs, the others take its run.
        first = {}
        for row in todo:
            first.setdefault(row.key, row)
        # One sweep per function: a manifest's request names one function to run again.
        sweeps = []
        for given, function in self._functions:
            rows = [row for row in self.run if row.function is function]
            if any(row.path is None for row in rows):
                sweeps.append(_Sweep(self, given, function, rows, first))
        _say(f"batch {self.name}: {len(self.run)} rows, {len(first)} to run with {jobs} "
             f"worker{'s' if jobs > 1 else ''}" +
             (" (the rest done already)" if len(first) < len(self.run) else ""))
        try:
            for sweep in sweeps:
                sweep.start()
            if jobs == 1:
                for sweep in sweeps:
                    for row in sweep.pending():
                        sweep.run_here(row)
            else:
                _run_forked([(sweep, row) for sweep in sweeps for row in sweep.pending()], jobs)
        except KeyboardInterrupt:
            for sweep in sweeps:
                sweep.end("interrupted")
            raise
        for row in todo:
            if row is not first[row.key]:
                row.path, row.failure = first[row.key].path, first[row.key].failure
        for sweep in sweeps:
            sweep.end("finished")
        failed = [row for row in todo if row.status != "done"]
        for row in failed:
            _say(f"batch {self.name}: row {row.index} ({_row_text(row.given)}) "
                 f"{row.status}{': ' + row.failure if row.failure else ''}"
                 f"{' - ' + row.path if row.path else ''}")
        self._done = None
        return failed

    def _run_row(self, row: BatchRun, record: dict):
        """The row's run, in the batch's folder: the archive is ``base`` (where ``xrun archive
        list`` looks), the namespace its folder ``<name>``."""
        return row.function.run(**row.given, _base=os.path.dirname(self.base),
                                _namespace=f"{os.path.basename(self.base)}/{self.name}",
                                _sweep=record)

    def save_ids(self) -> str:
        """Writes the rows' run ids (None for a row without a done run) to
        ``<namespace folder>/<name>_ids.npy`` (when numpy imports) and ``<name>_ids.json``;
        returns the JSON file's path. ``xrun.load(id, path=base)`` reads each run."""
        return _save_ids(self.namespace_folder, self.name,
                         [row.id if row.done else None for row in self.run])


def _save_ids(folder: str, name: str, ids: list) -> str:
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, f"{name}_ids.json")
    _write_atomic(target, json.dumps({"batch": name, "ids": ids}, indent=2) + "\n")
    try:
        import numpy
    except ImportError:
        return target
    array = numpy.array(["" if item is None else item for item in ids], dtype=str)
    temp = os.path.join(folder, f".{name}_ids.{os.getpid()}.npy")
    numpy.save(temp, array, allow_pickle=False)
    os.replace(temp, os.path.join(folder, f"{name}_ids.npy"))
    return target


def _meets(parameters: dict, name: str, suffix: str, wanted) -> bool:
    if name not in parameters:
        return False
    value = parameters[name]
    if not suffix:
        # batchpy's own B=[2, 5, 8]: a list parameter compared with a list is equality.
        listed = isinstance(wanted, (list, tuple, set)) and not isinstance(value, (list, tuple))
        suffix = "in" if listed else "eq"
    try:
        return bool(_OPERATORS[suffix](value, wanted))
    except TypeError:
        return False  # a value that does not compare with the wanted one does not meet it


def _row_text(values: dict) -> str:
    return " ".join(f"{name}={_shown(repr(value))}" for name, value in values.items())


def _say(text: str):
    sys.stderr.write(f"xrun: {text}\n")
    sys.stderr.flush()


class _Sweep:
    """The manifest of one function's rows of a batch: written before any of them runs,
    saved again (atomically) as each starts and ends, under the sweep's lock so that a
    ``xrun sweep resume`` of it waits for this process."""

    def __init__(self, batch: Batch, given, function: Function, rows: list, first: dict):
        self.batch, self.function, self.rows, self.first = batch, function, rows, first
        self.status = {}  # row index -> manifest status
        self.id = self.folder = ""
        self.lock = -1
        self.created = 0.0
        self.state = "running"
        self.file, self.function_name = _source_of(given)

    def start(self):
        sweeps = os.path.join(self.batch.namespace_folder, _SWEEPS)
        os.makedirs(sweeps, exist_ok=True)
        while True:
            self.created = time.time()
            self.id = _new_id(self.created)
            self.folder = os.path.join(sweeps, self.id)
            try:
                os.mkdir(self.folder)
                break
            except FileExistsError:
                continue
        self.lock = os.open(os.path.join(self.folder, "lock"),
                            os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for row in self.rows:
            # A row computed by an earlier one (same key) is skipped: its run is that one's.
            ran = row.path is None and self.first.get(row.key) is row
            self.status[row.index] = "pending" if ran else "skipped"
        self.save()

    def pending(self) -> list:
        return [row for row in self.rows if self.status[row.index] == "pending"]

    def record(self, row: BatchRun) -> dict:
        """The meta's ``sweep`` record of a row's run: ``id`` and ``index`` as sweep workers
        write them (reconcile matches rows by them), and the row's key, by which the batch
        finds the run again."""
        return {"id": self.id, "index": self.rows.index(row), "key": row.key,
                "batch": self.batch.name}

    def run_here(self, row: BatchRun):
        self.status[row.index] = "running"
        self.save()
        try:
            row.path = self.batch._run_row(row, self.record(row)).path
        except KeyboardInterrupt:
            row.path = row.path or self.find_run(row)
            self.status[row.index] = "interrupted"
            raise
        except Exception as error:  # the row failed: reported, the others go on
            row.failure = f"{type(error).__name__}: {error}"
            row.path = self.find_run(row)
        self.ended(row)

    def ended(self, row: BatchRun):
        status = row.status if row.path else "failed"
        self.status[row.index] = status if status in _ENDED else "failed"
        self.save()

    def find_run(self, row: BatchRun):
        """The run folder whose meta names this sweep and row (a run that raised)."""
        index = self.rows.index(row)
        try:
            entries = list(os.scandir(self.batch.namespace_folder))
        except OSError:
            return None
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
                continue
            sweep = (_read_meta(entry.path) or {}).get("sweep")
            if isinstance(sweep, dict) and sweep.get("id") == self.id \
                    and sweep.get("index") == index:
                return entry.path
        return None

    def end(self, state: str):
        if self.lock < 0:
            return
        for row in self.rows:
            if self.status[row.index] == "running":
                self.status[row.index] = "interrupted"
        self.state = state
        self.save()
        os.close(self.lock)
        self.lock = -1

    def settings(self, row: BatchRun, index: int) -> list:
        """The row's values as a sweep row's settings (what `xrun run FILE.py:NAME` is given
        for it by `xrun sweep resume`); a value without a literal form is a setting that
        stops that run with the reason."""
        where = f"batch {self.batch.name} row {index}"
        settings = []
        for name, value in row.given.items():
            setting = {"name": name, "file": where, "line": 0, "column": 0, "source": "cli"}
            if _is_literal(value):
                setting["value"] = json.loads(json.dumps(value))
            else:
                setting["value"] = None
                setting["unset"] = (f"{where}: {name}={_shown(repr(value))} has no literal "
                                    "form to run again from the manifest; run the batch again")
            settings.append(setting)
        return settings

    def save(self):
        rows = []
        for index, row in enumerate(self.rows):
            rows.append({"index": index,
                         "parameters": {name: _shown_value(value)
                                        for name, value in row.given.items()},
                         "run_hash": row.key,
                         "run": os.path.basename(row.path) if row.path else None,
                         "status": self.status[row.index],
                         "settings": self.settings(row, index)})
        # A config (as config::Config::to_json writes one) that puts the runs `xrun sweep
        # resume` makes in the batch's folder, not the function's own.
        config = {"experiment": self.file, "function": self.function_name, "files": [],
                  "name": self.function.name, "description": "",
                  "base_path": os.path.dirname(self.batch.base),
                  "namespace": f"{os.path.basename(self.batch.base)}/{self.batch.name}",
                  "parameters": [], "include": [], "plugins": []}
        request = {"file": self.file, "function": self.function_name, "config": config,
                   "config_path": "", "args": [], "plugins": [], "labels": {}}
        manifest = {"format": 1, "id": self.id, "created": self.created, "state": self.state,
                    "host": socket.gethostname(), "pid": os.getpid(),
                    "pid_namespace": _pid_namespace(), "pid_time": self.created,
                    "working_directory": os.getcwd(),
                    "command_line": [sys.executable, *sys.argv],
                    "swept": list(_unique_names(self.rows)), "request": request,
                    "launcher": {"type": "local"}, "variations": rows}
        _write_atomic(os.path.join(self.folder, _MANIFEST), json.dumps(manifest, indent=2) + "\n")


def _unique_names(rows) -> list:
    names = []
    for row in rows:
        names.extend(name for name in row.given if name not in names)
    return names


def _run_forked(work: list, jobs: int):
    """Runs each (sweep, row) of ``work`` in a forked process, at most ``jobs`` at once: the
    worker makes the run and tells its folder through a pipe; the parent records each row as
    its worker ends, and reads the results from the run folders."""
    running = {}  # pid -> (sweep, row, read end)
    queue = list(work)
    try:
        while queue or running:
            while queue and len(running) < jobs:
                sweep, row = queue.pop(0)
                sweep.status[row.index] = "running"
                sweep.save()
                reader, writer = os.pipe()
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    os.close(reader)
                    _worker(sweep, row, writer)
                os.close(writer)
                running[pid] = (sweep, row, reader)
            pid, status = os.wait()
            if pid not in running:
                continue
            sweep, row, reader = running.pop(pid)
            with os.fdopen(reader, "rb") as told:
                answer = told.read().decode("utf-8", "replace")
            path, _, failure = answer.partition("\n")
            row.path = path or sweep.find_run(row)
            row.failure = failure.strip()
            if not row.path and not row.failure:
                code = os.waitstatus_to_exitcode(status)
                row.failure = f"its worker ended with {code} before the run had a folder"
            sweep.ended(row)
    except BaseException:
        for pid in running:
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass
        for pid, (sweep, row, reader) in running.items():
            os.waitpid(pid, 0)
            os.close(reader)
            row.path = row.path or sweep.find_run(row)
        raise


def _worker(sweep: _Sweep, row: BatchRun, writer: int):
    """A forked worker: one row's run, its folder (and why it failed) written to ``writer``,
    then ``os._exit``, so nothing of the parent's (atexit, buffers) runs twice."""
    code = 1
    answer = ""
    try:
        result = sweep.batch._run_row(row, sweep.record(row))
        answer = f"{result.path}\n"
        code = 0
    except BaseException as error:
        answer = f"\n{type(error).__name__}: {error}"
    finally:
        try:
            os.write(writer, answer.encode("utf-8"))
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
