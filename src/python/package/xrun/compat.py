"""``xrun.compat.runicorn``, ``.expman``, ``.batchpy`` and ``.digitalhub``: code written for
Runicorn, expman, batchpy or digitalhub's python runtime moves to xrun by changing its import
line. The package is one folder of modules, so these are the modules ``_compat_runicorn``,
``_compat_expman``, ``_compat_batchpy`` and ``_compat_digitalhub``, registered here under
their public names. Imports ``_compat_runicorn`` and ``_compat_expman``; ``_compat_batchpy``
and ``_compat_digitalhub`` are run on first use (they import the function runs' machinery,
which a Runicorn script does not need at its start).
"""

import importlib.util
import sys

from . import _compat_expman as expman
from . import _compat_runicorn as runicorn


def _on_first_use(name: str):
    """The module ``_compat_<name>``, run when one of its names is first asked for."""
    spec = importlib.util.find_spec(f"{__package__}._compat_{name}")
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


batchpy = _on_first_use("batchpy")
digitalhub = _on_first_use("digitalhub")

# `import xrun.compat.runicorn` finds the module here once xrun.compat is imported (by name:
# an attribute of a module not run yet would run it).
for _name, _module in (("batchpy", batchpy), ("digitalhub", digitalhub), ("expman", expman),
                       ("runicorn", runicorn)):
    sys.modules[f"{__name__}.{_name}"] = _module
del _name, _module
