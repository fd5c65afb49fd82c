"""Quickstart: the smallest complete xrun experiment.

Simulates a damped oscillator and records its trajectory. Run it with
``xrun run examples/quickstart.py`` and change a parameter with
``xrun run examples/quickstart.py --DAMPING 0.3 --STEPS 200``. Each run leaves one folder in
``examples/results/quickstart/``.
"""

import math

from xrun import Experiment, file_namespace, folder_path

# :param STEPS:
#     How many time steps to simulate.
STEPS: int = 100

# :param DAMPING:
#     Damping ratio of the oscillator (0 = none, 1 = critical).
DAMPING: float = 0.1

# :param FREQUENCY:
#     Natural frequency in radians per unit time.
FREQUENCY: float = 2.0

# :param LABEL:
#     A free-text label stored with the results.
LABEL: str = "baseline"


@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__), glob=globals())
def experiment(e: Experiment):
    e.log(f"simulating {e.STEPS} steps, damping {e.DAMPING}, frequency {e.FREQUENCY} ({e.LABEL})")
    dt = 0.05
    position, velocity = 1.0, 0.0
    for _ in range(e.STEPS):
        acceleration = -2 * e.DAMPING * e.FREQUENCY * velocity - e.FREQUENCY**2 * position
        velocity += acceleration * dt
        position += velocity * dt
        e.track("position", position)
        e.track("energy/kinetic", 0.5 * velocity**2)

    e["final/position"] = position
    e["final/energy"] = 0.5 * velocity**2 + 0.5 * (e.FREQUENCY * position) ** 2
    e.commit_raw("summary.txt", f"final energy {e['final/energy']:.6f}\n")
    e.log(f"final position {position:+.4f}, energy {e['final/energy']:.6f}")


@experiment.analysis
def report(e: Experiment):
    """Runs after the experiment, and again from the run folder's analysis.py."""
    e.log(f"energy left: {100 * e['final/energy'] / (0.5 * e.FREQUENCY**2):.1f}% of the start")


experiment.run_if_main()
