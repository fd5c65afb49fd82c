"""A mixin: adds a parameter and an ``after_run`` hook to any experiment that includes it.

Include it with ``experiment.include("summary_mixin.py")``, a config's ``include:``, or
``--__INCLUDE__ summary_mixin.py``.
"""

from xrun import ExperimentMixin

# :param SUMMARY_FILE:
#     Name of the summary file written into the run folder.
SUMMARY_FILE: str = "summary.txt"

mixin = ExperimentMixin(glob=globals())


@mixin.hook("after_run")
def write_summary(e):
    lines = [f"{name} = {value!r}" for name, value in e.parameters.items()
             if not name.startswith("__")]
    e.commit_raw(e.SUMMARY_FILE, "\n".join(lines) + "\n")
