"""Composition: an experiment extended by another module (``Experiment.extend``, with
``INHERIT``), mixins added to it, and the values of a YAML config or of a sweep's variation
applied to its parameters, each checked against the declared type. These functions work on an
experiment they are given and never import the ``Experiment`` class. Imports ``_common`` and
``_params``.
"""

from __future__ import annotations

import os

from ._common import UsageError, _did_you_mean, _shown
from ._params import _SPECIAL, Parameter, _convert, _discover, _from_config, _source_info


class _Inherit:
    """``PARAM = INHERIT`` keeps the base experiment's value; ``PARAM = INHERIT(fn)`` uses
    ``fn(base value)``."""

    def __init__(self, derive=None):
        self._derive = derive

    def __call__(self, derive):
        return _Inherit(derive)

    def derive(self, value):
        return value if self._derive is None else self._derive(value)

    def __repr__(self):
        return "INHERIT" if self._derive is None else "INHERIT(...)"


INHERIT = _Inherit()


def _adopt(experiment, glob: dict, base_path: str, namespace: str, base_file: str):
    """Makes the module of ``glob`` the one that extends ``experiment`` (the experiment of its
    base, ``base_file``): its base path and namespace, its description, its parameters."""
    if experiment._level > 0:
        _absorb(experiment)  # what the module being extended set after its own extend() call
    experiment._level += 1
    experiment.dependencies.append(base_file)
    experiment.globs.append(glob)
    glob["__experiment__"] = experiment
    experiment.base_path = str(base_path)
    experiment.namespace = str(namespace)
    experiment.file = glob.get("__file__", experiment.file)
    experiment.name = os.path.splitext(os.path.basename(experiment.file))[0]
    if (glob.get("__doc__") or "").strip():
        experiment._describe(glob["__doc__"])
    for spec in experiment.parameter_specs.values():
        if spec.source_file:
            spec.source = "base"
    _absorb(experiment)


def _absorb(experiment):
    """Takes the parameters the extending module declares (again at run time, for those
    assigned after its extend() call) over the base's."""
    glob, file = experiment.glob, experiment.file
    assigned, descriptions, hook_descriptions = _source_info(file)
    experiment.hook_descriptions.update(hook_descriptions)
    own = _discover(glob, assigned, descriptions, file, specials=False)
    for name in [n for n in _SPECIAL if n in glob]:
        special = experiment.parameter_specs[name]
        own[name] = Parameter(name, glob[name], special.annotation, special.type_name,
                              special.description, os.path.abspath(file))
    for name, spec in own.items():
        base = experiment.parameter_specs.get(name)
        if base is not None and base.source_file == spec.source_file and \
                base.value is spec.value:
            continue  # taken already
        if isinstance(spec.value, _Inherit):
            if base is None:
                raise UsageError(f"{file}: {name} = INHERIT, but the base experiment has no "
                                 f"parameter {name}")
            spec.value = spec.value.derive(base.value)
        if base is not None:
            spec.annotation = spec.annotation or base.annotation
            if not assigned.get(name):
                spec.type_name = base.type_name
            spec.description = spec.description or base.description
        experiment.parameter_specs[name] = spec
        glob[name] = spec.value


def _add_mixin(experiment, mixin, file: str):
    """Adds ``mixin`` (from ``file``) to ``experiment``: its parameters fill in what the
    experiment does not define, its hooks run after the bases' and before the experiment's."""
    experiment.mixins.append(mixin)
    experiment.dependencies.append(file)
    experiment.globs.insert(0, mixin.glob)  # the mixin's hooks see the values as globals
    for name, spec in mixin.parameter_specs.items():
        if name not in experiment.parameter_specs:
            spec.source = "base"
            experiment.parameter_specs[name] = spec
            experiment._publish(name, spec.value)
    for name, func, replace in mixin.registrations:
        experiment._register(experiment._level, 0, name, func, replace)
    experiment.hook_descriptions.update(
        {k: v for k, v in mixin.hook_descriptions.items()
         if k not in experiment.hook_descriptions})


def _apply_config(experiment, config: dict):
    """Applies a resolved YAML config: name, namespace, base path, description, mixins and
    parameter values, each checked against the parameter's declared type."""
    experiment.name = config["name"]
    if config["namespace"]:  # else the experiment's own: a function's config runs among its runs
        experiment.namespace = config["namespace"]
    if config["base_path"]:  # else the experiment's own: a config's runs go beside its runs
        experiment.base_path = config["base_path"]
    if config["description"]:
        experiment._describe(config["description"])
    experiment.dependencies.extend(config["files"])
    _apply_settings(experiment, config["parameters"])


def _apply_settings(experiment, settings: list):
    """Applies located parameter settings (of a config, or of a sweep's variation): each value
    checked against the parameter's declared type, an error naming where it was given."""
    specs = experiment.parameter_specs
    for setting in settings:
        name = setting["name"]
        where = f"{setting['file']}:{setting['line']}:{setting['column']}" if setting["line"] \
            else setting["file"]  # `--sweep LR=0.1,x`
        spec = specs.get(name)
        if spec is None:
            raise UsageError(f"{where}: the experiment has no parameter {_shown(name)}"
                             f"{_did_you_mean(name, specs)}")
        if "unset" in setting:
            spec.unset = setting["unset"]  # reported unless a later source gives a value
            continue
        tp = spec.annotation if spec.annotation is not None else (
            type(spec.value) if spec.value is not None else None)
        try:
            if "text" in setting:
                value = _convert(setting["text"], spec.annotation, spec.value)
            else:
                value = _from_config(setting["value"], tp)
        except ValueError as error:
            shown = setting.get("text", setting["value"])
            raise UsageError(f"{where}: parameter {name} ({spec.type_name}) cannot be "
                             f"{_shown(repr(shown))}: {error}") from None
        spec.value = value
        spec.unset = None
        spec.source = setting.get("source", "config")
        spec.source_file = setting["file"] if spec.source == "config" else ""


def _check_unset(specs: dict):
    """UsageError for a config value that needs an environment variable that is not set, when
    no later source gave its parameter a value."""
    for spec in specs.values():
        if spec.unset:
            raise UsageError(spec.unset)
