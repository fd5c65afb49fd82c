"""Quickstart: the smallest complete xrun experiment.

Run it with ``xrun run examples/quickstart.py`` and change a parameter with
``xrun run examples/quickstart.py --NUM_VALUES 20 --SCALE 2.5``. Each run leaves one folder in
``examples/results/quickstart/``.
"""

import math
import random

from xrun import Experiment, file_namespace, folder_path

# :param NUM_VALUES:
#     How many random values to draw.
NUM_VALUES: int = 10

# :param SCALE:
#     Every value is multiplied by this factor.
SCALE: float = 1.0

# :param NAME:
#     A label stored with the results.
NAME: str = "quickstart"


@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__), glob=globals())
def experiment(e: Experiment):
    e.log(f"drawing {e.NUM_VALUES} values scaled by {e.SCALE} ({e.NAME})")
    random.seed(0)
    values = [random.random() * e.SCALE for _ in range(e.NUM_VALUES)]
    for step, value in enumerate(values):
        e.track("value", value)
        e.track("running/mean", sum(values[: step + 1]) / (step + 1))

    e["values"] = values
    e["metrics/mean"] = sum(values) / len(values)
    e["metrics/std"] = math.sqrt(sum((v - e["metrics/mean"]) ** 2 for v in values) / len(values))
    e.commit_raw("summary.txt", f"mean={e['metrics/mean']:.4f}\n")
    e.log(f"mean {e['metrics/mean']:.4f}, std {e['metrics/std']:.4f}")


experiment.run_if_main()
