"""What every module of the package shares: the native ``_xrun`` module (None under plain
python3, even where its extension build is importable: ``_native()`` gives that one), the xrun
binary's path, the errors that end a run before it starts, and the wording of messages (the
``xrun: error:`` prefix, shortened values, did-you-mean hints, a raised error's own frames).
Imports only the standard library and ``_xrun``: every other module of the package may import
it.
"""

from __future__ import annotations

import os
import sys

# Inside xrun's embedded interpreter only (built in: there is an invocation and a supervisor).
# Under plain python3 it is None, even where the extension build is importable: run_if_main()
# hands over to the xrun command, and only ``xrun.start()`` uses the extension (_native()).
if "_xrun" in sys.builtin_module_names:
    import _xrun
else:
    _xrun = None

__version__ = getattr(_xrun, "__version__", "0.1.0")
_extension = []  # the extension build, once asked for: [module or None]


def _native():
    """The native module in either build: the embedded one, else the extension module for plain
    python3 (imported on first use: loading it costs a few milliseconds), else None."""
    if _xrun is not None:
        return _xrun
    if not _extension:
        try:
            import _xrun as extension
        except ImportError:
            extension = None
        _extension.append(extension)
    return _extension[0]

def _binary() -> str:
    """The xrun binary (the watcher, the archive queries): named by xrun_binary.txt beside the
    package (written by the export and by the install), or "" when there is none."""
    try:
        with open(os.path.join(os.path.dirname(__file__), "xrun_binary.txt")) as file:
            path = file.read().strip()
    except OSError:
        return ""
    return path if os.access(path, os.X_OK) else ""


_DATA_FILE = "experiment_data.json"  # the data of a run, in its folder
_SHOWN = 200  # characters of a value an error message echoes
# The folder of the package's own modules: their frames are not the experiment's.
_PACKAGE_FOLDER = os.path.dirname(__file__)


class UsageError(Exception):
    """A wrong command line or experiment definition: reported without a traceback, exit 2."""


def _prefix(kind: str) -> str:
    """``xrun: error:`` or ``xrun: warning:``, in color as the C++ side prints it when stderr
    is a terminal (https://no-color.org: a non-empty NO_COLOR turns it off). Inside
    ``xrun run`` stderr is a pipe to the supervisor, which colors the prefix on the terminal
    and keeps the log plain."""
    text = f"xrun: {kind}:"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb" or not os.isatty(2):
        return text
    return f"\033[1;{31 if kind == 'error' else 33}m{text}\033[0m"


def _shown(text: str) -> str:
    """``text`` as an error message echoes it: whole up to _SHOWN characters, else cut with an
    ellipsis and its length (as util::shorten does on the C++ side)."""
    text = str(text)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}… ({len(text)} characters)"


def _inside(base: str, relative: str, what: str) -> str:
    """The path of ``relative`` (parts joined by '/') in the folder ``base``, its folders made
    as real folders: a ValueError naming ``relative`` when it is empty, absolute, holds NUL or a
    '.'/'..' part, or when a part already there is a link or a file (a write through it could
    land outside ``base``)."""
    if not isinstance(relative, str) or not relative or "\0" in relative \
            or relative.startswith("/") \
            or any(part in ("", ".", "..") for part in relative.split("/")):
        raise ValueError(f"{what}: {_shown(repr(relative))} is not a relative path inside "
                         "the run folder")
    parts = relative.split("/")
    folder = base
    for part in parts[:-1]:
        folder = os.path.join(folder, part)
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass
        if os.path.islink(folder) or not os.path.isdir(folder):
            raise ValueError(f"{what}: {folder} is a link or a file, not a folder; "
                             f"{_shown(repr(relative))} is not written through it")
    target = os.path.join(folder, parts[-1])
    if os.path.islink(target):
        raise ValueError(f"{what}: {target} is a link; it is not written through")
    return target


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: "an int", "a list[int]"."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


class _NotRecorded(Exception):
    """The supervisor could not record the run's start (and says why): the run does not start."""


def _did_you_mean(name: str, known, prefix: str = "") -> str:
    """``; did you mean --LR?`` for a likely typo of one of ``known``, else "": the candidate
    xrun's did-you-mean hints choose everywhere (util::closest_match, through ``_xrun``)."""
    known = [str(candidate) for candidate in known]
    if _xrun is not None:
        close = _xrun.closest_match(name, known)
    else:  # plain python3 (no run is made there): a difference of case only
        close = next((candidate for candidate in known if candidate.lower() == name.lower()),
                     None)
    return f"; did you mean {prefix}{close}?" if close else ""


def _flush_output():
    """Flushes sys.stdout and sys.stderr, whatever the experiment or a plugin made of them."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - closed, None, or not a file any more
            pass


def _own_frame(filename: str) -> bool:
    """Whether a traceback frame ran in xrun's own code (a module of this package, or
    Python's frozen import machinery) rather than the experiment's."""
    return os.path.dirname(filename) == _PACKAGE_FOLDER or filename.startswith("<frozen ")


def _user_frames(error: BaseException) -> list:
    """The frames of ``error``'s traceback outside xrun's own code."""
    import traceback

    return [frame for frame in traceback.extract_tb(error.__traceback__)
            if not _own_frame(frame.filename)]


def _error_text(error: BaseException) -> str:
    """``Type: message`` on one line, whatever the exception makes of its message."""
    try:
        message = str(error)
    except Exception:  # noqa: BLE001 - an exception that cannot say what it is
        message = "(its message cannot be shown)"
    return f"{type(error).__name__}: {_shown(message)}" if message else type(error).__name__

