"""The timing the bench scripts share."""

import statistics
import subprocess
import time


def median_seconds(command, cwd, rounds=3, check=True):
    """The median wall time of running `command` in `cwd`, its output thrown away."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=check, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
