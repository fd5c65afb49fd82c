"""A run recorded by Python alone, for plain python3 without the xrun binary or the ``_xrun``
extension: the run folder with the files ``xrun run`` writes at the start (meta, code, log),
a thread renewing the heartbeat every 5 s, and the final status at the end. No pid is
recorded (the process is no xrun supervisor): a killed run shows as ``lost`` once its heartbeat
is 60 s old. Imports ``_common`` only.
"""

from __future__ import annotations

import os
import sys
import time

from ._common import __version__

_HEARTBEAT_SECONDS = 5
_EXIT_CODES = {"done": 0, "failed": 1, "interrupted": 130}


def start_unwatched(name: str, base: str, records: list, file: str, command: list,
                    description: str, extra: dict = None) -> "HeartbeatRun":
    """Creates the run folder ``<base>/<name>/<id>`` whole (made hidden, then renamed), of the
    script ``file`` ("" for none) started by ``command``, and starts its heartbeat."""
    import random
    import socket
    import string
    namespace = os.path.join(os.path.abspath(base), name)
    os.makedirs(namespace, exist_ok=True)
    now = time.time()
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(now))
    run_id = f"{stamp}-{int(now * 1000) % 1000:03d}_" + \
        "".join(random.choices(string.ascii_lowercase, k=4))
    hidden = os.path.join(namespace, f".{run_id}.starting")
    os.mkdir(hidden, 0o777)
    code = ""
    if file:
        with open(file, encoding="utf-8", errors="replace") as source:
            code = source.read()
    meta = {"format": 1, "id": run_id, "name": name, "namespace": name,
            "base_path": os.path.abspath(base), "experiment_path": file, "config_path": "",
            "description": description, "short_description": description.split("\n\n")[0],
            "status": "running", "start_time": now, "end_time": None, "duration": 0,
            "heartbeat": now, "exit_code": None, "signal": None, "error_type": "",
            "error_message": "", "host": socket.gethostname(), "pid": 0,
            "xrun_version": __version__, "python_version": sys.version.split()[0],
            "python_executable": sys.executable, "command_line": command,
            "working_directory": os.getcwd(),
            "parameters": {record["name"]: record for record in records},
            "hooks": {}, "tracked": [], "dependencies": [],
            "watched": {"pid": os.getpid(), "traced": False,
                        "untraced_reason": "recorded by Python alone (no watcher)"},
            **(extra or {})}
    _write(os.path.join(hidden, "experiment_meta.json"), meta)
    with open(os.path.join(hidden, "experiment_code.py"), "w", encoding="utf-8") as out:
        out.write(code)
    open(os.path.join(hidden, "experiment_out.log"), "w").close()
    path = os.path.join(namespace, run_id)
    os.rename(hidden, path)
    return HeartbeatRun(path, now, meta)


def _write(path: str, meta: dict):
    """Replaces the meta atomically (a temp file, renamed over it)."""
    import json

    temp = f"{path}.{os.getpid()}.tmp"
    with open(temp, "w", encoding="utf-8") as out:
        json.dump(meta, out, indent=2)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)


class HeartbeatRun:
    """A run whose meta this process writes: the heartbeat, then the end."""

    def __init__(self, path, start_time, meta):
        self.path = path
        self.start_time = start_time
        self._meta = meta
        import threading

        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="xrun-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self):
        while not self._stop.wait(_HEARTBEAT_SECONDS):
            with self._lock:
                if self._meta["status"] != "running":
                    return
                self._meta["heartbeat"] = time.time()
                try:
                    _write(os.path.join(self.path, "experiment_meta.json"), self._meta)
                except OSError:
                    pass  # tried again in 5 s

    def end(self, status: str, outcome: dict, tracked: list, end_time: float):
        """Writes the final status (``outcome``: the fields of a "finish" report)."""
        self._stop.set()
        with self._lock:
            self._meta.update(status=status, end_time=end_time, heartbeat=end_time,
                              duration=end_time - self.start_time,
                              exit_code=_EXIT_CODES[status],
                              error_type=outcome["error_type"],
                              error_message=outcome["error_message"], tracked=tracked)
            _write(os.path.join(self.path, "experiment_meta.json"), self._meta)
