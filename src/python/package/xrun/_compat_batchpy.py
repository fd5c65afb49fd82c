"""``xrun.compat.batchpy``: batchpy's ``Run``, ``ResultRun`` and ``Batch`` as a thin map onto
``xrun.Batch``: a ``Run`` subclass's ``run(self, **parameters)`` is the function of its rows,
each run an xrun run folder in ``_res/<batch name>/`` found again by batchpy's id (a 40-digit
hash of the parameters). Imports ``_common``, ``_results``, ``_function`` and ``_batch``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time

from ._batch import Batch as _XrunBatch, BatchRun, _save_ids
from ._common import UsageError, _shown
from ._function import function_of
from ._results import RunView


def _canonical(value) -> str:
    """A text of ``value`` that is the same in every process: JSON where it can be, a
    function by its module and name, anything else by its repr."""
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        pass
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_canonical(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_canonical(key)}:{_canonical(value[key])}"
                              for key in sorted(value, key=repr)) + "}"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', None) or 'builtins'}.{value.__qualname__}"
    if hasattr(value, "tolist"):  # a numpy array or scalar
        return _canonical(value.tolist())
    return repr(value)


class Run(BatchRun):
    """A batchpy run: a subclass defines ``run(self, **parameters)`` returning a dict of
    results. ``parameters``, ``id``, ``index``, ``done``, ``result``, ``runtime`` and
    ``filename`` (the run folder) as batchpy has them; ``generate_id`` may be overridden."""

    def run(self, **parameters):
        raise NotImplementedError(f"{type(self).__name__} defines no run(self, **parameters)")

    def generate_id(self, parameters: dict) -> str:
        """The run's id: a 40-digit hash of its parameters (names and values)."""
        text = "&".join(f"{name}={_canonical(parameters[name])}" for name in sorted(parameters))
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def _make_key(self) -> str:
        return self.generate_id(self.parameters)

    @property
    def id(self) -> str:
        return self.key

    # With saveresult=False a row's results stay in memory.
    @property
    def done(self) -> bool:
        return "_memory" in self.__dict__ or super().done

    @property
    def result(self):
        return self.__dict__["_memory"] if "_memory" in self.__dict__ else super().result

    @property
    def runtime(self):
        if "_memory_runtime" in self.__dict__:
            return self.__dict__["_memory_runtime"]
        return super().runtime

    @property
    def filename(self):
        """The run folder that holds the results (None before the run is done)."""
        return self.path if self.done else None

    @classmethod
    def __xrun_function__(cls):
        """The class as an xrun function: called with the parameters, it makes an instance
        that has them and returns what its ``run`` returns. Named as the class, in its module,
        so ``xrun run FILE.py:CLASS`` and the cache key see the class's code."""
        if "_xrun_function" not in cls.__dict__:
            signature = inspect.signature(cls.run)
            without_self = signature.replace(parameters=list(signature.parameters.values())[1:])

            def call(**parameters):
                instance = cls.__new__(cls)
                instance.batch, instance.index, instance.path = None, None, None
                instance.parameters = {**_own_defaults(without_self), **parameters}
                instance.given = dict(parameters)
                return instance.run(**instance.parameters)

            call.__name__, call.__qualname__ = cls.__name__, cls.__qualname__
            call.__module__, call.__doc__ = cls.__module__, cls.__doc__
            call.__signature__ = without_self
            cls._xrun_function = function_of(call)
        return cls._xrun_function


def _own_defaults(signature) -> dict:
    return {name: parameter.default for name, parameter in signature.parameters.items()
            if parameter.default is not inspect.Parameter.empty}


class ResultRun(Run):
    """A run known by its id only (``Batch.add_resultrun``): its parameters and results read
    from its run folder, its class not needed."""

    def __init__(self, batch, index: int, key: str, path: str):
        self.batch, self.index, self.function = batch, index, None
        self.key, self.path, self.failure = key, path, ""
        self.parameters = RunView(path).parameters
        self.given = dict(self.parameters)

    def run(self, **parameters):
        raise UsageError(f"result run {self.key} has only its results: its code is not here")


class Batch(_XrunBatch):
    """batchpy's Batch: rows of ``Run`` subclasses, recorded in ``_res/<name>/`` (one xrun
    run folder a row, found again by the row's id); ``saveresult=False`` computes in this
    process and records nothing."""

    def __init__(self, name: str, saveresult: bool = True):
        super().__init__(name, base="_res")
        self.saveresult = saveresult

    def _row(self, func, index, function, params):
        if not (isinstance(func, type) and issubclass(func, Run)):
            raise UsageError(f"batch {self.name}: runs are made of a batchpy.Run subclass, "
                             f"not {_shown(repr(func))}")
        row = func.__new__(func)
        BatchRun.__init__(row, self, index, function, params)
        return row

    def add_resultrun(self, ids) -> list:
        """A ResultRun for each id (one or a list, as ``save_ids`` wrote them), read from the
        done runs of the batch's folder. Raises UsageError for an id with no done run."""
        ids = [ids] if isinstance(ids, str) else [str(item) for item in ids]
        done = self._look()
        missing = [key for key in ids if key not in done]
        if missing:
            raise UsageError(f"batch {self.name}: no done run with id {_shown(missing[0])} in "
                             f"{self.namespace_folder}"
                             + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        rows = [ResultRun(self, len(self.run) + offset, key, done[key])
                for offset, key in enumerate(ids)]
        self.run.extend(rows)
        return rows

    def save_ids(self) -> str:
        """Writes the rows' ids to ``_res/<name>_ids.npy`` (when numpy imports) and
        ``_res/<name>_ids.json``; returns the JSON file's path."""
        return _save_ids(self.base, self.name, [row.id for row in self.run])

    def __call__(self, jobs: int = 1) -> list:
        if self.saveresult:
            return super().__call__(jobs)
        for row in self.run:
            if "_memory" not in row.__dict__ and not row.done:
                started = time.monotonic()
                row._memory = row.run(**row.parameters)
                row._memory_runtime = time.monotonic() - started
        return []

