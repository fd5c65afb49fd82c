"""Regression: fits a line to noisy samples by gradient descent.

The base experiment of the composition examples: ``regression_l2.py`` extends it in Python and
``configs/*.yml`` vary it without code.

    xrun run examples/regression.py --EPOCHS 200
"""

import random

from xrun import Experiment, file_namespace, folder_path

# :param SAMPLES:
#     Number of noisy samples of y = SLOPE * x + 1.
SAMPLES: int = 50
# :param SLOPE:
#     True slope of the line the samples come from.
SLOPE: float = 2.0
# :param LR:
#     Learning rate of gradient descent.
LR: float = 0.5
# :param EPOCHS:
#     Passes over the samples.
EPOCHS: int = 100
# :param SEED:
#     Seed for the samples' noise.
SEED: int = 1


@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__), glob=globals())
def experiment(e: Experiment):
    rng = random.Random(e.SEED)
    xs = [i / e.SAMPLES for i in range(e.SAMPLES)]
    ys = [e.SLOPE * x + 1 + rng.gauss(0, 0.1) for x in xs]
    w, b = 0.0, 0.0
    for epoch in range(e.EPOCHS):
        grad_w = sum((w * x + b - y) * x for x, y in zip(xs, ys)) * 2 / e.SAMPLES
        grad_b = sum((w * x + b - y) for x, y in zip(xs, ys)) * 2 / e.SAMPLES
        grad_w += e.apply_hook("penalty", default=0.0, weight=w)
        w -= e.LR * grad_w
        b -= e.LR * grad_b
        loss = sum((w * x + b - y) ** 2 for x, y in zip(xs, ys)) / e.SAMPLES
        e.track("train/loss", loss)
    e["fit"] = {"slope": w, "intercept": b, "loss": loss}
    e.apply_hook("report", fit=e["fit"])


# :hook penalty:
#     Extra gradient on the slope, given the current ``weight``; none in the base.

# :hook report:
#     Called with the final ``fit`` to print a summary.
@experiment.hook("report")
def report(e, fit):
    e.log(f"slope {fit['slope']:.3f} (true {e.SLOPE}), loss {fit['loss']:.5f}")


experiment.run_if_main()
