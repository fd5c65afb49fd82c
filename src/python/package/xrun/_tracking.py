"""Tracked series of a run started by ``xrun.start()``: ``begin(path)`` once its folder exists
starts the native writer of ``.track/<name>.csv``; ``track(name, value)`` appends a value;
``end()`` writes what is queued and returns the names of the series. Imports ``_common`` only.
"""

from __future__ import annotations

import os

from ._common import _native

_TRACK_FOLDER = ".track"
_state = {"path": None, "series": set(), "tracked": []}


def begin(path: str):
    """Starts tracking into the run folder ``path``."""
    _state.update(path=path, series=set(), tracked=[])
    _native().track_start(_register)


def track(name: str, value):
    """Appends the number ``value`` to the series ``name`` of the run begun."""
    if _state["path"] is None:
        raise RuntimeError("track() is only available while a run is open")
    _native().track(name, value)


def end() -> list:
    """Writes every queued value, closes the series; returns their names."""
    if _state["path"] is not None:
        _native().track_stop()
        _state["path"] = None
    return list(_state["tracked"])


def _register(name, value):
    """The native ``track``'s slow path: a new series, or a value that is not a float."""
    if not isinstance(name, str) or not name or name.startswith("/") \
            or ".." in name.split("/"):
        raise ValueError(f"a tracked series needs a name like 'train/loss', not {name!r}")
    try:
        number = float(value) if not isinstance(value, (bool, str, bytes)) else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise TypeError(f"track('{name}', ...) takes numbers, not {type(value).__name__}")
    if name not in _state["series"]:
        target = os.path.join(_state["path"], _TRACK_FOLDER, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        _native().track_register(name, target + ".csv")
        _state["series"].add(name)
        _state["tracked"].append(name)
    _native().track(name, number)
