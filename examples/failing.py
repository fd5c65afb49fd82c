"""Failing: what xrun records when an experiment raises.

The run ends with status ``failed`` and exit code 1; the traceback is in
``experiment_out.log``, ``error_type`` and ``error_message`` are in ``experiment_meta.json``, and
everything stored before the error is kept in ``experiment_data.json``.

    xrun run examples/failing.py               # fails at step 5
    xrun run examples/failing.py --FAIL_AT -1  # never fails: status done
"""

from xrun import Experiment, file_namespace, folder_path

# :param STEPS:
#     Steps to run.
STEPS: int = 10

# :param FAIL_AT:
#     The step that raises; -1 for none.
FAIL_AT: int = 5


@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__), glob=globals())
def experiment(e: Experiment):
    for step in range(e.STEPS):
        e.track("progress", step)
        e["last_step"] = step
        if step == e.FAIL_AT:
            raise RuntimeError(f"diverged at step {step}")
    e.log("finished every step")


experiment.run_if_main()
