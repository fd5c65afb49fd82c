"""Tracked series through `xrun run`: log() and track() steps and stages, the series file's
columns, the summary and the primary metric (also after a SIGKILL), refused input."""

import json
import os
import shutil
import signal
import subprocess
import time

from support import SOURCE_DIR, Workspace, experiment_source

TRY = """
def attempt(call):
    try:
        call()
    except Exception as error:
        print(f"refused: {type(error).__name__}: {error}", flush=True)
"""


class Tracking(Workspace):
    def run_experiment(self, body, parameters="import _xrun\n"):
        self.write("exp.py", experiment_source(parameters, body, TRY))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/exp")
        self.assertEqual(self.meta(run)["status"], "done")
        return run

    @staticmethod
    def series(run, name):
        """(step, value, stage) of every line, after checking the header."""
        lines = (run / ".track" / f"{name}.csv").read_text().splitlines()
        assert lines[0] == "step,value,time,stage", lines[0]
        rows = [line.split(",") for line in lines[1:]]
        assert all(len(row) == 4 and float(row[2]) > 1e9 for row in rows), rows
        return [(int(row[0]), float(row[1]), row[3]) for row in rows]

    def test_log_and_track_steps(self):
        run = self.run_experiment("""
            _xrun.log({"loss": 1.0})                 # step 0: the first log()
            _xrun.log({"loss": 0.9}, acc=0.5)        # step 1; a keyword is a metric too
            _xrun.log({"loss": 0.8}, step=10)        # given
            _xrun.log({"loss": 0.7}, step=4)         # lower: kept
            _xrun.log({"loss": 0.6}, step=4)         # repeated: kept
            _xrun.log(loss=0.5)                      # one more than the last log(): 5
            e.track("loss", 0.4)                     # one more than the series' last: 6
            e.track("loss", 0.3)                     # 7
            e.track("other", 2)                      # a series of its own: 0
            _xrun.log({"loss": 0.2, "other": 3})     # log()'s counter: 6, for both
            e.track("other", 4)                      # 7
            """)
        self.assertEqual([(s, v) for s, v, _ in self.series(run, "loss")],
                         [(0, 1.0), (1, 0.9), (10, 0.8), (4, 0.7), (4, 0.6), (5, 0.5), (6, 0.4),
                          (7, 0.3), (6, 0.2)])
        self.assertEqual([(s, v) for s, v, _ in self.series(run, "acc")], [(1, 0.5)])
        self.assertEqual([(s, v) for s, v, _ in self.series(run, "other")],
                         [(0, 2.0), (6, 3.0), (7, 4.0)])
        self.assertEqual(self.meta(run)["tracked"], ["loss", "acc", "other"])

    def test_many_metrics_in_one_call(self):
        run = self.run_experiment("""
            _xrun.log({f"m{i}": float(i) for i in range(20)}, stage="s",
                      **{f"k{i}": i for i in range(5)})
            _xrun.log({f"m{i}": 2.0 * i for i in range(20)})
            """)
        for i in range(20):
            self.assertEqual(self.series(run, f"m{i}"), [(0, float(i), "s"), (1, 2.0 * i, "")])
        for i in range(5):
            self.assertEqual(self.series(run, f"k{i}"), [(0, float(i), "s")])

    def test_numpy_values_and_steps_and_nested_names(self):
        run = self.run_experiment("""
            _xrun.log({"train/loss": np.float32(0.5), "count": np.int64(3)}, step=np.int64(7))
            e.track("train/loss", np.float64(0.25))
            """, parameters="import _xrun\nimport numpy as np\n")
        self.assertEqual(self.series(run, "train/loss"), [(7, 0.5, ""), (8, 0.25, "")])
        self.assertEqual(self.series(run, "count"), [(7, 3.0, "")])

    def test_the_stage_column(self):
        run = self.run_experiment("""
            _xrun.log({"loss": 1.0}, stage="train")
            _xrun.log({"loss": 2.0}, 5, "val")
            e.track("loss", 3.0)
            attempt(lambda: _xrun.log({"loss": 9.0}, stage="a,b"))
            attempt(lambda: _xrun.log({"loss": 9.0}, stage=3))
            _xrun.log({"loss": 4.0}, stage="test set")
            """)
        self.assertEqual(self.series(run, "loss"),
                         [(0, 1.0, "train"), (5, 2.0, "val"), (6, 3.0, ""), (6, 4.0, "test set")])
        log = self.log(run)
        self.assertIn("refused: ValueError: log(): stage 'a,b' cannot hold a comma", log)
        self.assertIn("refused: TypeError: log(): stage takes a string, not 3 (int)", log)

    def test_refused_input_names_the_value_and_the_run_goes_on(self):
        run = self.run_experiment("""
            _xrun.log({"loss": 1.0})
            attempt(lambda: _xrun.log({"loss": 2.0, "acc": "high"}))
            attempt(lambda: _xrun.log({"loss": 2.0}, flag=True))
            attempt(lambda: _xrun.log({"loss": 2.0}, step=1.5))
            attempt(lambda: _xrun.log([1.0]))
            attempt(lambda: _xrun.log({3: 1.0}))
            attempt(lambda: _xrun.log({"../up": 1.0}))
            attempt(lambda: _xrun.log({"big": 10**400}))
            attempt(lambda: _xrun.log({"loss": 2.0}, step=10**30))
            attempt(lambda: e.track(["loss"], 2.0))
            _xrun.log()                              # nothing: not a step either
            attempt(lambda: e.track("loss", "low"))
            attempt(lambda: _xrun.set_primary("loss", "avg"))
            attempt(lambda: _xrun.summary_update({"model": object}))
            attempt(lambda: _xrun.summary_update([1]))
            _xrun.log({"loss": 3.0})
            e["after"] = True
            """)
        # A refused call records nothing, not even its good values.
        self.assertEqual(self.series(run, "loss"), [(0, 1.0, ""), (1, 3.0, "")])
        self.assertFalse((run / ".track" / "acc.csv").exists())
        self.assertEqual(self.data(run), {"after": True})
        log = self.log(run)
        for message in [
                "TypeError: log(): the metric 'acc' takes a number, not 'high' (str)",
                "TypeError: log(): the metric 'flag' takes a number, not True (bool)",
                "TypeError: log(): step takes an int, not 1.5 (float)",
                "TypeError: log() takes a dict of metrics, not [1.0] (list)",
                "TypeError: log(): metric names are strings, not 3",
                "ValueError: a tracked series needs a name like 'train/loss', not '../up'",
                "ValueError: log(): the metric 'big' has no float value (int too large to "
                "convert to float): 1000",
                "ValueError: log(): step 1000000000000000000000000000000 is out of range",
                "ValueError: a tracked series needs a name like 'train/loss', not ['loss']",
                "TypeError: track('loss', ...) takes numbers or figures, not 'low' (str)",
                "ValueError: the primary metric's mode is 'max' or 'min', not 'avg'",
                "TypeError: summary 'model': summary values are plain JSON",
                "TypeError: summary() takes a dict, not [1]"]:
            self.assertIn("refused: " + message, log)
        self.assertFalse((run / "experiment_summary.json").exists())

    def test_summary_merges_and_the_primary_metric_keeps_its_best(self):
        run = self.run_experiment("""
            _xrun.summary_update({"test_acc": 0.5, "notes": {"a": 1}})
            _xrun.set_primary("val/acc", "max")
            for step, acc in enumerate([0.2, 0.7, float("nan"), 0.6, 0.7]):
                _xrun.log({"val/acc": acc, "loss": 1 - acc})
            _xrun.summary_update({"test_acc": 0.91, "epochs": np.int64(5),
                                  "curve": np.arange(3)})
            """, parameters="import _xrun\nimport numpy as np\n")
        saved = json.loads((run / "experiment_summary.json").read_text())
        self.assertEqual(saved["summary"], {"test_acc": 0.91, "notes": {"a": 1}, "epochs": 5,
                                            "curve": [0, 1, 2]})
        primary = saved["primary_metric"]
        self.assertEqual((primary["name"], primary["mode"], primary["best"], primary["step"]),
                         ("val/acc", "max", 0.7, 1))  # the first of two equal bests counts
        self.assertGreater(primary["time"], self.meta(run)["start_time"] - 1)

    def test_a_primary_metric_without_values_and_one_to_minimise(self):
        run = self.run_experiment("""
            _xrun.set_primary("loss", "min")
            """)
        saved = json.loads((run / "experiment_summary.json").read_text())
        self.assertEqual(saved, {"summary": {}, "primary_metric": {
            "name": "loss", "mode": "min", "best": None, "step": None, "time": None}})
        self.write("exp.py", experiment_source("import _xrun\n", """
            _xrun.set_primary("loss", "min")
            for loss in [3.0, 1.0, 2.0]:
                e.track("loss", loss)
            """))
        shutil.rmtree(self.dir / "results")
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        saved = json.loads((self.only_run("results/exp") / "experiment_summary.json").read_text())
        self.assertEqual((saved["primary_metric"]["best"], saved["primary_metric"]["step"]),
                         (1.0, 1))

    def test_a_primary_metric_set_late_counts_the_values_given_before(self):
        run = self.run_experiment("""
            for acc in [0.2, 0.9, float("nan"), 0.4]:
                _xrun.log({"val/acc": acc, "loss": 1 - acc})
            _xrun.set_primary("val/acc", "max")
            _xrun.log({"val/acc": 0.5, "loss": 0.5})
            """)
        primary = json.loads((run / "experiment_summary.json").read_text())["primary_metric"]
        self.assertEqual((primary["name"], primary["best"], primary["step"]), ("val/acc", 0.9, 1))
        self.assertGreater(primary["time"], self.meta(run)["start_time"] - 1)

    def test_a_series_file_with_three_columns_is_continued_as_such(self):
        run = self.run_experiment("""
            import os
            os.makedirs(os.path.join(e.path, ".track"))
            with open(os.path.join(e.path, ".track", "old.csv"), "w") as handle:
                handle.write("step,value,time\\n0,1,1700000000.000\\n")
            e.track("old", 2.0)
            """)
        lines = (run / ".track" / "old.csv").read_text().splitlines()
        self.assertEqual(lines[:2], ["step,value,time", "0,1,1700000000.000"])
        self.assertEqual(len(lines), 3)
        self.assertEqual(lines[2].split(",")[:2], ["0", "2"])
        self.assertEqual(len(lines[2].split(",")), 3)
        shown = self.xrun("archive", "show", run)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("2 points", shown.stdout)

    def test_a_forked_process_is_told_its_points_are_not_recorded(self):
        run = self.run_experiment("""
            import os
            _xrun.log({"loss": 1.0})
            pid = os.fork()
            if pid == 0:
                attempt(lambda: _xrun.log({"loss": 9.0}))
                os._exit(0)
            os.waitpid(pid, 0)
            _xrun.log({"loss": 2.0})
            """)
        self.assertEqual(self.series(run, "loss"), [(0, 1.0, ""), (1, 2.0, "")])
        self.assertIn("refused: RuntimeError: log() records values in the run's own process, "
                      "not in a process it forked", self.log(run))

    def test_the_analysis_template_shows_the_summary_and_the_stages(self):
        run = self.run_experiment("""
            _xrun.summary_update({"test_acc": 0.91})
            _xrun.log({"loss": 1.0}, stage="train")
            _xrun.log({"loss": 0.5}, stage="val")
            """, parameters="try:\n    import _xrun\nexcept ImportError:  # loaded by the "
                            "analysis\n    pass\n")
        with open(run / ".track" / "loss.csv", "a") as series:
            series.write("2,0.2")  # a line cut short by a kill
        made = self.xrun("template", "analysis", run, "--dir", self.dir / "scripts")
        self.assertEqual(made.returncode, 0, made.stderr)
        script = next((self.dir / "scripts").glob("analysis_*.py"))
        env = self.env(PYTHONPATH=self.xrun("python-path").stdout.strip())
        analysis = subprocess.run(["/usr/bin/python3", str(script)], cwd=self.dir,
                                  capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(analysis.returncode, 0, analysis.stderr)
        self.assertIn('"test_acc": 0.91', analysis.stdout)
        self.assertIn("loss: 2 values, last 0.5, min 0.5, max 1, stages train, val",
                      analysis.stdout)

    def test_the_plot_plugin_reads_both_formats_and_skips_a_cut_line(self):
        import importlib.util
        spec = importlib.util.spec_from_file_location("plot_track",
                                                      SOURCE_DIR / "plugins" / "plot_track.py")
        plot_track = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(plot_track)
        old = self.write("old.csv", "step,value,time\n0,1,1.000\n1,nan,2.000\n")
        new = self.write("new.csv", "step,value,time,stage\n0,1,1.000,train\n3,2,2.000,\n"
                                    "4,0.12")
        self.assertEqual(plot_track._read(old), ([0], [1.0], 1))
        self.assertEqual(plot_track._read(new), ([0, 3], [1.0, 2.0], 0))


class Durability(Workspace):
    def test_sigkill_keeps_whole_lines_the_summary_and_the_best(self):
        shutil.copy(SOURCE_DIR / "bench" / "durability_experiment.py", self.dir / "exp.py")
        points = 100_000
        process = self.start("run", "exp.py", "--POINTS", points, "--KILL", "True",
                             "--PAUSE", "0.001")
        progress = {}

        def read_progress():
            runs = self.runs("results/durability")
            if not runs or not (runs[0] / "progress.txt").exists():
                return False
            for line in (runs[0] / "progress.txt").read_text().splitlines():
                first, second = line.split()
                progress[first] = float(second) if first != "pid" else int(second)
            return any(first != "pid" and int(first) >= points for first in progress)

        self.wait_for(read_progress, timeout=60, what="the first points")
        owed = max(int(first) for first in progress if first != "pid")
        time.sleep(3)  # generous: the writer has had many ticks since
        os.kill(progress["pid"], signal.SIGKILL)
        process.communicate(timeout=60)
        run = self.only_run("results/durability")
        self.assertEqual(self.meta(run)["status"], "killed")
        text = (run / ".track" / "x.csv").read_text()
        body = text[:text.rfind("\n") + 1].splitlines()
        self.assertEqual(body[0], "step,value,time,stage")
        for step, line in enumerate(body[1:]):  # whole lines, in order, nothing lost between
            fields = line.split(",")
            self.assertEqual((len(fields), int(fields[0]), float(fields[1]), fields[3]),
                             (4, step, float(step), "train"))
        self.assertGreater(len(body) - 1, owed)
        saved = json.loads((run / "experiment_summary.json").read_text())
        self.assertGreaterEqual(saved["summary"]["last"], owed)
        self.assertGreaterEqual(saved["primary_metric"]["best"], owed)
        self.assertEqual(saved["primary_metric"]["step"], saved["primary_metric"]["best"])
