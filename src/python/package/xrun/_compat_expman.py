"""``xrun.compat.expman``: expman's ``Experiment`` (a context manager with ``log_params``,
``log_metrics``, ``log_vector``, ``log_scalar``, ``info``, ``warn``, ``save_artifact``,
``run_dir``, ``close``) as a thin map onto ``xrun.start()``. Imports ``_sdk``.
"""

from __future__ import annotations

from ._sdk import start


class Experiment:
    """An experiment run ``<base_dir>/<name>/<run id>`` (``run_name`` is not used: xrun names
    runs itself). A run not closed ends with the process, as every ``xrun.start()`` run does:
    ``done``, or ``failed`` / ``interrupted`` / ``killed`` as the process ended."""

    def __init__(self, name: str, run_name: str = None, base_dir: str = "./experiments"):
        self._run = start(name, base=base_dir)
        self.run_dir = self._run.path

    def log_params(self, params: dict):
        self._run.log_params(params)

    def log_metrics(self, metrics: dict, step: int = None):
        self._run.log(metrics, step=step)

    log_vector = log_metrics

    def log_scalar(self, name: str, value, step: int = None):
        self._run.log({name: value}, step=step)

    def info(self, message):
        self._run.info(message)

    def warn(self, message):
        self._run.warn(message)

    def save_artifact(self, path, name: str = None):
        return self._run.save_artifact(path, name=name)

    def close(self, status: str = "finished"):
        self._run.finish(status)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        return self._run.__exit__(kind, error, traceback)
