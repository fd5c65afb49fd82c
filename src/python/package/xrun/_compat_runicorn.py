"""``xrun.compat.runicorn``: Runicorn's SDK (``rn.init``, the run's methods, ``rn.Artifact``,
``rn.snapshot_workspace``) as a thin map onto ``xrun.start()`` and ``Run``. Imports ``_sdk``
and ``_assets``.
"""

from __future__ import annotations

import os

from ._assets import artifact_path
from ._sdk import Run, start

_runs = {}  # run id -> Run, for snapshot_workspace(run_id=...)


class _RunicornRun(Run):
    """A ``Run`` with Runicorn's few extra names (``log_artifact``)."""

    def log_artifact(self, artifact: "Artifact") -> int:
        """Stores the artifact's files as its next version; returns the version."""
        if not artifact.files:
            raise ValueError(f"artifact {artifact.name!r} has no file (add_file first)")
        version = None
        for file in artifact.files:
            version = self.save_artifact(file, name=artifact.name, kind=artifact.type,
                                         metadata=artifact.metadata)
        return version


def init(project: str = "default", name: str = None, storage: str = None, run_id: str = None,
         capture_env: bool = True, capture_console: bool = False,
         tqdm_mode: str = "smart") -> Run:
    """A run ``<storage>/<project>/<name>/<run id>`` (storage: ``./results``). ``run_id`` is
    not used: xrun names runs itself. As Runicorn's, it replaces the run an earlier ``init``
    left open, which ends ``done``."""
    for earlier in list(_runs.values()):
        earlier.finish()
    _runs.clear()
    run = start(f"{project}/{name or 'default'}", base=storage, capture_console=capture_console,
                capture_env=capture_env, tqdm_mode=tqdm_mode)
    run.__class__ = _RunicornRun
    if run.id is not None:
        _runs[run.id] = run
    return run


class Artifact:
    """A named, typed set of files with metadata, stored by ``run.log_artifact``."""

    def __init__(self, name: str, type: str = "model", description: str = None):
        self.name, self.type, self.description = name, type, description
        self.files, self.metadata = [], {}

    def add_file(self, path, name: str = None):
        if not os.path.isfile(os.fspath(path)):
            raise FileNotFoundError(f"Artifact.add_file: no file {os.fspath(path)}")
        self.files.append(os.fspath(path))

    def add_metadata(self, metadata: dict):
        self.metadata.update(metadata)


def snapshot_workspace(run_id: str = None, include_patterns=("*.py",), exclude_patterns=(),
                       root: str = "."):
    """The workspace's matching files as blobs of ``run_id``'s archive (see Run)."""
    run = _runs.get(run_id) if run_id else (list(_runs.values())[-1] if _runs else None)
    if run is None:
        raise LookupError(f"snapshot_workspace: no run {run_id!r} in this process")
    return run.snapshot_workspace(include=include_patterns, exclude=exclude_patterns, root=root)


def get_artifact_path(spec: str, storage: str = "results") -> str:
    """The stored file of ``name:latest`` / ``name:v3``."""
    return artifact_path(spec, storage)
