"""``xrun.compat.runicorn``, ``.expman``, ``.batchpy`` and ``.digitalhub``: code written for
Runicorn, expman, batchpy or digitalhub's python runtime moves to xrun by changing its import
line. The package is one folder of modules, so these are the modules ``_compat_runicorn``,
``_compat_expman``, ``_compat_batchpy`` and ``_compat_digitalhub``, registered here under
their public names. Imports ``_compat_runicorn``, ``_compat_expman``, ``_compat_batchpy`` and
``_compat_digitalhub``.
"""

import sys

from . import _compat_batchpy as batchpy
from . import _compat_digitalhub as digitalhub
from . import _compat_expman as expman
from . import _compat_runicorn as runicorn

# `import xrun.compat.runicorn` finds the module here once xrun.compat is imported.
for _module in (batchpy, digitalhub, expman, runicorn):
    sys.modules[f"{__name__}.{_module.__name__.rpartition('_compat_')[2]}"] = _module
del _module
