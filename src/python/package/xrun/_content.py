"""What a ``Run`` of the tracking SDK records besides its series: text lines in the run's log,
a ``logging`` handler, images (``images/`` and ``images/index.jsonl``, PNG encoded here when
Pillow is absent), the primary metric and the summary (``experiment_summary.json``) and
logged parameters (``params.json``). ``_Content`` is a base of ``Run``: it works on
``self.path`` (None: a run that records nothing). Imports ``_common`` and ``_jsonio``.
"""

from __future__ import annotations

import math
import os
import struct
import _thread
import time

from ._common import _inside, _shown
from ._jsonio import _dumps, _jsonable, _plain_or_repr, _write_atomic

_LOG_FILE = "experiment_out.log"
_SUMMARY_FILE = "experiment_summary.json"
_PARAMS_FILE = "params.json"
_IMAGE_FOLDER = "images"
_IMAGE_INDEX = "index.jsonl"
_MODES = ("max", "min")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"


def _check_name(what: str, name) -> str:
    """``name`` as a relative name like ``train/loss``; a ValueError naming it otherwise."""
    if not isinstance(name, str) or not name or name.startswith("/") or "\0" in name \
            or any(part in ("", ".", "..") for part in name.split("/")):
        raise ValueError(f"{what} needs a name like 'train/loss', not {_shown(repr(name))}")
    return name


def _timestamp(now: float) -> str:
    """``2026-12-02T11:40:00.123Z``: the time prefix of the SDK's log lines (UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


# -- PNG without Pillow ------------------------------------------------------------------------
def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    import zlib

    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def _encode_png(pixels) -> bytes:
    """A PNG of a uint8 array of shape HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA)."""
    import zlib

    import numpy as np

    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = np.ascontiguousarray(pixels).reshape(height, width * channels)
    # Each scanline starts with its filter type: 0, none (zlib does the work).
    raw = np.hstack([np.zeros((height, 1), dtype=np.uint8), rows]).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (_PNG_MAGIC + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(raw, 6))
            + _png_chunk(b"IEND", b""))


def _pixels(array):
    """A numpy array as uint8 pixels of shape HxW, HxWx3 or HxWx4; a ValueError naming the
    shape or the values when it is no image."""
    import numpy as np

    shape = tuple(array.shape)
    if not (array.ndim == 2 or (array.ndim == 3 and shape[2] in (1, 3, 4))) or 0 in shape:
        raise ValueError(f"an image array has shape HxW, HxWx1, HxWx3 or HxWx4, not {shape}")
    if array.ndim == 3 and shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
        if not (0.0 <= low and high <= 1.0):
            raise ValueError(f"a float image has values in [0, 1], not [{low}, {high}]")
        return np.round(np.nan_to_num(array) * 255).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if not (0 <= low and high <= 255):
            raise ValueError(f"an integer image has values in [0, 255], not [{low}, {high}]")
        return array.astype(np.uint8)
    raise ValueError(f"an image array holds numbers, not {array.dtype}")


def _image_bytes(image, format: str, quality: int):
    """(encoded bytes, extension) of an image given as Pillow image, numpy array, bytes, path
    or matplotlib figure."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        if data.startswith(_PNG_MAGIC):
            return data, "png"
        if data.startswith(_JPEG_MAGIC):
            return data, "jpg"
        raise ValueError("image bytes are PNG or JPEG, and these begin with "
                         f"{data[:8]!r}")
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no image file {path}")
        with open(path, "rb") as handle:
            head = handle.read(8)
        kind = "png" if head.startswith(_PNG_MAGIC) else "jpg" if head.startswith(_JPEG_MAGIC) \
            else None
        if kind is None:
            raise ValueError(f"{path} is no PNG or JPEG file")
        with open(path, "rb") as handle:
            return handle.read(), kind
    import io

    pil_format = "JPEG" if format == "jpg" else "PNG"
    if hasattr(image, "savefig"):  # a matplotlib figure
        buffer = io.BytesIO()
        image.savefig(buffer, format="jpg" if format == "jpg" else "png")
        return buffer.getvalue(), format
    if hasattr(image, "save") and hasattr(image, "mode"):  # a Pillow image
        buffer = io.BytesIO()
        if pil_format == "JPEG" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, format=pil_format, **({"quality": quality} if format == "jpg" else {}))
        return buffer.getvalue(), format
    if hasattr(image, "shape") and hasattr(image, "dtype"):
        import numpy as np

        pixels = _pixels(np.asarray(image))
        if format == "png":
            return _encode_png(pixels), "png"
        try:
            from PIL import Image
        except ImportError:
            raise ValueError("format='jpg' needs Pillow to encode an array; "
                             "use format='png'") from None
        return _image_bytes(Image.fromarray(pixels), format, quality)
    raise TypeError("log_image takes a Pillow image, a numpy array, PNG or JPEG bytes, a path "
                    f"or a matplotlib figure, not {type(image).__name__}")


def _log_handler(run, level):
    """``run.get_logging_handler()``: records at or above ``level``, as the run's log lines.
    (``logging`` is imported only here: most runs never need it.)"""
    import logging

    class Handler(logging.Handler):
        def emit(self, record):
            try:
                run._write_log(record.levelname, self.format(record), record.created)
            except Exception:  # noqa: BLE001 - logging must not raise into the caller
                self.handleError(record)

    return Handler(level)


class _Content:
    """The content methods of ``Run`` (see the module's docstring)."""

    path = None
    _log_stream = None  # a callable taking lines; None: append them to the run's log file
    # The native module when it writes the run's series (and so keeps the summary and the
    # primary metric's best); None: this object does (see _observe_primary).
    _native = None

    def _content_init(self):
        self._content_lock = _thread.allocate_lock()
        self._image_counts = {}
        self._summary_state = None  # read from the run folder on first use
        self._params = None

    # -- text ---------------------------------------------------------------------------------
    def _write_log(self, level: str, message, now: float = None):
        """``<UTC time> <LEVEL> <message>``, one line per line of the message."""
        if self.path is None:
            return
        prefix = f"{_timestamp(time.time() if now is None else now)} {level} "
        text = "".join(prefix + line + "\n" for line in str(message).split("\n"))
        if self._log_stream is not None:
            self._log_stream(text)
            return
        # One write of whole lines in append mode: lines of two processes never interleave.
        fd = os.open(os.path.join(self.path, _LOG_FILE), os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                     0o666)
        try:
            os.write(fd, text.encode("utf-8", "replace"))
        finally:
            os.close(fd)

    def log_text(self, text: str) -> None:
        """A line (or lines) in the run's log: ``<time> TEXT <text>``."""
        self._write_log("TEXT", text)

    def info(self, message) -> None:
        """``<time> INFO <message>`` in the run's log."""
        self._write_log("INFO", message)

    def warn(self, message) -> None:
        """``<time> WARNING <message>`` in the run's log."""
        self._write_log("WARNING", message)

    warning = warn

    def get_logging_handler(self, level: int = 20):
        """A ``logging.Handler`` writing records at or above ``level`` (default
        ``logging.INFO``) to the run's log."""
        return _log_handler(self, level)

    # -- images -------------------------------------------------------------------------------
    def log_image(self, key: str, image, step: int = None, caption: str = None,
                  format: str = "png", quality: int = 90) -> str:
        """Stores ``image`` as ``images/<key>/<n>.<png|jpg>`` and a line of
        ``images/index.jsonl``; returns the file's path (None when nothing is recorded)."""
        _check_name("log_image", key)
        format = {"jpeg": "jpg"}.get(str(format).lower(), str(format).lower())
        if format not in ("png", "jpg"):
            raise ValueError(f"log_image: format is 'png' or 'jpg', not {format!r}")
        if step is not None and not isinstance(step, int):
            raise TypeError(f"log_image: step is an int, not {_shown(repr(step))}")
        data, extension = _image_bytes(image, format, int(quality))
        if self.path is None:
            return None
        with self._content_lock:
            folder = os.path.join(self.path, _IMAGE_FOLDER, key)
            if key not in self._image_counts:  # another Run over this folder may have some
                self._image_counts[key] = _next_number(folder)
            number = self._image_counts[key]
            self._image_counts[key] = number + 1
            relative = f"{_IMAGE_FOLDER}/{key}/{number:05d}.{extension}"
            target = _inside(self.path, relative, "log_image")  # no link leads out
            temp = f"{target}.tmp"
            with open(temp, "wb") as handle:
                handle.write(data)
            os.replace(temp, target)
            now = time.time()
            import json
            line = json.dumps({"key": key, "step": step, "caption": caption, "file": relative,
                               "time": round(now, 3)}, ensure_ascii=False) + "\n"
            with open(os.path.join(self.path, _IMAGE_FOLDER, _IMAGE_INDEX), "a",
                      encoding="utf-8") as index:
                index.write(line)
        return target

    # -- summary, primary metric, parameters -------------------------------------------------
    def _check_open(self, what: str):
        """RuntimeError for a run of its own that has finished: the native summary is the open
        run's, which may be the next one."""
        if getattr(self, "_finished", False) and getattr(self, "_session", None) is not None:
            raise RuntimeError(f"{what}(): the run {self.id} has finished")

    def set_primary_metric(self, name: str, mode: str = "max") -> None:
        """The metric whose best value (and its step) the run keeps in its summary file."""
        _check_name("set_primary_metric", name)
        if mode not in _MODES:
            raise ValueError(f"set_primary_metric: mode is 'max' or 'min', not {mode!r}")
        if self.path is None:
            return
        self._check_open("set_primary_metric")
        native = getattr(self._native, "set_primary", None)
        if native is not None:
            native(name, mode)
            return
        with self._content_lock:
            self._summary()["primary_metric"] = {"name": name, "mode": mode, "best": None,
                                                     "step": None, "time": None}
            self._write_summary()

    def summary(self, update: dict) -> None:
        """Merges ``update`` (a dict of JSON values) into the run's summary."""
        if not isinstance(update, dict):
            raise TypeError(f"summary takes a dict, not {type(update).__name__}")
        if self.path is not None:
            self._check_open("summary")
        native = getattr(self._native, "summary_update", None)
        if native is not None and self.path is not None:
            native(update)
            return
        plain = {}
        for key, value in update.items():  # all checked before any is merged, as natively
            plain[str(key)], ok = _jsonable(value)
            if not ok:
                raise TypeError(f"summary: the value of {key!r} is not JSON: "
                                f"{_shown(repr(value))}")
        if self.path is None:
            return
        with self._content_lock:
            self._summary()["summary"].update(plain)
            self._write_summary()

    def _observe_primary(self, name, value, step):
        """The Python writer's share of the primary metric: a new best is written at once."""
        primary = self._summary()["primary_metric"]
        if primary is None or primary["name"] != name or math.isnan(value):
            return
        best = primary["best"]
        if best is None or (value > best if primary["mode"] == "max" else value < best):
            primary.update(best=value, step=step, time=round(time.time(), 3))
            self._write_summary()

    def _summary(self) -> dict:
        """The summary file's content, as this or another Run over the folder left it."""
        if self._summary_state is None:
            state = _read_json(os.path.join(self.path, _SUMMARY_FILE))
            self._summary_state = {"summary": dict(state.get("summary") or {}),
                                   "primary_metric": state.get("primary_metric")}
        return self._summary_state

    def _write_summary(self):
        _write_atomic(os.path.join(self.path, _SUMMARY_FILE),
                      _dumps(self._summary_state, indent=2) + "\n")

    def log_params(self, params: dict) -> None:
        """Merges ``params`` into the run's ``params.json`` (``--where params.NAME``)."""
        if not isinstance(params, dict):
            raise TypeError(f"log_params takes a dict, not {type(params).__name__}")
        if self.path is None:
            return
        with self._content_lock:
            if self._params is None:
                self._params = _read_json(os.path.join(self.path, _PARAMS_FILE))
            self._params.update({str(key): _plain_or_repr(value)
                                 for key, value in params.items()})
            _write_atomic(os.path.join(self.path, _PARAMS_FILE),
                          _dumps(self._params, indent=2) + "\n")



def _read_json(path: str) -> dict:
    """The JSON object in the file ``path``; {} when there is none (or no object)."""
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _next_number(folder: str) -> int:
    """One more than the highest ``<n>.<ext>`` image number in ``folder`` (0 for none)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    numbers = [int(stem) for stem, _, _ in (name.partition(".") for name in names)
               if stem.isdigit()]
    return max(numbers, default=-1) + 1
