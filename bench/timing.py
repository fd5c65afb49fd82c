"""The timing the bench scripts share."""

import contextlib
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
