"""Analysis of one archived xrun run.

Re-loads this run folder (parameters, data, the experiment's code) and runs the experiment's
``@experiment.analysis`` functions on it. From any folder:

    PYTHONPATH="$(xrun python-path)" python3 path/to/run/analysis.py

Or interactively: ``experiment = Experiment.load("path/to/run")``, then ``experiment["..."]``,
``experiment.LR``, ``experiment.path``.
"""

from pathlib import Path

from xrun import Experiment

experiment = Experiment.load(Path(__file__).resolve().parent)

if __name__ == "__main__":
    experiment.run_analyses()
