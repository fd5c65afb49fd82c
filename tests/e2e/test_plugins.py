"""Plugins: discovery, choice per run, every hook, failures that never break a run, and the
built-in plot_track and notify."""

import json
import struct
import unittest

from support import Workspace, experiment_source

SPY = '''
"""Writes every hook it sees, with what it received, to the file in SPY_LOG."""
import json
import os


def _log(event, **fields):
    with open(os.environ["SPY_LOG"], "a") as handle:
        handle.write(json.dumps(dict(hook=event.hook, plugin=event.plugin, **fields)) + "\\n")


def before_parameters(event):
    _log(event, N=event.experiment.N, path=event.experiment.path)

def after_parameters(event):
    _log(event, N=event.experiment.N)

def after_folder(event):
    meta = json.load(open(os.path.join(event.path, "experiment_meta.json")))
    _log(event, status=meta["status"], code=os.path.isfile(
        os.path.join(event.path, "experiment_code.py")))

def before_run(event):
    _log(event)

def after_run(event):
    _log(event)

def on_failure(event):
    _log(event, status=event.status, error=type(event.error).__name__)

def on_track(event):
    _log(event, name=event.name, value=event.value)

def on_commit(event):
    _log(event, name=event.name, exists=os.path.isfile(event.file))

def after_end(event):
    _log(event, status=event.status, error_type=event.error_type, name=event.name,
         N=event.parameters["N"], data=event.data, tracked=event.tracked,
         experiment=event.experiment is not None, settings=event.settings)
'''

EXPERIMENT = experiment_source('''
    import os
    import signal
    import time
    N: int = 3
    END: str = "done"
    ''', '''
    for i in range(N):
        e.track("loss", 1.0 / (i + 1))
    e["result"] = N * 2
    e.commit_raw("notes.txt", "written")
    if END == "fail":
        raise ValueError("it broke")
    if END == "interrupt":
        raise KeyboardInterrupt
    if END == "kill":
        time.sleep(0.6)  # the tracked values reach their file at most 0.2 s after track()
        os.kill(os.getpid(), signal.SIGKILL)
    ''')


class Plugins(Workspace):
    def setUp(self):
        super().setUp()
        self.spy_log = self.dir / "spy.jsonl"
        self.user_plugins = self.dir / ".config" / "xrun" / "plugins"

    def env(self, **extra):
        env = super().env(SPY_LOG=str(self.spy_log))
        env.pop("XRUN_PLUGINS")  # the plugins as a user has them
        env.update(extra)
        return env

    def add_plugin(self, name, source):
        self.user_plugins.mkdir(parents=True, exist_ok=True)
        (self.user_plugins / f"{name}.py").write_text(source)

    def spied(self):
        lines = self.spy_log.read_text().splitlines() if self.spy_log.exists() else []
        self.spy_log.unlink(missing_ok=True)
        return [json.loads(line) for line in lines]

    def test_every_hook_fires_in_order_with_its_fields(self):
        self.add_plugin("spy", SPY)
        self.write("exp.py", EXPERIMENT)
        # A module of the experiment's own folder is not an installed plugin package.
        self.write("xrun_helpers.py", "raise RuntimeError('imported as a plugin')\n")
        result = self.xrun("run", "exp.py", "--N", "2", "--no-plugin", "plot_track")
        self.assertEqual(result.returncode, 0, result.stderr)
        events = self.spied()
        self.assertEqual([e["hook"] for e in events],
                         ["before_parameters", "after_parameters", "after_folder", "before_run",
                          "on_track", "on_track", "on_commit", "after_run", "after_end"])
        self.assertEqual(events[0]["N"], 3)  # before the command line is applied
        self.assertIsNone(events[0]["path"])
        self.assertEqual(events[1]["N"], 2)
        self.assertEqual(events[2], {"hook": "after_folder", "plugin": "spy",
                                     "status": "running", "code": True})
        self.assertEqual(events[4]["name"], "loss")
        self.assertEqual(events[5]["value"], 0.5)
        self.assertEqual(events[6], {"hook": "on_commit", "plugin": "spy", "name": "notes.txt",
                                     "exists": True})
        end = events[-1]
        self.assertEqual((end["status"], end["error_type"], end["name"], end["N"]),
                         ("done", "", "exp", 2))
        self.assertEqual(end["data"], {"result": 4})
        self.assertEqual(end["tracked"], ["loss"])
        self.assertTrue(end["experiment"])
        run = self.only_run("results/exp")
        records = {p["name"]: p for p in self.meta(run)["plugins"]}
        self.assertEqual(sorted(records), ["spy"])
        self.assertEqual(records["spy"]["source"], "user")
        self.assertTrue(records["spy"]["loaded"])
        self.assertNotIn("failures", records["spy"])
        self.assertIn("after_end", records["spy"]["hooks"])

    def test_failure_and_interrupt_reach_on_failure_and_after_end(self):
        self.add_plugin("spy", SPY)
        self.write("exp.py", EXPERIMENT)
        failed = self.xrun("run", "exp.py", "--END", "fail")
        self.assertEqual(failed.returncode, 1, failed.stderr)
        events = self.spied()
        hooks = [e["hook"] for e in events]
        self.assertNotIn("after_run", hooks)
        self.assertEqual(hooks[-2:], ["on_failure", "after_end"])
        self.assertEqual(events[-2]["status"], "failed")
        self.assertEqual(events[-2]["error"], "ValueError")
        self.assertEqual((events[-1]["status"], events[-1]["error_type"]), ("failed", "ValueError"))
        # The traceback is reported before the plugins' last word.
        self.assertLess(failed.stderr.index("ValueError: it broke"),
                        failed.stderr.index("xrun: run failed"))

        interrupted = self.xrun("run", "exp.py", "--END", "interrupt")
        self.assertEqual(interrupted.returncode, 130, interrupted.stderr)
        events = self.spied()
        self.assertEqual(events[-2]["status"], "interrupted")
        self.assertEqual(events[-1]["status"], "interrupted")

    def test_a_killed_run_gets_its_after_end_from_the_supervisor(self):
        self.add_plugin("spy", SPY)
        self.write("exp.py", EXPERIMENT)
        notes = self.dir / "notes.tsv"
        result = self.xrun("run", "exp.py", "--END", "kill", "--plugin", f"notify:file={notes}")
        self.assertEqual(result.returncode, 137, result.stderr)
        end = self.spied()[-1]
        self.assertEqual(end["hook"], "after_end")
        self.assertEqual((end["status"], end["error_type"]), ("killed", "SIGKILL"))
        self.assertFalse(end["experiment"])  # a new process: the experiment object is gone
        self.assertEqual(end["tracked"], ["loss"])
        self.assertEqual(end["N"], 3)
        run = self.only_run("results/exp")
        self.assertEqual(self.meta(run)["status"], "killed")
        self.assertTrue((run / "plots" / "loss.png").is_file(), result.stderr)
        line = notes.read_text().splitlines()
        self.assertEqual(len(line), 1)
        fields = line[0].split("\t")
        self.assertEqual(fields[1:3], ["killed", "exp"])
        self.assertEqual(fields[4], str(run))
        self.assertIn("plot_track: 1 plot", self.log(run))

    def test_broken_plugins_are_reported_and_never_break_the_run(self):
        self.add_plugin("broken_import", "import a_module_that_does_not_exist\n")
        self.add_plugin("raises", '''
def before_run(event):
    raise RuntimeError("before_run went wrong")

def on_track(event):
    raise ValueError(f"cannot take {event.name}")

def after_end(event):
    raise SystemExit(3)
''')
        self.write("exp.py", EXPERIMENT)
        result = self.xrun("run", "exp.py", "--no-plugin", "plot_track")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/exp")
        meta = self.meta(run)
        self.assertEqual(meta["status"], "done")
        self.assertEqual(self.data(run), {"result": 6})
        self.assertEqual((run / ".track" / "loss.csv").read_text().count("\n"), 4)
        for text in (result.stderr, self.log(run)):
            self.assertIn("xrun: warning: plugin broken_import could not be loaded: "
                          "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'",
                          text)
            self.assertIn("xrun: warning: plugin raises failed in before_run: RuntimeError: "
                          "before_run went wrong", text)
            self.assertIn("plugin raises failed in on_track: ValueError: cannot take loss", text)
            self.assertIn("plugin raises failed in after_end: SystemExit: 3", text)
        records = {p["name"]: p for p in meta["plugins"]}
        self.assertFalse(records["broken_import"]["loaded"])
        self.assertIn("ModuleNotFoundError", records["broken_import"]["error"])
        failed_hooks = [f["hook"] for f in records["raises"]["failures"]]
        self.assertEqual(failed_hooks, ["before_run", "on_track", "on_track", "on_track",
                                        "after_end"])

    def test_nothing_a_plugin_does_after_the_run_changes_its_record(self):
        self.add_plugin("spy", SPY)
        self.add_plugin("zz_exits", "import os\ndef after_end(event):\n    os._exit(1)\n")
        self.write("exp.py", EXPERIMENT)
        result = self.xrun("run", "exp.py", "--no-plugin", "plot_track")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/exp")
        self.assertEqual((self.meta(run)["status"], self.meta(run)["exit_code"]), ("done", 0))
        # The process ran its after_end hooks (and died in one): not run a second time.
        self.assertEqual([e["hook"] for e in self.spied()].count("after_end"), 1)

    def test_plugins_that_misbehave_are_contained(self):
        self.add_plugin("closes", (
            "import sys\n"
            "def before_run(event):\n"
            "    sys.stderr.close()\n"
            "    raise RuntimeError('after closing stderr')\n"
            "def after_run(event):\n"
            "    sys.stdout = None\n"
            "def on_track(event):\n"
            "    raise ValueError('every time')\n"))
        # Off by default: never imported (its import would end the process).
        self.add_plugin("off", "import os\nENABLED = False\nos._exit(0)\n")
        self.write("exp.py", EXPERIMENT)
        result = self.xrun("run", "exp.py", "--N", "50", "--no-plugin", "plot_track")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("plugin closes failed in before_run: RuntimeError: after closing stderr",
                      result.stderr)
        # A hook failing at every call is reported a few times, then no longer called.
        self.assertEqual(result.stderr.count("plugin closes failed in on_track"), 6)
        self.assertIn("failed 5 times; not called again in this run", result.stderr)
        run = self.only_run("results/exp")
        self.assertEqual(self.meta(run)["status"], "done")
        self.assertEqual(self.data(run), {"result": 100})
        self.assertNotIn("off", [p["name"] for p in self.meta(run)["plugins"]])

    def test_modules_beside_a_base_experiment_are_not_plugins(self):
        self.write("base/base.py", EXPERIMENT)
        self.write("base/xrun_utils.py", "def before_run(event):\n    raise SystemExit(5)\n")
        self.write("exps/child.py", "from xrun import Experiment, folder_path\n"
                   "experiment = Experiment.extend('../base/base.py', folder_path(__file__), "
                   "'results/child', globals())\nexperiment.run_if_main()\n")
        result = self.xrun("run", "exps/child.py", "--no-plugin", "plot_track")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("plugin", result.stderr)

    def test_plot_track_draws_every_numeric_series(self):
        self.write("exp.py", experiment_source('''
            import math
            ''', '''
            for i in range(6000):
                e.track("train/loss", math.exp(-i / 500) + 0.01 * math.sin(i))
            for i in range(10):
                e.track("acc", float("nan") if i == 3 else i / 10)
            e.track("flat", 1.0)
            '''))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("plot_track: 3 plots in plots/", result.stdout)
        run = self.only_run("results/exp")
        for name in ("train/loss", "acc", "flat"):
            png = (run / "plots" / f"{name}.png").read_bytes()
            self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n", name)
            width, height = struct.unpack(">II", png[16:24])
            self.assertEqual((width, height), (800, 450), name)
        plot_track = [p for p in self.meta(run)["plugins"] if p["name"] == "plot_track"][0]
        self.assertEqual(plot_track["source"], "builtin")
        self.assertNotIn("failures", plot_track)
        # Settings: another folder and resolution.
        self.xrun("run", "exp.py", "--plugin", "plot_track:folder=figures",
                  "--plugin", "plot_track:dpi=50")
        newest = self.runs("results/exp")[-1]
        png = (newest / "figures" / "acc.png").read_bytes()
        self.assertEqual(struct.unpack(">II", png[16:24]), (400, 225))

    def test_plot_track_reports_a_missing_matplotlib(self):
        self.write("fake/matplotlib/__init__.py", "raise ImportError('hidden for the test')\n")
        self.write("exp.py", experiment_source("", 'e.track("loss", 1.0)'))
        result = self.xrun("run", "exp.py", env=self.env(PYTHONPATH=str(self.dir / "fake")))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("xrun: warning: plugin plot_track failed in after_end: RuntimeError: "
                      "matplotlib is not installed", result.stderr)
        run = self.only_run("results/exp")
        self.assertEqual(self.meta(run)["status"], "done")
        plot_track = [p for p in self.meta(run)["plugins"] if p["name"] == "plot_track"][0]
        self.assertEqual(plot_track["failures"][0]["hook"], "after_end")
        self.assertFalse((run / "plots").exists())

    def test_notify_appends_a_line_and_runs_a_command(self):
        self.write("exp.py", EXPERIMENT)
        notes = self.dir / "logs" / "runs.tsv"
        command = f'echo "$1 $XRUN_NAME $XRUN_ERROR" >> {self.dir}/said.txt'
        result = self.xrun("run", "exp.py", "--END", "fail", "--plugin", f"notify:file={notes}",
                           "--plugin", f"notify:command={command}")
        self.assertEqual(result.returncode, 1, result.stderr)
        run = self.only_run("results/exp")
        fields = notes.read_text().rstrip("\n").split("\t")
        self.assertEqual(fields[1:3], ["failed", "exp"])
        self.assertEqual(fields[4:], [str(run), "ValueError: it broke"])
        self.assertEqual((self.dir / "said.txt").read_text(), "failed exp ValueError: it broke\n")
        # `when` picks the statuses; the environment can name the file.
        env = self.env(XRUN_NOTIFY_FILE=str(notes))
        self.assertEqual(self.xrun("run", "exp.py", "--plugin", "notify:when=failed,killed",
                                   env=env).returncode, 0)
        self.assertEqual(len(notes.read_text().splitlines()), 1)
        self.assertEqual(self.xrun("run", "exp.py", "--plugin", "notify", env=env).returncode, 0)
        self.assertEqual(notes.read_text().splitlines()[-1].split("\t")[1], "done")
        # A failing command is reported, the run stays done.
        result = self.xrun("run", "exp.py", "--plugin", "notify:command=exit 4")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("plugin notify failed in after_end: RuntimeError: the command exited "
                      "with code 4", result.stderr)

    def test_secret_settings_reach_the_plugin_but_not_the_record(self):
        self.add_plugin("spy", "SECRET_SETTINGS = ['webhook']\n" + SPY)
        self.write("exp.py", EXPERIMENT)
        said = self.dir / "said.txt"
        command = f"echo TOKEN-1 $1 >> {said}"
        for end, code in [("done", 0), ("kill", 137)]:  # the killed run: the supervisor's hooks
            with self.subTest(end=end):
                said.unlink(missing_ok=True)
                result = self.xrun("run", "exp.py", "--END", end,
                                   "--plugin", f"notify:command={command}",
                                   "--plugin=spy:api_token=TOKEN-2", "--plugin",
                                   "spy:webhook=https://hooks.example/TOKEN-3",
                                   "--plugin", "spy:channel=general")
                self.assertEqual(result.returncode, code, result.stderr)
                status = "done" if end == "done" else "killed"
                self.assertEqual(said.read_text(), f"TOKEN-1 {status}\n")
                settings = self.spied()[-1]["settings"]
                self.assertEqual(settings, {"api_token": "TOKEN-2", "channel": "general",
                                            "webhook": "https://hooks.example/TOKEN-3"})
                run = self.runs("results/exp")[-1]
                meta = self.meta(run)
                records = {plugin["name"]: plugin for plugin in meta["plugins"]}
                self.assertEqual(records["notify"]["settings"], {"command": "<redacted>"})
                self.assertEqual(records["spy"]["settings"],
                                 {"api_token": "<redacted>", "channel": "general",
                                  "webhook": "<redacted>"})
                self.assertEqual(records["spy"]["secret_settings"], ["api_token", "webhook"])
                self.assertIn("--plugin=spy:api_token=<redacted>", meta["command_line"])
                self.assertIn("spy:channel=general", meta["command_line"])
                for file in run.rglob("*"):
                    if file.is_file():
                        self.assertNotIn(b"TOKEN-", file.read_bytes(), file)

    def test_notify_without_a_target_is_bad_input(self):
        self.write("exp.py", EXPERIMENT)
        result = self.xrun("run", "exp.py", "--plugin", "notify")
        self.assertUsageError(result, "plugin notify: nothing to notify")
        self.assertNoRunFolder()

    def test_choosing_plugins(self):
        self.add_plugin("spy", SPY)
        self.write("exp.py", EXPERIMENT)
        # Unknown plugins and settings are bad input, named where they were given.
        self.assertUsageError(self.xrun("run", "exp.py", "--plugin", "notfy"),
                              "--plugin notfy: there is no plugin 'notfy'; did you mean notify?")
        self.assertUsageError(self.xrun("run", "--plugin", "notify:fil=x", "exp.py"),
                              "plugin notify has no setting 'fil'; did you mean file?")
        self.assertUsageError(self.xrun("run", "exp.py", "--plugin", "plot track"),
                              "'plot track' is not a plugin name")
        self.assertUsageError(self.xrun("run", "exp.py", "--no-plugin", "spy:x=1"),
                              "NAME:SETTING=VALUE")
        self.assertUsageError(self.xrun("run", "exp.py", "--plugin"), "--plugin")
        self.assertNoRunFolder()
        self.assertEqual(self.spied(), [])
        # Off by --no-plugin (before or after the file), or by XRUN_PLUGINS.
        self.assertEqual(self.xrun("run", "--no-plugin", "spy", "exp.py",
                                   "--no-plugin=plot_track").returncode, 0)
        self.assertEqual(self.spied(), [])
        self.assertFalse((self.runs("results/exp")[-1] / "plots").exists())
        env = self.env(XRUN_PLUGINS="-spy, -plot_track")
        self.assertEqual(self.xrun("run", "exp.py", env=env).returncode, 0)
        self.assertEqual(self.spied(), [])
        # The command line wins over the environment; a later flag over an earlier one.
        self.assertEqual(self.xrun("run", "exp.py", "--plugin", "spy", env=env).returncode, 0)
        self.assertEqual(self.spied()[-1]["hook"], "after_end")
        for order, on in ((("--no-plugin", "spy", "--plugin", "spy"), True),
                          (("--plugin", "spy", "--no-plugin", "spy"), False)):
            for args in (["run", *order, "exp.py"], ["run", "exp.py", *order]):
                self.assertEqual(self.xrun(*args, env=env).returncode, 0)
                self.assertEqual(bool(self.spied()), on, args)

    def test_a_config_chooses_plugins_and_keeps_the_choice(self):
        self.add_plugin("spy", SPY)
        self.write("exp.py", EXPERIMENT)
        self.write("base.yml", "extend: exp.py\nplugins:\n  spy: {tag: base, other: 1}\n")
        self.write("top.yml", "extend: base.yml\nplugins:\n  spy: {tag: top}\n"
                              "  plot_track: false\n")
        result = self.xrun("run", "top.yml")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.spied()[-1]["settings"], {"tag": "top", "other": 1})
        run = self.only_run("results/top")
        self.assertFalse((run / "plots").exists())
        kept = (run / "experiment_config.yml").read_text()
        self.assertIn("plugins:\n  spy: {other: 1, tag: top}\n  plot_track: false\n", kept)
        # The command line wins over the config.
        self.assertEqual(self.xrun("run", "top.yml", "--no-plugin", "spy").returncode, 0)
        self.assertEqual(self.spied(), [])
        # A reproduction keeps the recorded choice.
        self.assertEqual(self.xrun("reproduce", str(run)).returncode, 0)
        self.assertEqual(self.spied()[-1]["settings"], {"tag": "top", "other": 1})
        # Off in between, on again: the settings given before still hold.
        self.write("mid.yml", "extend: base.yml\nplugins:\n  spy: false\n")
        self.write("again.yml", "extend: mid.yml\nplugins:\n  spy: true\n")
        self.assertEqual(self.xrun("run", "again.yml").returncode, 0)
        self.assertEqual(self.spied()[-1]["settings"], {"tag": "base", "other": 1})
        self.assertIn("spy: {other: 1, tag: base}",
                      (self.only_run("results/again") / "experiment_config.yml").read_text())
        # Wrong shapes and names are located.
        self.write("bad.yml", "extend: exp.py\nplugins:\n  spy: [1, 2]\n")
        self.assertUsageError(self.xrun("run", "bad.yml"), "bad.yml:3:8",
                              "plugin spy must be true, false or a mapping")
        self.write("unknown.yml", "extend: exp.py\nplugins:\n  plot_trak: true\n")
        self.assertUsageError(self.xrun("run", "unknown.yml"), "unknown.yml:3:3",
                              "there is no plugin 'plot_trak'; did you mean plot_track?")

    def test_plugins_list_shows_every_source_and_load_errors(self):
        self.add_plugin("spy", SPY)
        self.add_plugin("broken", "raise RuntimeError('cannot start')\n")
        self.add_plugin("plot_track", '"""My own plots."""\ndef after_end(event):\n    pass\n')
        self.write("site/xrun_demo/__init__.py",
                   '"""A plugin from an installed package."""\nENABLED = False\n'
                   'def on_track(event):\n    pass\n')
        env = self.env(PYTHONPATH=str(self.dir / "site"))
        result = self.xrun("plugins", "list", env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = {line.split()[0]: line.split()[1:4] for line in result.stdout.splitlines()
                if line and not line.startswith(" ") and not line.startswith("NAME")}
        self.assertEqual(rows["notify"], ["off", "builtin", "after_parameters,after_end"])
        self.assertEqual(rows["demo"], ["off", "package", "on_track"])
        self.assertEqual(rows["spy"][:2], ["on", "user"])
        self.assertEqual(rows["broken"], ["error", "user", "-"])
        self.assertEqual(rows["plot_track"], ["on", "user", "after_end"])
        self.assertIn("error: RuntimeError: cannot start", result.stdout)
        self.assertIn("(hides ", result.stdout)
        records = {r["name"]: r for r in json.loads(
            self.xrun("plugins", "list", "--json", env=env).stdout)}
        self.assertEqual(records["plot_track"]["description"], "My own plots.")
        self.assertTrue(records["plot_track"]["shadows"][0].endswith("plot_track.py"))
        self.assertFalse(records["broken"]["loaded"])
        self.assertFalse(records["demo"]["enabled"])
        # XRUN_PLUGINS shows in the states.
        env["XRUN_PLUGINS"] = "demo,-spy"
        rows = {line.split()[0]: line.split()[1] for line in
                self.xrun("plugins", "list", env=env).stdout.splitlines()
                if line and not line.startswith((" ", "NAME"))}
        self.assertEqual((rows["demo"], rows["spy"]), ("on", "off"))


if __name__ == "__main__":
    unittest.main()
