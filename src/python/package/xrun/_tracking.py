"""The tracked series of a run folder, for an experiment run by ``xrun run`` and for a run
started by ``xrun.start()``: ``SeriesFiles`` makes each series' ``.track/<name>.csv`` (and a
figure's ``.track/<name>_NNN.png``) for the native writer, which calls it for what its fast
path does not take (a new name, a value that is not a plain number, a figure); ``begin(path)``
and ``end()`` track into the folder of a started run. Imports ``_common`` only.
"""

from __future__ import annotations

import os

from ._common import _native, _shown

_TRACK_FOLDER = ".track"


def check_series_name(name):
    """ValueError unless ``name`` is a series name: relative, without ``..``, not a folder."""
    if not isinstance(name, str) or not name or name.startswith("/") \
            or ".." in name.split("/") or name.endswith("/"):
        raise ValueError(f"a tracked series needs a name like 'train/loss', not {name!r}")


class SeriesFiles:
    """The series of the run folder ``path``, in the order they were made (``tracked``, a
    list the owner may share: an experiment keeps its own)."""

    def __init__(self, path: str, tracked: list = None):
        self.path = path
        self.tracked = [] if tracked is None else tracked
        self._series = set()
        self._figure_steps = {}
        self.closed = False  # the run ended: a late call of another thread makes no series

    def start(self):
        """Hands the series to the native writer (``track``, ``log``, the summary)."""
        _native().track_start(self.fallback, self.register, self.path)

    def fallback(self, name, value):
        """What the native ``track`` hands over: new series, figures, non-float numbers."""
        check_series_name(name)
        if hasattr(value, "savefig"):
            target = os.path.join(self.path, _TRACK_FOLDER, name)
            step = self._figure_steps.get(name, 0)
            self._figure_steps[name] = step + 1
            os.makedirs(os.path.dirname(target), exist_ok=True)
            value.savefig(f"{target}_{step:03d}.png")
            if name not in self.tracked:
                self.tracked.append(name)
            return
        try:  # numpy scalars, Decimal, ...; NaN and infinities are values too
            number = float(value) if not isinstance(value, (bool, str, bytes)) else None
        except (TypeError, ValueError):
            number = None
        if number is None:
            raise TypeError(f"track('{name}', ...) takes numbers or figures, not "
                            f"{_shown(repr(value))} ({type(value).__name__})")
        self.register(name)
        _native().track(name, number)

    def register(self, name):
        """Makes the series ``name`` (its ``.track/`` file) unless it exists: for ``track``'s
        slow path and for the native ``log`` meeting a new name."""
        if name in self._series:
            return
        if self.closed:
            raise RuntimeError("track() records series only while a run records")
        check_series_name(name)
        target = os.path.join(self.path, _TRACK_FOLDER, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        _native().track_register(name, target + ".csv")
        self._series.add(name)
        if name not in self.tracked:
            self.tracked.append(name)


_current = {"files": None}


def begin(path: str):
    """Starts tracking into the run folder ``path`` of a started run."""
    files = _current["files"] = SeriesFiles(path)
    files.start()


def track(name: str, value):
    """Appends the number ``value`` to the series ``name`` of the run begun."""
    if _current["files"] is None:
        raise RuntimeError("track() is only available while a run is open")
    _native().track(name, value)


def forget_in_child():
    """In a forked process: the parent's run is not tracked here (the native side refuses its
    series until a run of this process starts)."""
    _current["files"] = None


def end() -> tuple:
    """Writes every queued value, closes the series; returns their names, and why values were
    lost (a full disk) or None."""
    files, _current["files"] = _current["files"], None
    if files is None:
        return [], None
    files.closed = True
    lost = _native().track_stop()
    return list(files.tracked), lost
