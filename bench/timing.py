"""The timing the bench scripts share."""

import contextlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def median_seconds(command, cwd, rounds=3, check=True):
    """The median wall time of running `command` in `cwd`, its output thrown away."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=check, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextlib.contextmanager
def scratch_folder():
    """A fresh folder for one bench, removed afterwards whatever happens."""
    work = Path(tempfile.mkdtemp(prefix="xrun-bench-"))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def plain_python_env(xrun: str, work: Path) -> dict:
    """The environment of a plain python3 that imports xrun as users run it: the package
    exported by `xrun` into a cache in `work`, on PYTHONPATH, its bytecode kept."""
    env = dict(os.environ, XDG_CACHE_HOME=str(work / "cache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = subprocess.run([xrun, "python-path"], env=env, capture_output=True,
                                       text=True, check=True).stdout.strip()
    return env
