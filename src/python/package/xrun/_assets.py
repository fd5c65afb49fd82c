"""Files a ``Run`` keeps by content: blobs stored once per archive by SHA-256
(``<archive>/.xrun/blobs/ab/abcd…``, read-only), versioned artifacts (each version a file
``<archive>/.xrun/artifacts/<name>/v<N>.json``, the file linked into the run under
``artifacts/<name>/v<N>/`` and listed in the run's ``artifacts.json``), workspace snapshots
(``workspace.json``: a manifest of blobs, each file linked into the run under
``workspace/<path>``), and ``artifact_path("name:latest")``, which falls back on the runs'
``artifacts.json`` where the archive's registry lacks the name (runs extracted from elsewhere).
A blob already stored is checked against its hash before it is linked again; every path written
is checked to stay in the run folder. Copies run on one background thread per run, so the
training loop never waits for them. Imports ``_common`` and ``_jsonio``.
"""

from __future__ import annotations

import os
import _thread
import time

from ._common import _inside, _prefix, _shown
from ._jsonio import _dumps, _plain_or_repr, _write_atomic

_STORE = ".xrun"
_MANIFEST = "artifacts.json"
_WORKSPACE = "workspace.json"
_WORKSPACE_FOLDER = "workspace"


def _version_of(entry: str):
    """N of a version file ``v<N>.json``, else None."""
    digits = entry[1:-5] if entry.startswith("v") and entry.endswith(".json") else ""
    return int(digits) if digits.isdigit() and not digits.startswith("0") else None


def _is_digest(text) -> bool:
    """Whether ``text`` is a SHA-256 as blobs are named: 64 lower-case hex digits."""
    return isinstance(text, str) and len(text) == 64 and all(
        char in "0123456789abcdef" for char in text)


def _valid_name(name: str) -> bool:
    """Artifact names: letters, digits, '.', '_', '-' (a file name in every archive)."""
    return bool(name) and name not in (".", "..") and all(
        char.isascii() and (char.isalnum() or char in "._-") for char in name)


def _blob_path(store: str, digest: str) -> str:
    return os.path.join(store, _STORE, "blobs", digest[:2], digest)


def _digest_of(path: str) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as reader:
        for block in iter(lambda: reader.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def store_blob(store: str, source: str) -> str:
    """Stores the file ``source`` in the archive ``store`` once (by its SHA-256, which it
    returns); a blob already there is kept when its bytes still have that hash, else replaced
    (and said: runs linked to the damaged one keep it)."""
    import hashlib

    blobs = os.path.join(store, _STORE, "blobs")
    os.makedirs(blobs, exist_ok=True)
    digest = hashlib.sha256()
    temp = os.path.join(blobs, f".incoming.{os.getpid()}.{_thread.get_ident()}")
    try:
        with open(source, "rb") as reader, open(temp, "wb") as writer:
            for block in iter(lambda: reader.read(1 << 20), b""):
                digest.update(block)
                writer.write(block)
            writer.flush()
            os.fsync(writer.fileno())
        name = digest.hexdigest()
        target = _blob_path(store, name)
        if os.path.exists(target):
            try:
                intact = os.path.isfile(target) and not os.path.islink(target) \
                    and _digest_of(target) == name
            except OSError:
                intact = False
            if intact:
                return name
            import sys
            sys.stderr.write(f"{_prefix('warning')} the stored blob {target} does not hold "
                             "the bytes its name says; it is stored again\n")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.chmod(temp, 0o444)  # linked into runs: an edit of one would change them all
        os.replace(temp, target)
        return name
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def _stage(store: str, source: str) -> str:
    """A private copy of ``source`` in the archive's staging folder, made now: what a
    background job stores is the file as it was when it was asked for."""
    import tempfile

    folder = os.path.join(store, _STORE, "staging")
    os.makedirs(folder, exist_ok=True)
    handle, staged = tempfile.mkstemp(dir=folder, prefix="artifact.")
    os.close(handle)
    try:
        with open(source, "rb") as reader, open(staged, "wb") as writer:
            _clone(reader.fileno(), writer.fileno())
    except BaseException:
        os.remove(staged)
        raise
    return staged


_FICLONE = 0x40049409  # the ioctl that shares a file's blocks (btrfs, XFS, bcachefs)


def _clone(source: int, target: int):
    """The file ``source`` copied into ``target``: its blocks shared where the file system
    can (instant, whatever the size), else copied by the kernel, else by a loop."""
    import fcntl

    try:
        fcntl.ioctl(target, _FICLONE, source)
        return
    except OSError:
        pass
    size = os.fstat(source).st_size
    try:
        copied = 0
        while copied < size:
            done = os.copy_file_range(source, target, size - copied)
            if done == 0:
                break
            copied += done
        return
    except OSError:
        os.lseek(source, 0, os.SEEK_SET)
        os.ftruncate(target, 0)
        os.lseek(target, 0, os.SEEK_SET)
    while block := os.read(source, 1 << 20):
        while block:
            block = block[os.write(target, block):]


def _link_or_copy(source: str, target: str):
    """A hard link of ``source`` at ``target`` (checked by the caller to lie in its run folder;
    a file there is replaced), else a copy (another file system)."""
    temp = f"{target}.{os.getpid()}.{_thread.get_ident()}.incoming"
    try:
        try:
            os.link(source, temp)
        except OSError:
            import shutil
            with open(source, "rb") as reader, \
                    open(temp, "xb") as writer:  # never through a link left there
                shutil.copyfileobj(reader, writer)
        os.replace(temp, target)
    finally:
        if os.path.lexists(temp):
            os.remove(temp)


def _reserve_version(store: str, name: str) -> int:
    """The next version of artifact ``name`` in the archive, reserved by creating its file
    (O_EXCL: two runs never get the same number)."""
    folder = os.path.join(store, _STORE, "artifacts", name)
    os.makedirs(folder, exist_ok=True)
    taken = [number for entry in os.listdir(folder)
             if (number := _version_of(entry)) is not None]
    version = max(taken, default=0) + 1
    while True:
        try:
            os.close(os.open(os.path.join(folder, f"v{version}.json"),
                             os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return version
        except FileExistsError:
            version += 1


def artifact_path(spec: str, base: str = "results") -> str:
    """The stored file of artifact ``name``, ``name:latest`` or ``name:v3`` in the archive
    ``base``; a LookupError naming what is missing."""
    import json

    name, _, wanted = str(spec).partition(":")
    if not _valid_name(name):
        raise ValueError("an artifact is NAME, NAME:latest or NAME:v3 (a name of letters, "
                         f"digits, '.', '_', '-'), not {_shown(repr(spec))}")
    folder = os.path.join(base, _STORE, "artifacts", name)
    versions = sorted((number, entry) for entry in
                      (os.listdir(folder) if os.path.isdir(folder) else [])
                      if (number := _version_of(entry)) is not None)
    if wanted not in ("", "latest"):
        number = _version_of(f"v{wanted.lstrip('v')}.json")
        if number is None:
            raise ValueError(f"an artifact version is 'latest' or like 'v3', not {wanted!r}")
        versions = [item for item in versions if item[0] == number]
    if not versions:  # a name the registry lacks: what the run folders recorded
        return _from_runs(base, spec, name, None if wanted in ("", "latest") else number)
    for number, entry in reversed(versions):
        try:
            with open(os.path.join(folder, entry), encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError):  # reserved, still being stored
            continue
        digest = record.get("sha256") if isinstance(record, dict) else None
        if not _is_digest(digest):
            continue  # damaged
        blob = _blob_path(base, digest)
        if not os.path.isfile(blob):
            raise FileNotFoundError(f"{name}:v{number}: its stored file {blob} does not exist")
        return blob
    raise LookupError(f"no artifact {_shown(spec)} in {base}")


def _from_runs(base: str, spec: str, name: str, number) -> str:
    """The linked file of artifact ``name`` (version ``number``, else the highest; the newest
    save among equal versions) as the runs under ``base`` list it in their ``artifacts.json``
    (runs extracted from another archive bring these, not its registry)."""
    import json

    found = []
    for folder, subfolders, names in os.walk(base):
        subfolders[:] = [] if "experiment_meta.json" in names else [  # a run: not further
            entry for entry in subfolders if not entry.startswith(".")]
        if _MANIFEST not in names:
            continue
        try:
            with open(os.path.join(folder, _MANIFEST), encoding="utf-8") as handle:
                records = json.load(handle).get("artifacts", [])
        except (OSError, ValueError, AttributeError):
            continue
        for record in records if isinstance(records, list) else []:
            if not isinstance(record, dict) or record.get("name") != name:
                continue
            version, file = record.get("version"), record.get("file")
            if type(version) is not int or (number is not None and version != number):
                continue
            try:
                path = _inside_existing(folder, file)
            except ValueError:
                continue  # a manifest edited to point elsewhere
            if path:
                stamp = record.get("time")
                found.append((version, stamp if isinstance(stamp, (int, float)) else 0, path))
    if not found:
        raise LookupError(f"no artifact {_shown(spec)} in {base}")
    return max(found)[2]


def _inside_existing(folder: str, relative) -> str:
    """``folder/relative`` when it is a regular file reached through real folders only, else
    None; a ValueError for a path that would leave ``folder``."""
    if not isinstance(relative, str) or not relative or "\0" in relative \
            or relative.startswith("/") \
            or any(part in ("", ".", "..") for part in relative.split("/")):
        raise ValueError(relative)
    path = folder
    for part in relative.split("/"):
        path = os.path.join(path, part)
        if os.path.islink(path):
            return None
    return path if os.path.isfile(path) else None


class _Assets:
    """The asset methods of ``Run``: ``save_artifact``, ``snapshot_workspace``, blobs."""

    path = None
    _store = None  # the archive folder that holds .xrun/

    def _assets_init(self):
        self._jobs = None
        self._worker = None
        self._manifest = []
        self._assets_lock = _thread.allocate_lock()

    def _submit(self, job):
        """Runs ``job`` on the run's copying thread (started on first use)."""
        if self._worker is None:
            import atexit
            import queue
            import threading

            self._jobs = queue.Queue()
            self._worker = threading.Thread(target=self._work, name="xrun-assets", daemon=True)
            self._worker.start()
            # A run never finished (an experiment's, often) still gets its copies made.
            atexit.register(self._wait_for_assets)
        self._jobs.put(job)

    def _work(self):
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                job()
            except Exception as failure:  # noqa: BLE001 - reported, the run goes on
                import sys
                sys.stderr.write(f"{_prefix('error')} {failure}\n")
            finally:
                self._jobs.task_done()

    def _wait_for_assets(self):
        """Waits until every copy asked for is done (``finish`` calls it)."""
        if self._worker is not None:
            self._jobs.put(None)
            self._worker.join()
            self._worker = None

    def save_artifact(self, path, name: str = None, kind: str = None, metadata: dict = None):
        """Stores the file ``path`` as the next version of artifact ``name`` (its file name by
        default) and returns the version; the copy happens in the background."""
        source = os.fspath(path)
        if not os.path.isfile(source):
            raise FileNotFoundError(f"save_artifact: no file {_shown(source)}")
        name = name or os.path.basename(source)
        if not _valid_name(name):
            raise ValueError(f"an artifact name has letters, digits, '.', '_', '-', "
                             f"not {_shown(repr(name))}")
        if self.path is None:
            return None
        _inside(self.path, f"artifacts/{name}/v", "save_artifact")  # no link leads out
        # The version is the file as it is now: a copy made at once (by the kernel, a reflink
        # where the file system shares blocks), hashed and stored in the background. A training
        # loop that writes the next checkpoint over the file does not change this version.
        staged = _stage(self._store, source)
        version = _reserve_version(self._store, name)
        record = {"name": name, "version": version, "kind": kind,
                  "file": f"artifacts/{name}/v{version}/{os.path.basename(source)}",
                  "metadata": _plain_or_repr(metadata or {})}
        self._submit(lambda: self._store_artifact(staged, record))
        return version

    def _store_artifact(self, staged: str, record: dict):
        reserved = os.path.join(self._store, _STORE, "artifacts", record["name"],
                                f"v{record['version']}.json")
        try:
            target = _inside(self.path, record["file"], "save_artifact")
            digest = store_blob(self._store, staged)
            size = os.path.getsize(staged)
        except BaseException:
            os.remove(reserved)  # a version that was never stored is not left to resolve
            raise
        finally:
            os.remove(staged)
        _link_or_copy(_blob_path(self._store, digest), target)
        record.update(sha256=digest, size=size, time=round(time.time(), 3),
                      run=os.path.relpath(self.path, self._store), run_id=self.id)
        with self._assets_lock:
            self._manifest.append(record)
            _write_atomic(os.path.join(self.path, _MANIFEST),
                          _dumps({"artifacts": self._manifest}, indent=2) + "\n")
        _write_atomic(os.path.join(self._store, _STORE, "artifacts", record["name"],
                                   f"v{record['version']}.json"), _dumps(record, indent=2) + "\n")

    def store_blob(self, path) -> str:
        """Stores the file ``path`` in the archive's blobs (now) and returns its SHA-256."""
        source = os.fspath(path)
        if not os.path.isfile(source):
            raise FileNotFoundError(f"store_blob: no file {_shown(source)}")
        return None if self.path is None else store_blob(self._store, source)

    def get_blob_path(self, digest: str) -> str:
        """The path of the blob ``digest`` in the archive."""
        if not _is_digest(digest):
            raise ValueError(f"a blob id is 64 hex digits, not {_shown(repr(digest))}")
        return None if self.path is None else _blob_path(self._store, digest)

    def snapshot_workspace(self, include=("*.py",), exclude=(), root: str = ".") -> dict:
        """Stores the files under ``root`` matching ``include`` and no ``exclude`` pattern (on
        their path or any part of it) as blobs, each linked into the run as
        ``workspace/<path>``; ``workspace.json`` lists them. Returns it. The archive's own
        folders under ``root`` are left out."""
        include = _patterns("include", include) or ["*"]
        exclude = _patterns("exclude", exclude)
        if self.path is None:
            return {"files": []}
        skipped = {os.path.realpath(self._store), os.path.realpath(self.path)}
        files = []
        for folder, subfolders, names in os.walk(root):
            subfolders[:] = sorted(
                entry for entry in subfolders if not entry.startswith(".")
                and not _matches(entry, exclude)
                and os.path.realpath(os.path.join(folder, entry)) not in skipped)
            for entry in sorted(names):
                full = os.path.join(folder, entry)
                relative = os.path.relpath(full, root)
                if _matches(relative, include) and not _matches(relative, exclude) \
                        and os.path.isfile(full) and not os.path.islink(full):
                    files.append(self._snapshot_file(full, relative.replace(os.sep, "/")))
        manifest = {"root": os.path.abspath(root), "include": include, "exclude": exclude,
                    "time": round(time.time(), 3), "files": files}
        _write_atomic(os.path.join(self.path, _WORKSPACE), _dumps(manifest, indent=2) + "\n")
        return manifest

    def _snapshot_file(self, full: str, relative: str) -> dict:
        """One file of a snapshot: stored as a blob and linked at ``workspace/<relative>``."""
        file = f"{_WORKSPACE_FOLDER}/{relative}"
        target = _inside(self.path, file, "snapshot_workspace")
        digest = store_blob(self._store, full)
        _link_or_copy(_blob_path(self._store, digest), target)
        return {"path": relative, "sha256": digest, "size": os.path.getsize(target),
                "file": file}


def _patterns(what: str, patterns) -> list:
    """``patterns`` as a list of strings; a ValueError naming one that is not a relative
    pattern (absolute, with a '..' part or NUL: it could only name files outside ``root``)."""
    if isinstance(patterns, str):
        patterns = [patterns]
    checked = []
    for pattern in list(patterns or []):
        if not isinstance(pattern, str) or not pattern or "\0" in pattern \
                or pattern.startswith("/") or ".." in pattern.split("/"):
            raise ValueError(f"snapshot_workspace: an {what} pattern is relative like '*.py' "
                             f"or 'src/*', not {_shown(repr(pattern))}")
        checked.append(pattern)
    return checked


def _matches(relative: str, patterns) -> bool:
    """Whether a pattern matches the path or one of its parts (``__pycache__``, ``*.py``)."""
    import fnmatch

    parts = relative.split(os.sep)
    return any(fnmatch.fnmatch(relative, pattern) or any(fnmatch.fnmatch(part, pattern)
                                                         for part in parts)
               for pattern in patterns)
