"""Forks while a thread tracks at full speed: every other child exits at once, the others call
track() and exit 7 when it is refused as documented. Stores what the parent tracked and how the
children ended; the data changes at every fork, so the background saver works meanwhile.

Run by bench/fork_stress.py through `xrun run`.
"""

import os
import threading
import time

from xrun import Experiment, folder_path

# :param FORKS:
#     How many times the experiment's main thread forks.
FORKS: int = 200


@Experiment(base_path=folder_path(__file__), namespace="results/bench_fork_stress",
            glob=globals())
def experiment(e):
    done = threading.Event()
    tracked = [0]

    def track_until_done():
        while not done.is_set():
            for _ in range(1000):
                e.track("x", 0.5)
            tracked[0] += 1000

    thread = threading.Thread(target=track_until_done)
    start = time.monotonic()
    thread.start()
    exits = []
    for i in range(e.FORKS):
        pid = os.fork()
        if pid == 0:
            if i % 2:
                os._exit(0)
            try:
                e.track("x", 1.0)
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
