"""The experiment the browser test records: a loss curve, an accuracy, a log, an image.

With DELAY > 0 it keeps tracking (a run that is live while the page is open); FAIL=1 ends it
with an exception.
"""

import time

from xrun import Experiment, file_namespace, folder_path

# :param LR:
#     Learning rate: how fast the loss falls.
LR: float = 0.1

# :param STEPS:
#     Points of train/loss to track.
STEPS: int = 300

# :param DELAY:
#     Seconds between two steps.
DELAY: float = 0.0

# :param FAIL:
#     1: raise an error after the last step.
FAIL: int = 0


@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__), glob=globals())
def experiment(e: Experiment):
    e.log(f"training with LR {e.LR} for {e.STEPS} steps")
    for step in range(e.STEPS):
        e.track("train/loss", 1.0 / (1.0 + e.LR * step))
        if step % 10 == 0:
            e.track("train/acc", 1.0 - 1.0 / (1.0 + e.LR * step))
        if e.DELAY:
            e.log(f"step {step}")
            time.sleep(e.DELAY)
    e["final/loss"] = 1.0 / (1.0 + e.LR * e.STEPS)
    if e.FAIL:
        raise ValueError("the loss diverged")


experiment.run_if_main()
