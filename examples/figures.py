"""Figures: matplotlib plots committed to the run folder and tracked as an image series.

Fits polynomials of growing degree to noisy samples of a sine wave. ``e.commit_fig`` saves the
final comparison as ``fit.png``; ``e.track("fit", fig)`` keeps one frame per degree in
``.track/fit_000.png ...``; numpy arrays and scalars stored with ``e[...]`` become plain JSON.

    xrun run examples/figures.py --MAX_DEGREE 9 --NOISE 0.2
"""

import matplotlib

matplotlib.use("Agg")  # headless: no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from xrun import Experiment, file_namespace, folder_path  # noqa: E402

# :param SAMPLES:
#     Number of noisy samples of the sine wave.
SAMPLES: int = 40

# :param NOISE:
#     Standard deviation of the Gaussian noise added to the samples.
NOISE: float = 0.1

# :param MAX_DEGREE:
#     Polynomials of degree 1 to MAX_DEGREE are fitted.
MAX_DEGREE: int = 7

# :param SEED:
#     Seed of the random generator, for a reproducible run.
SEED: int = 0


@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__), glob=globals())
def experiment(e: Experiment):
    rng = np.random.default_rng(e.SEED)
    x = np.linspace(0, 2 * np.pi, e.SAMPLES)
    y = np.sin(x) + rng.normal(0, e.NOISE, e.SAMPLES)
    dense = np.linspace(0, 2 * np.pi, 400)

    errors = []
    for degree in range(1, e.MAX_DEGREE + 1):
        coefficients = np.polyfit(x, y, degree)
        error = float(np.sqrt(np.mean((np.polyval(coefficients, x) - y) ** 2)))
        errors.append(error)
        e.track("rmse", error)
        e[f"coefficients/{degree}"] = coefficients  # a numpy array, stored as a list

        fig, ax = plt.subplots(figsize=(6, 4))
        ax.scatter(x, y, s=12, color="black", label="samples")
        ax.plot(dense, np.polyval(coefficients, dense), label=f"degree {degree}")
        ax.set_ylim(-1.8, 1.8)
        ax.legend(loc="upper right")
        e.track("fit", fig)
        plt.close(fig)
        e.log(f"degree {degree}: rmse {error:.4f}")

    best = int(np.argmin(errors)) + 1
    e["best/degree"] = best
    e["best/rmse"] = np.float64(min(errors))

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, e.MAX_DEGREE + 1), errors, marker="o")
    ax.set_xlabel("degree")
    ax.set_ylabel("training RMSE")
    e.commit_fig("rmse.png", fig)
    plt.close(fig)


experiment.run_if_main()
