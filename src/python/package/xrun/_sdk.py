"""The tracking SDK: ``xrun.start()`` and its ``Run``. Inside ``xrun run`` of an experiment
that is running, a Run is a view of that run (same folder, same series); elsewhere it is a run
of its own, created by ``_standalone``. ``XRUN_DISABLED=1`` gives a Run that records nothing.
Imports ``_common``, ``_jsonio``, ``_standalone``, ``_experiment`` (inside ``xrun run``
only, on first use), ``_content`` and ``_assets``.
"""

from __future__ import annotations

import math
import os
import sys
import time

from ._assets import _Assets
from . import _standalone
from ._common import _native, _shown, _xrun
from ._content import _check_name, _Content

# Runicorn's statuses and xrun's own, as the status a run records.
_STATUSES = {None: "done", "finished": "done", "done": "done", "failed": "failed",
             "interrupted": "interrupted"}


def _number(name, value) -> float:
    """``value`` as a float, or a TypeError naming the metric and the value."""
    if isinstance(value, (bool, str, bytes)) or value is None:
        raise TypeError(f"metric {name!r} takes a number, not {_shown(repr(value))}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"metric {name!r} takes a number, not {_shown(repr(value))}") from None


def _running_experiment():
    """The experiment of this process while its run records (inside ``xrun run``), else None."""
    if _xrun is None:
        return None  # plain python3: an experiment hands its run to xrun, which runs it
    from ._experiment import _experiments

    if not _experiments:
        return None
    experiment = _experiments[-1]
    if experiment.path is None or "track" not in experiment.__dict__:
        return None
    return experiment


class Run(_Content, _Assets):
    """A run being recorded: series (``track``, ``log``), text, images, summary, primary
    metric, parameters and assets. Made by ``xrun.start()``."""

    def __init__(self, path, run_id, store=None, session=None, experiment=None,
                 capture_console=False):
        self.path, self.id = path, run_id
        self._store = store
        self._session, self._experiment = session, experiment
        self._finished = False
        self._content_init()
        self._assets_init()
        self._steps = {}
        self._last_log_step = -1
        if path is None:
            self.track = self.log = _nothing
        elif experiment is not None:
            # The native functions themselves: a call costs what a C call costs.
            self._native = _xrun
            self.track = experiment.__dict__["track"]
            self.log = _xrun.log
            # Through the supervisor, as the experiment's prints: one log, in order.
            self._log_stream = _print_line
        else:
            native = _native()  # the embedded module, else plain python3's extension, or None
            if native is not None and hasattr(native, "log"):
                self._native = native
                self.track, self.log = native.track, native.log
            else:
                self.track, self.log = self._track_python, self._log_python
            # Printed lines reach the log where the console is captured; else appended to it.
            watched_by = getattr(session, "watched_by", None)
            if watched_by == "supervisor" or (watched_by == "watcher" and capture_console):
                self._log_stream = _print_line

    def __repr__(self):
        return f"<xrun.Run {self.path or 'disabled'}>"

    # -- series without the native writer (plain python3) ------------------------------
    def _track_python(self, name, value):
        _check_name("track", name)
        step = self._steps.get(name, -1) + 1
        self._append(name, step, _number(name, value), "")

    def _log_python(self, data=None, step=None, stage=None, **metrics):
        points = [(name, _number(name, value)) for name, value in _metrics(data, metrics)]
        if step is None:
            step = self._last_log_step + 1
        self._last_log_step = step
        for name, number in points:
            _check_name("log", name)
            self._append(name, step, number, stage or "")

    def _append(self, name, step, number, stage):
        self._steps[name] = step
        if self.path is None:
            return
        target = os.path.join(self.path, ".track", name + ".csv")
        fresh = not os.path.exists(target)
        if fresh:
            os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "a", encoding="utf-8") as handle:
            if fresh:
                handle.write("step,value,time,stage\n")
            handle.write(f"{step},{number!r},{time.time():.3f},{stage}\n")
        self._observe_primary(name, number, step)

    # -- the end ---------------------------------------------------------------------------
    def finish(self, status: str = "finished", error: BaseException = None) -> None:
        """Waits for the background copies and ends the run with ``status`` ("finished" or
        "done", "failed", "interrupted"). Inside ``xrun run`` the experiment's run goes on:
        its end is the experiment's. A second call does nothing."""
        if status not in _STATUSES:
            raise ValueError("finish: status is 'finished', 'failed' or 'interrupted', "
                             f"not {_shown(repr(status))}")
        if self._finished:
            return
        self._finished = True
        self._wait_for_assets()
        if self._session is not None:
            if self._native is not None:
                # The native functions record into whichever run is open: a late call on this
                # finished run (another thread's) must not land in the next one.
                self.track, self.log = _finished_track, _finished_log
            self._session.finish(status=_STATUSES[status], error=error)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None or (issubclass(kind, SystemExit) and error.code in (0, None)):
            self.finish()
        elif issubclass(kind, KeyboardInterrupt):
            self.finish("interrupted", error)
        else:
            self.finish("failed", error)
        return False  # the exception goes on


def _print_line(text: str):
    """Log lines of a Run inside ``xrun run``: the experiment's output, which the supervisor
    writes to the log."""
    sys.stdout.write(text)
    sys.stdout.flush()


def _finished_track(*args, **kwargs):
    raise RuntimeError("track() records series only while a run records (this run is finished)")


def _finished_log(*args, **kwargs):
    raise RuntimeError("log() records series only while a run records (this run is finished)")


def _nothing(*args, **kwargs):
    """``track`` and ``log`` of a run that records nothing."""


def _metrics(data, metrics):
    """The (name, value) pairs of ``log(data, **metrics)``."""
    if data is not None and not isinstance(data, dict):
        raise TypeError(f"log takes a dict of metrics, not {type(data).__name__}")
    pairs = list(data.items()) if data else []
    return pairs + list(metrics.items())


def start(name: str = None, params: dict = None, base: str = None,
          capture_console: bool = True, capture_env: bool = True, tqdm_mode: str = "smart",
          system_metrics: float = 10.0) -> Run:
    """A run to record into: inside ``xrun run`` the experiment's current run, else a new run
    ``<base>/<name>/<run id>`` watched by the xrun binary. ``XRUN_DISABLED=1``: a run that
    records nothing (its ``path`` and ``id`` are None)."""
    if tqdm_mode not in ("smart", "all", "none"):
        raise ValueError(f"tqdm_mode is 'smart', 'all' or 'none', not {_shown(repr(tqdm_mode))}")
    if not isinstance(system_metrics, (int, float)) or isinstance(system_metrics, bool) \
            or not math.isfinite(system_metrics) or system_metrics < 0:
        raise ValueError("system_metrics is a number of seconds >= 0 (0 turns sampling off), "
                         f"not {_shown(repr(system_metrics))}")
    if os.environ.get("XRUN_DISABLED", "") not in ("", "0"):
        return Run(None, None)
    experiment = _running_experiment()
    if experiment is not None:
        run = Run(experiment.path, os.path.basename(experiment.path),
                  store=_archive_of(experiment.base_path, experiment.namespace),
                  experiment=experiment)
        if params:
            run.log_params(params)
        return run
    # Plain python (or a script run by `xrun run` without an experiment): a run of its own.
    base = "results" if base is None else base
    session = _standalone.begin(name, params, base, capture_console, capture_env, tqdm_mode,
                               system_metrics)
    # The session records `params` as the run's parameters (in the meta).
    return Run(session.path, session.id, store=os.path.abspath(base), session=session,
               capture_console=capture_console)


def _archive_of(base_path: str, namespace: str) -> str:
    """The archive folder of an experiment's runs: the first folder of its namespace (``results``
    of ``results/exp``), where ``xrun archive`` looks by default."""
    first = namespace.strip("/").split("/")[0] if namespace.strip("/") else ""
    return os.path.join(base_path, first)
