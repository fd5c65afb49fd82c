"""Regression with an L2 penalty: extends ``regression.py`` in Python.

Overrides parameters (``LR`` derives from the base's value with ``INHERIT``), adds the
``PENALTY`` parameter, fills the base's ``penalty`` hook and replaces its ``report`` hook.

    xrun run examples/regression_l2.py --PENALTY 0.5
"""

from xrun import INHERIT, Experiment, file_namespace, folder_path

# :param PENALTY:
#     Strength of the L2 penalty on the slope.
PENALTY: float = 0.1
# :param LR:
#     Half the base experiment's learning rate.
LR = INHERIT(lambda base: base / 2)
EPOCHS: int = 300

experiment = Experiment.extend("regression.py", base_path=folder_path(__file__),
                               namespace=file_namespace(__file__), glob=globals())


@experiment.hook("penalty")
def l2(e, weight):
    return 2 * e.PENALTY * weight


@experiment.hook("report", replace=True)
def report(e, fit):
    e.log(f"L2 {e.PENALTY}: slope {fit['slope']:.3f}, shrunk from {e.SLOPE}")


experiment.run_if_main()
