"""Results without the code: ``load()`` gives a read-only ``RunView`` of one recorded run
(its meta, parameters, data, results, summary, series, log and outputs), ``runs()`` the runs
of an archive that match a ``--where`` expression, answered by ``xrun archive list --json`` so
the query language and the index are the command line's. Neither imports the experiment's
module nor writes anything; files are read from inside the run folder only (a link is never
followed). numpy and pandas are imported only when a result asks for them.
Imports ``_common`` only.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import stat
import subprocess
import time
import warnings
from collections.abc import Mapping

from ._common import _binary, _native, _shown

_META_FILE = "experiment_meta.json"
# The kinds of outputs.json entries and what each loads as.
_OUTPUT_KINDS = ("npy", "parquet", "csv", "json", "bytes", "file", "pickle")
# Where xrun's own special parameters (where a run goes, which mixins load) are left out of
# the runs() table: they are not the experiment's values.
_SPECIAL = re.compile(r"__[A-Z0-9_]+__")


# -- reading inside a run folder --------------------------------------------------------------

def _parts(relative: str, what: str) -> list:
    """The parts of ``relative`` (joined by '/'), or a ValueError when it could leave the
    folder: empty, absolute, NUL, or a '.'/'..' part."""
    if not isinstance(relative, str) or not relative or "\0" in relative \
            or relative.startswith("/") \
            or any(part in ("", ".", "..") for part in relative.split("/")):
        raise ValueError(f"{what}: {_shown(repr(relative))} is not a relative path inside "
                         "the run folder")
    return relative.split("/")


def _open_inside(folder: str, relative: str, what: str, directory: bool = False) -> int:
    """A file descriptor of ``relative`` in ``folder``, opened part by part without following
    a link (so nothing outside the run folder is reached through one). FileNotFoundError when
    it is not there; ValueError for a link, or a file that is not a regular file (a folder
    when ``directory``)."""
    parts = _parts(relative, what)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
            if not last or directory:
                flags |= os.O_DIRECTORY
            try:
                inner = os.open(part, flags, dir_fd=fd)
            except OSError as error:
                if error.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENXIO):
                    raise
                path = os.path.join(folder, *parts[:index + 1])
                if os.path.islink(path):
                    why = "is a symbolic link; links are not followed out of a run folder"
                else:
                    why = "is not a folder" if not last or directory else "is not a file"
                raise ValueError(f"{what}: {path} {why}") from None
            os.close(fd)
            fd = inner
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISDIR(mode) if directory else stat.S_ISREG(mode)):
            raise ValueError(f"{what}: {os.path.join(folder, relative)} is not "
                             f"{'a folder' if directory else 'a regular file'}")
        return fd
    except BaseException:
        os.close(fd)
        raise


def _read_bytes(folder: str, relative: str, what: str):
    """The bytes of ``relative`` in ``folder`` (read as _open_inside opens it), or None when
    the file is not there."""
    try:
        fd = _open_inside(folder, relative, what)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as file:
        return file.read()


def _read_json(folder: str, relative: str, what: str, missing=None):
    """The JSON value of ``relative`` in ``folder``, ``missing`` when there is no such file;
    a ValueError naming the file when it is not JSON."""
    content = _read_bytes(folder, relative, what)
    if content is None:
        return missing
    try:
        return json.loads(content)
    except ValueError as error:
        raise ValueError(f"{what}: {os.path.join(folder, relative)} is not valid JSON "
                         f"({error})") from None


# -- the status a listing shows ---------------------------------------------------------------

def _shown_status(meta: dict, now: float) -> str:
    """The status ``xrun archive list`` shows for a run whose meta is ``meta``: the recorded
    one, but ``lost`` for a ``running`` run that xrun's own rule finds lost (core::is_lost,
    asked through ``_xrun``: its supervisor is gone from this host, or on another host its
    heartbeat is over a minute old). Without the native module (a build for the sanitizers
    has none) a running run shows as recorded: the rule is not written again in Python."""
    status = meta.get("status")
    if not isinstance(status, str):
        return "corrupt"
    native = _native()
    if status != "running" or native is None:
        return status
    return "lost" if native.run_is_lost(meta, now) else "running"


# -- series -----------------------------------------------------------------------------------

def _parse_series(content: bytes, where: str) -> dict:
    """The points of a series file (``step,value,time,stage``, or the three columns of older
    runs) as lists: a last line cut short (a killed writer) is left out."""
    lines = content.decode("utf-8", "replace").split("\n")
    header = lines[0].strip().split(",") if lines else []
    if header[:3] != ["step", "value", "time"]:
        raise ValueError(f"{where} is not a series file (its header is "
                         f"{_shown(repr(lines[0] if lines else ''))})")
    # The text after the last newline is a line not yet (or never) finished.
    lines = lines[1:-1]
    columns = {"step": [], "value": [], "time": [], "stage": []}
    damaged = []
    for number, line in enumerate(lines, start=2):
        if not line:
            continue
        fields = line.split(",", 3)
        try:
            step, value, when = _step(fields[0]), float(fields[1]), float(fields[2])
        except (ValueError, IndexError):
            damaged.append(number)  # skipped, as the viewer and `archive show` skip it
            continue
        columns["step"].append(step)
        columns["value"].append(value)
        columns["time"].append(when)
        columns["stage"].append(fields[3] if len(fields) > 3 else "")
    if damaged:
        warnings.warn(f"{where}: {len(damaged)} line(s) that are not step,value,time left out "
                      f"(the first: line {damaged[0]})", stacklevel=3)
    return columns


def _step(text: str):
    """A step as written: an integer, or a number some other writer gave with a fraction."""
    try:
        return int(text)
    except ValueError:
        step = float(text)
        if step != step or step in (float("inf"), float("-inf")):
            raise
        return int(step) if step.is_integer() else step


def _series_names(folder: str, relative: str = ".track") -> list:
    """The names of the series under ``relative`` (``loss``, ``train/loss``, ``sys/cpu``)."""
    try:
        fd = _open_inside(folder, relative, "series", directory=True)
    except (FileNotFoundError, ValueError):
        return []
    try:
        entries = list(os.scandir(fd))
    finally:
        os.close(fd)
    names = []
    for entry in entries:
        if entry.is_symlink():
            continue
        if entry.is_dir(follow_symlinks=False):
            names.extend(_series_names(folder, f"{relative}/{entry.name}"))
        elif entry.name.endswith(".csv") and entry.is_file(follow_symlinks=False):
            names.append(f"{relative}/{entry.name}"[len(".track/"):-len(".csv")])
    return sorted(names)


# -- outputs ----------------------------------------------------------------------------------

class _CallableDict(dict):
    """A dict that answers a call with itself, or with one of its values: ``run.results``,
    ``run.results()`` (how digitalhub's runs are read) and a batch row's ``result("acc")``."""

    def __call__(self, name=None):
        if name is None:
            return self
        if name not in self:
            known = ", ".join(sorted(map(str, self))) or "none"
            raise KeyError(f"no result {name!r} (the results: {known})")
        return self[name]


class _Outputs(Mapping):
    """The outputs a run lists in outputs.json, by name; each loaded (after its size and
    SHA-256 are checked) when asked for. A call answers the mapping itself (``outputs()``)."""

    def __call__(self):
        return self

    def __init__(self, view: "RunView"):
        self._view = view
        listing = _read_json(view.path, "outputs.json", "outputs", missing={"outputs": []})
        entries = listing.get("outputs") if isinstance(listing, dict) else None
        if not isinstance(entries, list):
            raise ValueError(f"outputs: {os.path.join(view.path, 'outputs.json')} has no "
                             "\"outputs\" list")
        self._entries = {}
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise ValueError(f"outputs: an entry of {view.path}/outputs.json has no name: "
                                 f"{_shown(repr(entry))}")
            self._entries[entry["name"]] = entry

    def __getitem__(self, name):
        return self.load(name)

    def __iter__(self):
        return iter(self._entries)

    def __len__(self):
        return len(self._entries)

    def __repr__(self):
        kinds = ", ".join(f"{name!r}: {entry.get('kind')!r}"
                          for name, entry in self._entries.items())
        return f"<outputs of {self._view.id}: {{{kinds}}}>"

    def entry(self, name: str) -> dict:
        if name not in self._entries:
            known = ", ".join(sorted(self._entries)) or "none"
            raise KeyError(f"run {self._view.id} has no output {name!r} (its outputs: {known})")
        return self._entries[name]

    def load(self, name: str, allow_pickle: bool = False):
        entry = self.entry(name)
        kind = entry.get("kind")
        where = f"output {name!r} of run {self._view.id}"
        if kind not in _OUTPUT_KINDS:
            raise ValueError(f"{where} is of kind {_shown(repr(kind))}, which xrun does not "
                             f"load (kinds: {', '.join(_OUTPUT_KINDS)})")
        if kind == "pickle" and not allow_pickle:
            raise ValueError(f"{where} is a pickle, which runs code when loaded: load it with "
                             f"output({name!r}, allow_pickle=True) if you trust the run")
        content = self._verified(entry, where)
        path = os.path.join(self._view.path, entry["file"])
        if kind in ("bytes", "file"):
            return path
        if kind == "json":
            return json.loads(content)
        if kind == "npy":
            return _numpy(f"{where} (npy)").load(io.BytesIO(content), allow_pickle=False)
        if kind == "pickle":
            import pickle

            return pickle.loads(content)
        pandas = _pandas(f"{where} ({kind})")
        if kind == "parquet":
            return pandas.read_parquet(io.BytesIO(content))
        return pandas.read_csv(io.BytesIO(content))

    def _verified(self, entry: dict, where: str) -> bytes:
        """The file's bytes once its size and SHA-256 are those outputs.json lists."""
        file = entry.get("file")
        content = _read_bytes(self._view.path, file, where)
        if content is None:
            raise FileNotFoundError(f"{where}: its file {file} is not in {self._view.path}")
        if len(content) != entry.get("size"):
            raise ValueError(f"{where}: {file} has {len(content)} bytes, outputs.json says "
                             f"{entry.get('size')}: the file changed since the run wrote it")
        digest = hashlib.sha256(content).hexdigest()
        if digest != entry.get("sha256"):
            raise ValueError(f"{where}: {file} has SHA-256 {digest}, outputs.json says "
                             f"{entry.get('sha256')}: the file changed since the run wrote it")
        return content


def _pandas(what: str):
    try:
        import pandas
    except ImportError:
        raise ImportError(f"{what} needs pandas, which this Python cannot import") from None
    return pandas


def _numpy(what: str):
    try:
        import numpy
    except ImportError:
        raise ImportError(f"{what} needs numpy, which this Python cannot import") from None
    return numpy


def _parameter_value(record):
    """The value a parameter record states: its ``exact`` text where JSON could not hold the
    number (NaN, an infinity, an integer beyond 64 bits), else its JSON value."""
    if not isinstance(record, dict):
        return record
    exact = record.get("exact")
    if isinstance(exact, str):
        for parse in (int, float):
            try:
                return parse(exact)
            except ValueError:
                pass
    return record.get("value")


# -- one run ----------------------------------------------------------------------------------

class RunView:
    """A recorded run, read from its folder: nothing of it is written, and its experiment's
    module is never imported. Each property reads its file when asked, so a run still going
    on shows its latest state."""

    def __init__(self, folder):
        folder = os.path.abspath(os.fspath(folder))
        if not os.path.isdir(folder):
            raise ValueError(f"{folder} is not a run folder (no such folder)")
        # Whatever holds the meta's name makes a run folder (as for the archive commands): one
        # whose meta is damaged or a link is a corrupt run, not a missing one.
        if not os.path.lexists(os.path.join(folder, _META_FILE)):
            raise ValueError(f"{folder} is not a run folder (it has no {_META_FILE})")
        self.path = folder
        self.id = os.path.basename(folder)

    def __repr__(self):
        return f"<RunView {self.id} {self.status}>"

    @property
    def meta(self) -> dict:
        """experiment_meta.json."""
        meta = _read_json(self.path, _META_FILE, "meta")
        if not isinstance(meta, dict):
            raise ValueError(f"meta: {self.path}/{_META_FILE} is not a JSON object")
        return meta

    @property
    def status(self) -> str:
        """The status ``xrun archive list`` shows: ``lost`` for a run whose recorder died,
        ``corrupt`` for one whose meta cannot be read."""
        try:
            shown = _shown_status(self.meta, time.time())
            if shown == "lost":
                # The run may have ended between the reading of its meta and the look at its
                # supervisor: the meta as it is now tells.
                now = self.meta.get("status")
                return now if now != "running" and isinstance(now, str) else shown
            return shown
        except (OSError, ValueError):
            return "corrupt"

    @property
    def parameters(self) -> dict:
        """Each parameter's name and value."""
        records = self.meta.get("parameters") or {}
        return {name: _parameter_value(record) for name, record in records.items()}

    @property
    def data(self) -> dict:
        """experiment_data.json ({} when the run stored nothing)."""
        return _read_json(self.path, "experiment_data.json", "data", missing={})

    @property
    def results(self) -> dict:
        """The ``results`` entry of the data: a function run's return values ({} when none)."""
        data = self.data
        results = data.get("results") if isinstance(data, dict) else None
        return _CallableDict(results if isinstance(results, dict) else {})

    def result(self, name: str):
        """One value of ``results``; a KeyError naming the ones there are."""
        results = self.results
        if name not in results:
            known = ", ".join(sorted(map(str, results))) or "none"
            raise KeyError(f"run {self.id} has no result {name!r} (its results: {known})")
        return results[name]

    @property
    def summary(self) -> dict:
        """experiment_summary.json ({} when the run set no summary or primary metric)."""
        return _read_json(self.path, "experiment_summary.json", "summary", missing={})

    @property
    def params(self) -> dict:
        """params.json: what the tracking SDK's log_params recorded ({} when none)."""
        return _read_json(self.path, "params.json", "params", missing={})

    def series_names(self) -> list:
        """The names of the tracked series, system metrics (``sys/...``) included."""
        return _series_names(self.path)

    def series(self, name: str, as_: str = "numpy"):
        """The points of series ``name``: with ``as_="numpy"`` a dict of arrays ``step``,
        ``value``, ``time`` and ``stage``; with ``as_="pandas"`` a DataFrame of those columns;
        with ``as_="lists"`` a dict of lists. A last line cut short is left out."""
        if as_ not in ("numpy", "pandas", "lists"):
            raise ValueError(f"series: as_ is 'numpy', 'pandas' or 'lists', not {as_!r}")
        relative = f".track/{name}.csv"
        content = _read_bytes(self.path, relative, "series")
        if content is None:
            known = ", ".join(self.series_names()) or "none"
            raise KeyError(f"run {self.id} has no series {name!r} (its series: {known})")
        columns = _parse_series(content, os.path.join(self.path, relative))
        if as_ == "lists":
            return columns
        if as_ == "pandas":
            return _pandas("series(as_='pandas')").DataFrame(columns)
        numpy = _numpy("series(as_='numpy')")
        return {"step": numpy.array(columns["step"], dtype=numpy.int64),
                "value": numpy.array(columns["value"], dtype=numpy.float64),
                "time": numpy.array(columns["time"], dtype=numpy.float64),
                "stage": numpy.array(columns["stage"], dtype=str)}

    def log(self) -> str:
        """experiment_out.log: everything the run printed ("" when there is none)."""
        content = _read_bytes(self.path, "experiment_out.log", "log")
        return "" if content is None else content.decode("utf-8", "replace")

    @property
    def outputs(self) -> Mapping:
        """The outputs the run listed in outputs.json, by name, each loaded when asked for
        (after its size and SHA-256 are checked); empty when it has none."""
        return _Outputs(self)

    def output(self, name: str, allow_pickle: bool = False):
        """One output, loaded: ``npy`` as a numpy array, ``parquet`` and ``csv`` as a pandas
        DataFrame, ``json`` as its value, ``bytes`` and ``file`` as the file's path;
        ``pickle`` only with ``allow_pickle=True`` (loading a pickle runs its code)."""
        return _Outputs(self).load(name, allow_pickle=allow_pickle)


# -- the archive ------------------------------------------------------------------------------

def _archive_list(path, where=None, columns=(), sort=None, limit=None) -> list:
    """The rows ``xrun archive list --json`` prints for these options. Its errors (a bad
    expression, a folder that is no archive) are ValueErrors carrying its message; its
    warnings (a name no run has) are Python warnings."""
    binary = _binary()
    if not binary:
        raise RuntimeError("the xrun binary is not found (xrun_binary.txt beside the package "
                           "names it): runs() and load() by id ask it; load() of a run folder "
                           "does not")
    words = [binary, "archive", "list", "--json", "--path", os.fspath(path)]
    if where is not None:
        words += ["--where", where]
    if columns:
        words += ["--columns", ",".join(columns)]
    if sort is not None:
        words += ["--sort", sort]
    if limit is not None:
        words += ["--limit", str(limit)]
    environment = dict(os.environ, NO_COLOR="1")
    done = subprocess.run(words, capture_output=True, env=environment)
    stderr = done.stderr.decode("utf-8", "replace")
    for line in stderr.splitlines():
        if line.startswith("xrun: warning: "):
            warnings.warn(line[len("xrun: warning: "):], stacklevel=3)
    if done.returncode != 0:
        message = "\n".join(line[len("xrun: error: "):] if line.startswith("xrun: error: ")
                            else line for line in stderr.splitlines()
                            if not line.startswith("xrun: warning: "))
        message = message.replace("\nxrun: hint: ", "; ")
        if done.returncode == 2:
            raise ValueError(message or f"xrun archive list failed on {path}")
        raise RuntimeError(f"xrun archive list failed (exit {done.returncode}): {message}")
    return json.loads(done.stdout)


def _resolve(text: str, root: str) -> str:
    """The folder of the run ``text`` names in the archive ``root`` as ``xrun archive show``
    finds it: its id, its folder within the archive, or a unique part of its id."""
    # Asking only for the runs whose path holds the text keeps a large archive's listing
    # short; text the glob or the expression would read otherwise takes the whole listing.
    plain = re.fullmatch(r"[A-Za-z0-9_.\-/]+", text) is not None
    rows = _archive_list(root, where=f'path ~ "*{text}*"' if plain else None)
    matches = []
    for row in rows:
        # The id is the folder's name: a corrupt run's meta may not say it.
        relative = os.path.relpath(row["path"], root)
        run_id = os.path.basename(relative)
        if run_id == text or relative == text:
            return row["path"]
        if text in run_id:
            matches.append(row)
    if len(matches) == 1:
        return matches[0]["path"]
    if matches:
        raise ValueError(f"{text!r} names {len(matches)} runs in {root}: give more of the id, "
                         f"e.g. {os.path.basename(matches[0]['path'])}")
    raise ValueError(f"no run {text!r} in {root}: xrun.runs({root!r}) lists the runs")


def load(id_or_path, path="results") -> RunView:
    """A read-only view of one recorded run: ``id_or_path`` is a run folder, or a run id (or a
    unique part of one) in the archive ``path``, found as ``xrun archive show`` finds it."""
    text = os.fspath(id_or_path)
    if os.path.lexists(os.path.join(text, _META_FILE)):
        return RunView(text)
    if not os.path.isdir(path):
        raise ValueError(f"{text!r} is not a run folder, and {os.fspath(path)!r} is not an "
                         "archive folder to find it in (give the archive with path=...)")
    return RunView(_resolve(text, os.path.abspath(path)))


def _table(rows: list, columns: list):
    """The rows as a pandas DataFrame: the run's fields, the asked columns, then the
    parameters (xrun's own special ones left out), one column each."""
    pandas = _pandas("runs()")
    fields = ["id", "status", "name", "namespace", "start_time", "duration", "path"]
    if any("problem" in row for row in rows):
        fields.append("problem")
    names = fields + [column for column in columns if column not in fields]
    parameters = []
    for row in rows:
        for name in row.get("parameters") or {}:
            if name not in names and name not in parameters and not _SPECIAL.fullmatch(name):
                parameters.append(name)
    records = []
    for row in rows:
        record = {name: row.get(name) for name in names}
        given = row.get("parameters") or {}
        record.update((name, given.get(name)) for name in parameters)
        records.append(record)
    table = pandas.DataFrame.from_records(records, columns=names + parameters)
    table["start_time"] = pandas.to_datetime(table["start_time"], unit="s", utc=True)
    return table


def runs(path="results", where=None, columns=None, sort=None, limit=None, as_=None):
    """The runs of the archive ``path`` matching ``where`` (the ``--where`` language of
    ``xrun archive list``), sorted by ``sort`` (``-NAME`` descending), at most ``limit``.
    ``columns`` (names or one comma-separated string) adds values (``data.metrics.acc``,
    meta fields). ``as_``: "pandas" (a DataFrame, one row per run), "records" (a list of
    dicts, as ``xrun archive list --json`` prints them) or "views" (a list of RunView); by
    default a DataFrame where pandas can be imported, else records. A bad expression is a
    ValueError carrying the command line's message."""
    if as_ not in (None, "pandas", "records", "views"):
        raise ValueError(f"runs: as_ is 'pandas', 'records' or 'views', not {as_!r}")
    if isinstance(columns, str):
        columns = [part.strip() for part in columns.split(",") if part.strip()]
    columns = list(columns or ())
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 1):
        raise ValueError(f"runs: limit is a positive int, not {limit!r}")
    root = os.path.abspath(os.fspath(path))
    rows = _archive_list(root, where, columns, sort, limit)
    if as_ == "records":
        return rows
    if as_ == "views":
        return [RunView(row["path"]) for row in rows]
    if as_ is None:
        try:
            _pandas("runs()")
        except ImportError:
            return rows
    return _table(rows, columns)

