"""Values for JSON files: numpy scalars and arrays become numbers and lists, anything else JSON
has no form for its repr(), so that a file xrun writes is always complete and valid; and the
atomic write of such a file. Imports ``_common`` only.
"""

from __future__ import annotations

import math
import os

from ._common import _xrun


def _lossy(value) -> bool:
    """Whether JSON loses something of the value: infinities and NaN, integers beyond 64 bits."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return not -2**63 <= value < 2**64
    if isinstance(value, dict):
        return any(_lossy(item) for item in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_lossy(item) for item in value)
    return False




def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars
        return _plain(value.tolist())
    if hasattr(value, "item") and callable(value.item):
        return _plain(value.item())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(type(value).__name__)


def _jsonable(value):
    """(JSON value, True), or (repr text, False) for values JSON cannot hold."""
    try:
        return _plain(value), True
    except (TypeError, ValueError, RecursionError):
        return repr(value), False


def _plain_or_repr(value):
    """For values JSON has no form for: numpy scalars and arrays as numbers and lists, others
    as their repr(), so that a data file is always complete and valid."""
    plain, _ = _jsonable(value)
    return plain


def _dumps(value, indent=None) -> str:
    if _xrun is not None:
        return _xrun.dumps(value, _plain_or_repr, -1 if indent is None else indent)
    import json
    return json.dumps(_plain_or_repr(value), indent=indent, ensure_ascii=False)


def _write_atomic(path: str, text: str):
    if _xrun is not None:
        _xrun.write_atomic(str(path), text)
        return
    folder, name = os.path.split(path)
    temp = os.path.join(folder, f".{name}.tmp.{os.getpid()}")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)

