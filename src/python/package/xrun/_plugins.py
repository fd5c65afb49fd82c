"""Plugins: Python modules with functions named after the hooks in ``PLUGIN_HOOKS``, found in
xrun's own plugins folder, the user's (``~/.config/xrun/plugins``) and installed
``xrun_<name>`` packages; chosen for a run, loaded, called at each hook (a failing one is
reported and recorded, never breaking the run), and listed by ``xrun plugins list``. Imports
``_common``, ``_jsonio`` and ``_protocol``.
"""

from __future__ import annotations

import builtins
import os
import sys
import types

from . import _protocol
from ._common import (UsageError, _did_you_mean, _error_text, _flush_output, _prefix, _shown,
                      _user_frames, _xrun)
from ._jsonio import _dumps, _plain_or_repr

_STARTUP_PATH = list(sys.path)  # before the experiment's folders are added
PLUGIN_HOOKS = ("before_parameters", "after_parameters", "after_folder", "before_run",
                "after_run", "on_failure", "on_track", "on_commit", "after_end")
_PLUGIN_ORDER = {"builtin": 0, "package": 1, "user": 2}  # a later source shadows an earlier
_PLUGIN_FAILURES_KEPT = 20  # in the meta, per plugin
_PLUGIN_FAILURES_ALLOWED = 5  # per hook; then the hook is not called again in the run
# A setting whose name holds one of these is kept out of the record (the plugin gets it).
_SECRET_WORDS = ("token", "secret", "password", "passwd", "key", "auth", "credential")
_REDACTED = "<redacted>"


class PluginEvent:
    """What a plugin's hook function receives: ``hook``, ``plugin`` (its name), ``settings``
    (its settings for this run) and the fields of that hook (``experiment``, ``path``, ...)."""

    def __init__(self, hook: str, plugin: "_Plugin", fields: dict):
        self.hook = hook
        self.plugin = plugin.name
        self.settings = dict(plugin.settings)
        self.__dict__.update(fields)

    def __repr__(self):
        return f"PluginEvent({self.hook!r}, plugin={self.plugin!r})"


class _Plugin:
    """One discovered plugin: where it is, whether it is on for this run, what went wrong."""

    def __init__(self, name: str, source: str, path: str, module_name: str):
        self.name = name
        self.source = source  # builtin, package or user
        self.path = path
        self.module_name = module_name
        self.module = None
        self.enabled = None  # None: as the plugin's ENABLED says
        self.settings = {}
        self.error = ""  # why it could not be loaded
        self.failures = []  # {"hook", "error"} of hooks that raised
        self.shadows = []  # the paths of plugins of the same name it hides
        self.failed_calls = {}  # hook -> how many calls raised
        self.dropped = set()  # hooks not called again: they failed too often

    @property
    def hooks(self) -> list:
        if self.module is None:
            return []
        return [hook for hook in PLUGIN_HOOKS if callable(getattr(self.module, hook, None))]

    def load(self):
        """Imports the plugin's module; an error is kept (and reported), never raised."""
        if self.module is not None or self.error:
            return
        try:
            if self.source == "package":
                import importlib
                self.module = importlib.import_module(self.module_name)
            elif os.path.basename(self.path) == "__init__.py":  # a folder: a package
                import importlib.util
                spec = importlib.util.spec_from_file_location(
                    self.module_name, self.path,
                    submodule_search_locations=[os.path.dirname(self.path)])
                module = importlib.util.module_from_spec(spec)
                sys.modules[self.module_name] = module
                spec.loader.exec_module(module)
                self.module = module
            else:
                self.module = _exec_cached(self.module_name, self.path)
        except BaseException as error:  # noqa: BLE001 - a broken plugin never breaks a run
            if isinstance(error, KeyboardInterrupt):
                raise
            sys.modules.pop(self.module_name, None)
            self.error = _plugin_error(error, self.path)

    def default_enabled(self) -> bool:
        """The module's ``ENABLED``; read from its text when it is not imported, so that a
        plugin that is off is never imported (nor can its import slow or stop a run)."""
        if self.module is not None:
            return bool(getattr(self.module, "ENABLED", True))
        if _xrun is None:
            return True
        try:
            scan = _xrun.scan_module(self.path)
        except Exception:  # noqa: BLE001 - unreadable: the import will say why
            return True
        for assignment in scan["assignments"]:
            if assignment["name"] == "ENABLED":
                return assignment["value"].strip() not in ("False", "0", "None")
        return True

    def secret_settings(self) -> list:
        """The names of its settings whose values are not recorded: those the plugin lists in
        ``SECRET_SETTINGS``, and those named like a secret (token, password, key, ...)."""
        declared = getattr(self.module, "SECRET_SETTINGS", ()) if self.module is not None else ()
        return sorted(name for name in self.settings
                      if name in declared or any(word in name.lower() for word in _SECRET_WORDS))

    def record(self) -> dict:
        record = {"name": self.name, "source": self.source, "path": self.path,
                  "module": self.module_name, "loaded": self.module is not None,
                  "hooks": self.hooks}
        if self.settings:
            secret = self.secret_settings()
            record["settings"] = _plain_or_repr(
                {name: _REDACTED if name in secret else value
                 for name, value in self.settings.items()})
            if secret:
                record["secret_settings"] = secret
        if self.error:
            record["error"] = self.error
        if self.failures:
            record["failures"] = list(self.failures)
        return record


def _exec_cached(name: str, path: str) -> types.ModuleType:
    """Imports the module file at ``path`` as ``name``, with its bytecode cached beside the
    exported package, in a folder private to the user (the invocation's ``plugin_cache``, made
    so by xrun: no one else can plant code there): every run imports the plugins, an installed
    plugins folder is read-only, and PYTHONDONTWRITEBYTECODE is common, so Python's own cache
    often is not written."""
    import marshal

    stat = os.stat(path)
    key = f"{path}\0{stat.st_mtime_ns}\0{stat.st_size}\0{sys.implementation.cache_tag}\n"
    key = key.encode("utf-8", "surrogateescape")
    folder = _protocol.invocation().get("plugin_cache") if _xrun is not None else ""
    cache = os.path.join(folder, name + ".bin") if folder else ""
    code = None
    try:
        with open(cache, "rb") as handle:
            blob = handle.read()
        if blob.startswith(key):
            code = marshal.loads(blob[len(key):])
    except (OSError, ValueError, EOFError, TypeError):
        pass
    if code is None:
        with open(path, "rb") as handle:
            code = compile(handle.read(), path, "exec", dont_inherit=True)
        try:
            if cache:
                temp = f"{cache}.{os.getpid()}.tmp"
                with open(temp, "wb") as handle:
                    handle.write(key + marshal.dumps(code))
                os.replace(temp, cache)
        except OSError:
            pass  # a read-only cache: compiled again next time
    module = types.ModuleType(name)
    module.__file__ = path
    module.__builtins__ = builtins
    sys.modules[name] = module
    exec(code, module.__dict__)
    return module


def _plugin_error(error: BaseException, path: str) -> str:
    """``Type: message`` and the plugin's line that raised it."""
    if isinstance(error, SyntaxError):
        return f"SyntaxError: {error.msg} ({error.filename or path}:{error.lineno})"
    frames = _user_frames(error)
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return _error_text(error) + where


def _plugin_folders(invocation: dict) -> list:
    """(source, folder) pairs to look for plugin modules in."""
    folders = []
    builtin = invocation.get("plugin_folder")
    if builtin:
        folders.append(("builtin", builtin))
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(
        os.path.expanduser("~"), ".config")
    folders.append(("user", os.path.join(config_home, "xrun", "plugins")))
    return folders


def _discover_plugins(invocation: dict) -> dict:
    """name -> _Plugin for every plugin found (without importing any)."""
    found = []
    for source, folder in _plugin_folders(invocation):
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            name, ext = os.path.splitext(entry.name)
            if entry.name.startswith((".", "_")) or not name.isidentifier():
                continue
            if ext == ".py" and entry.is_file():
                path = entry.path
            elif not ext and entry.is_dir() and os.path.isfile(
                    os.path.join(entry.path, "__init__.py")):
                path = os.path.join(entry.path, "__init__.py")
            else:
                continue
            found.append(_Plugin(name, source, path, f"xrun_plugin_{source}_{name}"))
    seen = set()
    # Installed packages (and modules) named xrun_<name>: on the path Python started with, not
    # the folders of the experiment, its bases and mixins or the working directory, where an
    # `xrun_utils.py` is just a module of the experiment.
    own = {os.path.realpath(folder) for folder in (
        "", os.path.dirname(os.path.abspath(invocation["file"])) if invocation.get("file")
        else "")}
    for folder in _STARTUP_PATH:
        if os.path.realpath(folder or ".") in own:
            continue
        try:
            entries = [entry for entry in os.scandir(folder or ".")
                       if entry.name.startswith("xrun_")]
        except OSError:
            continue
        for entry in sorted(entries, key=lambda entry: entry.name):
            module_name, ext = os.path.splitext(entry.name)
            if entry.is_dir() and not ext and os.path.isfile(
                    os.path.join(entry.path, "__init__.py")):
                path = os.path.join(entry.path, "__init__.py")
            elif ext == ".py" and entry.is_file():
                path = entry.path
            else:
                continue
            if module_name in seen or not module_name.isidentifier():
                continue  # an earlier sys.path entry wins, as for import
            seen.add(module_name)
            found.append(_Plugin(module_name[len("xrun_"):], "package", path, module_name))
    plugins = {}
    for plugin in sorted(found, key=lambda p: _PLUGIN_ORDER[p.source]):
        hidden = plugins.get(plugin.name)
        if hidden is not None:
            plugin.shadows = hidden.shadows + [hidden.path]
        plugins[plugin.name] = plugin
    return plugins


def _plugin_choices(invocation: dict) -> list:
    """(name, enabled or None, settings, where) in order of precedence: XRUN_PLUGINS, then the
    config's `plugins:`, then --plugin/--no-plugin."""
    choices = []
    for word in os.environ.get("XRUN_PLUGINS", "").split(","):
        word = word.strip()
        if word:
            off = word.startswith("-")
            choices.append((word.lstrip("-").strip(), not off, {}, "XRUN_PLUGINS"))
    for choice in invocation.get("plugins") or []:
        choices.append((choice["name"], choice.get("enabled"), choice.get("settings") or {},
                        choice.get("where", "")))
    return choices


class _Plugins:
    """The plugins of this run: chosen, loaded, and called at each hook. A hook that raises is
    reported (terminal and log) and recorded in the run's meta; the run goes on."""

    def __init__(self, plugins: list):
        self.active = plugins

    @classmethod
    def choose(cls, invocation: dict) -> "_Plugins":
        """The plugins enabled for this run; UsageError for an unknown plugin or setting."""
        found = _discover_plugins(invocation)
        wanted = {}
        for name, enabled, settings, where in _plugin_choices(invocation):
            plugin = found.get(name)
            if plugin is None:
                raise UsageError(f"{where}: there is no plugin {_shown(repr(name))}"
                                 f"{_did_you_mean(name, found)} (xrun plugins list shows them)")
            state = wanted.setdefault(name, [None, {}, where])
            if enabled is not None:
                state[0] = enabled
            if settings:
                state[1].update(settings)
                state[2] = where
                if enabled is None:
                    state[0] = True  # settings given on the command line turn a plugin on
        active = []
        for name, plugin in found.items():
            enabled, settings, where = wanted.get(name, (None, {}, ""))
            if enabled is False or (enabled is None and not plugin.default_enabled()):
                continue
            plugin.load()
            if enabled is None and not plugin.default_enabled():
                continue  # ENABLED computed at import
            plugin.enabled = True
            plugin.settings = settings
            if plugin.module is not None:
                _check_plugin_settings(plugin, where)
            active.append(plugin)
        for plugin in active:
            if plugin.error:
                _report_plugin(plugin, "import", plugin.error)
        return cls(active)

    @classmethod
    def from_records(cls, records: list, given: dict) -> "_Plugins":
        """The plugins a run had, loaded again from their records (for the end of a run whose
        experiment process died); the values of secret settings, which the records do not
        hold, come from ``given`` (name -> the settings chosen for the run)."""
        plugins = []
        for record in records:
            plugin = _Plugin(record["name"], record["source"], record["path"], record["module"])
            plugin.settings = dict(record.get("settings") or {})
            for name in record.get("secret_settings") or []:
                if name in given.get(plugin.name, {}):
                    plugin.settings[name] = given[plugin.name][name]
            plugin.failures = list(record.get("failures") or [])
            if record.get("loaded"):
                plugin.load()
                if plugin.error:
                    _report_plugin(plugin, "import", plugin.error)
            else:
                plugin.error = record.get("error", "")
            plugins.append(plugin)
        return cls(plugins)

    def has(self, hook: str) -> bool:
        return any(hook in plugin.hooks for plugin in self.active)

    def fire(self, hook: str, **fields):
        """Calls every active plugin's ``hook`` function with a PluginEvent."""
        for plugin in self.active:
            func = getattr(plugin.module, hook, None) if plugin.module is not None else None
            if not callable(func) or hook in plugin.dropped:
                continue
            try:
                func(PluginEvent(hook, plugin, fields))
            except UsageError as error:
                if hook in ("before_parameters", "after_parameters"):
                    raise UsageError(f"plugin {plugin.name}: {error}") from None
                self._failed(plugin, hook, error)
            except KeyboardInterrupt:
                if hook == "after_end":  # the run is over: stop the plugins, not the run
                    self._failed(plugin, hook, KeyboardInterrupt("interrupted"))
                    return
                raise
            except BaseException as error:  # noqa: BLE001 - reported, never breaks the run
                self._failed(plugin, hook, error)

    @staticmethod
    def _failed(plugin: _Plugin, hook: str, error: BaseException):
        text = _plugin_error(error, plugin.path)
        if len(plugin.failures) < _PLUGIN_FAILURES_KEPT:
            plugin.failures.append({"hook": hook, "error": text})
        count = plugin.failed_calls[hook] = plugin.failed_calls.get(hook, 0) + 1
        _report_plugin(plugin, hook, text)
        if count == _PLUGIN_FAILURES_ALLOWED:  # e.g. on_track, raising at every call
            plugin.dropped.add(hook)
            _report_plugin(plugin, hook, f"failed {count} times; not called again in this run")

    def records(self) -> list:
        return [plugin.record() for plugin in self.active]


def _report_plugin(plugin: _Plugin, hook: str, text: str):
    """To the process's stderr (the terminal and the log) directly: a plugin may have closed
    or replaced sys.stderr."""
    _flush_output()
    what = "could not be loaded" if hook == "import" else f"failed in {hook}"
    try:
        os.write(2, f"{_prefix('warning')} plugin {plugin.name} {what}: {text}\n".encode(
            "utf-8", "replace"))
    except OSError:
        pass


def _check_plugin_settings(plugin: _Plugin, where: str):
    """Settings the plugin does not declare in its SETTINGS are bad input."""
    declared = getattr(plugin.module, "SETTINGS", None)
    if not isinstance(declared, dict):
        return
    for key in plugin.settings:
        if key not in declared:
            known = ", ".join(declared) or "none"
            raise UsageError(f"{where}: plugin {plugin.name} has no setting {_shown(repr(key))}"
                             f"{_did_you_mean(key, declared)} (its settings: {known})")


def _plugins_list(invocation: dict) -> int:
    """`xrun plugins list`: every plugin found, where, whether it loads, its hooks."""
    plugins = _discover_plugins(invocation)
    choices = {}
    for name, enabled, _, _ in _plugin_choices({}):
        choices[name] = enabled
    rows = []
    for name, plugin in sorted(plugins.items()):
        plugin.load()
        enabled = choices.get(name)
        if enabled is None:
            enabled = plugin.default_enabled()
        state = "error" if plugin.error else ("on" if enabled else "off")
        rows.append((name, state, plugin.source, ",".join(plugin.hooks) or "-", plugin))
    if invocation.get("json"):
        print(_dumps([dict(plugin.record(), enabled=state == "on",
                           description=_plugin_summary(plugin), shadows=plugin.shadows)
                      for name, state, _, _, plugin in rows], indent=2))
        return 0
    if not rows:
        print("no plugins found")
        return 0
    widths = [max(len(row[i]) for row in rows + [("NAME", "STATE", "SOURCE", "HOOKS")])
              for i in range(4)]
    print("  ".join(title.ljust(width) for title, width in
                    zip(("NAME", "STATE", "SOURCE", "HOOKS"), widths)) + "  DESCRIPTION")
    for name, state, source, hooks, plugin in rows:
        print("  ".join(text.ljust(width) for text, width in
                        zip((name, state, source, hooks), widths)) + "  " + _plugin_summary(plugin))
        print(f"    {plugin.path}")
        for hidden in plugin.shadows:
            print(f"    (hides {hidden})")
        if plugin.error:
            print(f"    error: {plugin.error}")
    return 0


def _plugin_summary(plugin: _Plugin) -> str:
    doc = (getattr(plugin.module, "__doc__", None) or "").strip()
    return doc.split("\n")[0] if doc else ""


