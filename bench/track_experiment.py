"""Per-call cost of the tracking hot path against its floor, measured in one process: e.track
against math.copysign(x, 1.0), _xrun.log of a two-metric dict against len() of the same dict,
e[key] = value against a PyComex-shaped __setitem__.

Run by bench/track.py through `xrun run`; prints its figures and stores them in the run's data.
"""

import math
import os
import statistics
import time

import _xrun
from xrun import Experiment, folder_path

# :param CALLS:
#     Calls per measured loop.
CALLS: int = 1_000_000
# :param ROUNDS:
#     Each loop is measured this many times, the loops taking turns; the median counts.
ROUNDS: int = 7


class PyComexData:
    """The shape of PyComex's Experiment.__setitem__ (pycomex/functional/experiment.py): a
    type check, a split on '/', nested dicts created on the way, no saving."""

    def __init__(self):
        self.data = {}

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise ValueError("experiment data keys must be strings")
        keys = key.split("/")
        current = self.data
        for part in keys[:-1]:
            if part not in current:
                current[part] = {}
            current = current[part]
        current[keys[-1]] = value


def loops(e, n):
    values = [i * 0.001 for i in range(n)]
    steps = range(n)
    copysign = math.copysign
    track = e.track
    log = _xrun.log
    comex = PyComexData()

    def floor_call():
        for x in values:
            copysign(x, 1.0)

    def tracks():
        for x in values:
            track("loss", x)

    def floor_dict():
        for i, x in zip(steps, values):
            len({"loss": x, "acc": x})

    def logs():
        for i, x in zip(steps, values):
            log({"loss": x, "acc": x}, step=i)

    def comex_stores():
        for x in values[: n // 10]:
            comex["metrics/loss"] = x

    def stores():
        for x in values[: n // 10]:
            e["metrics/loss"] = x

    return {"copysign": (floor_call, n), "track": (tracks, n), "len_dict": (floor_dict, n),
            "log": (logs, n), "pycomex_setitem": (comex_stores, n // 10),
            "setitem": (stores, n // 10)}


def measure(measured, rounds):
    """Median ns per call of every loop, by the wall clock and by the thread's CPU time (the
    machine's other load left out); the loops take turns in each round."""
    wall = {name: [] for name in measured}
    cpu = {name: [] for name in measured}
    for _ in range(rounds):
        for name, (loop, calls) in measured.items():
            start, start_cpu = time.perf_counter(), time.thread_time()
            loop()
            cpu[name].append((time.thread_time() - start_cpu) / calls * 1e9)
            wall[name].append((time.perf_counter() - start) / calls * 1e9)
    return ({name: statistics.median(values) for name, values in wall.items()},
            {name: statistics.median(values) for name, values in cpu.items()})


@Experiment(base_path=folder_path(__file__), namespace="results/bench_track", glob=globals())
def experiment(e):
    e.track("loss", 0.0)  # the series exist before the measured loops
    _xrun.log({"loss": 0.0, "acc": 0.0})
    tracked = time.monotonic()
    series = os.path.join(e.path, ".track", "acc.csv")
    while os.path.getsize(series) <= len("step,value,time,stage\n"):
        time.sleep(0.001)
    e["first_on_disk_s"] = time.monotonic() - tracked
    print(f"first value on disk after  {e['first_on_disk_s']:7.3f} s (budget 1 s)")
    wall, cpu = measure(loops(e, e.CALLS), e.ROUNDS)
    e["ns"] = {"wall": wall, "cpu": cpu}
    print(f"{'ns per call':<26} {'wall':>7} {'cpu':>7}")
    for name in wall:
        print(f"{name:<26} {wall[name]:7.1f} {cpu[name]:7.1f}")
    for label, (over, floor), budget in [("track/copysign", ("track", "copysign"), 3),
                                         ("log/len(dict)", ("log", "len_dict"), 3),
                                         ("e[k]=v / PyComex's", ("setitem", "pycomex_setitem"), 1)]:
        print(f"ratio {label:<20} {wall[over] / wall[floor]:7.2f} {cpu[over] / cpu[floor]:7.2f}"
              f"  (budget {budget})")
    e["points"] = 2 + 2 * e.ROUNDS * e.CALLS  # loss: the first two, the track and log loops


experiment.run_if_main()
