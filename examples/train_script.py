"""A training script without an Experiment: a run recorded by `xrun.start()`.

Run it either way; both give a run folder in results/regression/:

    PYTHONPATH="$(xrun python-path)" python3 examples/train_script.py
    xrun run examples/train_script.py
"""

import logging

import numpy as np

import xrun

params = {"lr": 0.3, "epochs": 40, "seed": 1}
rng = np.random.default_rng(params["seed"])
x = rng.uniform(-1, 1, size=(200, 3))
y = x @ np.array([1.5, -2.0, 0.5]) + rng.normal(0, 0.1, size=200)
train, test = slice(0, 150), slice(150, 200)

with xrun.start("regression/sgd", params=params) as run:
    logging.getLogger().addHandler(run.get_logging_handler(logging.INFO))
    logging.getLogger().setLevel(logging.INFO)
    run.set_primary_metric("test/mse", mode="min")
    weights = np.zeros(3)
    for epoch in range(params["epochs"]):
        error = x[train] @ weights - y[train]
        weights -= params["lr"] * 2 * x[train].T @ error / len(error)
        test_mse = float(np.mean((x[test] @ weights - y[test]) ** 2))
        run.log({"train/mse": float(np.mean(error**2)), "test/mse": test_mse}, stage="train")
    logging.info("trained %d epochs", params["epochs"])
    run.summary({"weights": weights.round(3).tolist(), "test_mse": test_mse})
    image = np.outer(np.linspace(0, 1, 32), np.linspace(1, 0, 32))  # a gradient, as an image
    run.log_image("gradient", image, caption="floats in [0, 1] become grey levels")
    np.save("weights.npy", weights)
    run.save_artifact("weights.npy", name="weights", kind="model")
    print(f"test mse {test_mse:.4f}; run {run.id}")
