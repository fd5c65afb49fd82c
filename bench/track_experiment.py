"""Per-call cost of e.track and e[key] = value against list.append, in one process.

Run by bench/track.py through `xrun run`; prints its figures and stores them in the run's data.
"""

import time

from xrun import Experiment, folder_path

# :param CALLS:
#     Calls per measured loop.
CALLS: int = 1_000_000
# :param ROUNDS:
#     Each loop is measured this many times; the best round counts.
ROUNDS: int = 5


def best(loop, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        loop()
        times.append(time.perf_counter() - start)
    return min(times)


@Experiment(base_path=folder_path(__file__), namespace="results/bench_track", glob=globals())
def experiment(e):
    n = e.CALLS
    values = [i * 0.001 for i in range(n)]

    def appends():
        lst = []
        append = lst.append
        for x in values:
            append(("loss", x))

    def tracks():
        track = e.track
        for x in values:
            track("loss", x)

    def stores():
        for x in values[: n // 10]:
            e["metrics/loss"] = x

    import os

    e.track("loss", 0.0)  # the series exists before the measured loops
    tracked = time.monotonic()
    series = os.path.join(e.path, ".track", "loss.csv")
    while os.path.getsize(series) <= len("step,value,time\n"):
        time.sleep(0.001)
    e["first_on_disk_s"] = time.monotonic() - tracked
    print(f"first value on disk after  {e['first_on_disk_s']:7.3f} s (budget 1 s)")
    append_time = best(appends, e.ROUNDS)
    track_time = best(tracks, e.ROUNDS)
    store_time = best(stores, e.ROUNDS)
    e["append_ns"] = append_time / n * 1e9
    e["track_ns"] = track_time / n * 1e9
    e["store_ns"] = store_time / (n // 10) * 1e9
    print(f"list.append(('loss', x))   {e['append_ns']:7.1f} ns per call")
    print(f"e.track('loss', x)         {e['track_ns']:7.1f} ns per call")
    print(f"e['metrics/loss'] = x      {e['store_ns']:7.1f} ns per call")
    print(f"ratio track/append         {track_time / append_time:7.2f}  (budget 1.5)")


experiment.run_if_main()
