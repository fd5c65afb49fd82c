"""A minimal ``xrun.start()`` for the runs of scripts without an Experiment (the fuller ``Run``
object, with its content methods, replaces this one): ``start(...)`` returns a run with
``path``, ``id``, ``track``, ``finish`` and the ``with`` protocol. Imports ``_standalone`` and
``_tracking``.
"""

from __future__ import annotations

from . import _standalone, _tracking


class MinimalRun:
    """A run started by ``xrun.start()``: ``with`` it, or call ``finish()``."""

    def __init__(self, session):
        self._session = session
        self.path = session.path
        self.id = session.id

    def track(self, name: str, value):
        """Appends ``value`` to the series ``name`` (``.track/<name>.csv``)."""
        _tracking.track(name, value)

    def finish(self, status: str | None = None):
        """Ends the run: ``status`` "done", "failed" or "interrupted" (None: done)."""
        self._session.finish(status=status)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        self._session.finish(error=error)
        return False  # an exception still propagates


def start(name: str, params: dict | None = None, base: str = "results",
          capture_console: bool = True, capture_env: bool = True, tqdm_mode: str = "smart",
          system_metrics: float = 10.0) -> MinimalRun:
    """Starts a run in ``<base>/<name>/<id>``; see _standalone.begin."""
    return MinimalRun(_standalone.begin(name, params, base, capture_console, capture_env,
                                        tqdm_mode, system_metrics))
