"""``xrun.compat.runicorn`` and ``xrun.compat.expman``: code written for Runicorn or expman
moves to xrun by changing its import line. The package is one folder of modules, so the two are
the modules ``_compat_runicorn`` and ``_compat_expman``, registered here under their public
names. Imports ``_compat_runicorn`` and ``_compat_expman``.
"""

import sys

from . import _compat_expman as expman
from . import _compat_runicorn as runicorn

# `import xrun.compat.runicorn` finds the module here once xrun.compat is imported.
for _module in (expman, runicorn):
    sys.modules[f"{__name__}.{_module.__name__.rpartition('_compat_')[2]}"] = _module
del _module
