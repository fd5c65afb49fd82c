"""Forks while a thread tracks at full speed (the series is the primary metric, so its summary
is replaced at every writer tick, and the data changes, so it is saved every second): every
other child exits at once, the others allocate blocks of every size and call track(), exiting 7
when it is refused as documented. Stores what the parent tracked and how the children ended.

Run by bench/fork_stress.py through `xrun run`.
"""

import os
import threading
import time

import _xrun
from xrun import Experiment, folder_path

# :param FORKS:
#     How many times the experiment's main thread forks.
FORKS: int = 200


@Experiment(base_path=folder_path(__file__), namespace="results/bench_fork_stress",
            glob=globals())
def experiment(e):
    _xrun.set_primary("x", "max")
    done = threading.Event()
    tracked = [0]

    def track_until_done():
        n = 0
        while not done.is_set():
            for _ in range(1000):
                e.track("x", n)
                n += 1
            e["tracked"] = tracked[0] = n

    thread = threading.Thread(target=track_until_done)
    start = time.monotonic()
    thread.start()
    exits = []
    for i in range(e.FORKS):
        pid = os.fork()
        if pid == 0:
            if i % 2:
                os._exit(0)
            blocks = [bytearray(1 << k) for k in range(6, 22)]
            try:
                e.track("x", len(blocks))
            except RuntimeError as error:
                os._exit(7 if "experiment's own process" in str(error) else 1)
            os._exit(1)
        _, status = os.waitpid(pid, 0)
        exits.append(os.waitstatus_to_exitcode(status))
        e["forks_done"] = i + 1
    done.set()
    thread.join()
    e["seconds"] = time.monotonic() - start
    e["tracked"] = tracked[0]
    e["exits"] = {str(code): exits.count(code) for code in sorted(set(exits))}


experiment.run_if_main()
