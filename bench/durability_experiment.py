"""Logs POINTS points of the series x (one log() each) and keeps the summary and the primary
metric changing; with KILL, goes on logging (noting its progress in progress.txt) until it is
killed. Run by bench/durability.py and by the tracking tests through `xrun run`.
"""

import os
import time

import _xrun
from xrun import Experiment, folder_path

# :param POINTS:
#     Points logged before the run ends (or, with KILL, before the caller may kill it).
POINTS: int = 1_000_000
# :param KILL:
#     Go on logging after POINTS, until killed.
KILL: bool = False
# :param PAUSE:
#     Seconds of sleep after every 1000 points once POINTS are logged (0: full speed).
PAUSE: float = 0.0
# :param NOTE_EVERY:
#     Points between two lines of progress.txt (and two summary updates).
NOTE_EVERY: int = 1000


@Experiment(base_path=folder_path(__file__), namespace="results/durability", glob=globals())
def experiment(e):
    progress = os.open(os.path.join(e.path, "progress.txt"),
                       os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(progress, f"pid {os.getpid()}\n".encode())
    _xrun.set_primary("x", "max")
    log, summary, every = _xrun.log, _xrun.summary_update, e.NOTE_EVERY
    i = 0
    while i < e.POINTS or e.KILL:
        log({"x": float(i)}, stage="train")
        if i % every == every - 1:
            summary({"last": i})
            # point i and the summary's last = i were given by this time
            os.write(progress, f"{i} {time.time():.6f}\n".encode())
            if i >= e.POINTS and e.PAUSE:
                time.sleep(e.PAUSE)
        i += 1


experiment.run_if_main()
