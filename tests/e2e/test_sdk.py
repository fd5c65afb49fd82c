"""The tracking SDK (`xrun.start()` and its Run): every method inside `xrun run` of an
experiment, bad input, XRUN_DISABLED, and the runs of plain python3 scripts."""

import json
import os
import re
import signal
import subprocess
import textwrap
import time
import unittest

from support import Workspace, experiment_source

# The plain-python runs (`python3 script.py`, `xrun run script.py` without an Experiment) are
# created by xrun._standalone, which another branch adds.
# A sanitizer build has no `_xrun` extension (plain python3 cannot load one built for the
# sanitizers' runtime), so its plain-python runs are recorded by Python alone, unwatched.
watched = unittest.skipIf(os.environ.get("XRUN_SANITIZED") == "1",
                          "no _xrun extension module in a sanitizer build")

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (TEXT|INFO|WARNING|ERROR) (.*)$")


def sdk_experiment(body: str) -> str:
    """An experiment module whose function gets `run = xrun.start()` first."""
    return experiment_source("import logging\nimport xrun\n",
                             "run = xrun.start()\n" + textwrap.dedent(body))


def log_lines(log: str) -> list:
    """(level, message) of the SDK's lines in a run's log."""
    return [match.groups() for line in log.splitlines() if (match := LOG_LINE.match(line))]


class InsideAnExperiment(Workspace):
    def run_experiment(self, body: str, *args, env=None):
        self.write("exp.py", sdk_experiment(body))
        result = self.xrun("run", "exp.py", *args, env=env)
        return result, self.only_run("results/exp")

    def test_start_returns_the_current_run_and_every_method_records_into_it(self):
        result, run = self.run_experiment("""
            import os
            print("same", run.path == e.path, run.id == os.path.basename(e.path))
            # The native function itself, not a Python wrapper.
            print("native", run.track is e.track, type(run.track).__name__)
            run.track("loss", 0.5)
            run.track("loss", 0.25)
            run.set_primary_metric("acc", mode="max")
            run.log({"acc": 0.8}, step=1, stage="train")
            run.log(acc=0.9, step=2)
            run.log({"acc": 0.85})  # one more than the last log step
            run.log_text("epoch 1 done")
            run.info("two\\nlines")
            run.warn("careful")
            logging.getLogger().addHandler(run.get_logging_handler(logging.WARNING))
            logging.getLogger().setLevel(logging.DEBUG)
            logging.info("below the handler's level")
            logging.error("an error record")
            run.summary({"test_acc": 0.91, "model": "mlp"})
            run.summary({"test_loss": 0.1, "esc\x1b[2Jape": 1})
            run.log_params({"lr": 0.01, "layers": [64, 16]})
            run.finish()
            e["after_finish"] = 1  # the experiment's run goes on
        """)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("same True True", result.stdout)
        self.assertIn("native True builtin_function_or_method", result.stdout)
        self.assertEqual(self.meta(run)["status"], "done")
        self.assertEqual(self.data(run)["after_finish"], 1)
        loss = (run / ".track" / "loss.csv").read_text().splitlines()
        self.assertEqual([line.split(",")[1] for line in loss if line[0].isdigit()],
                         ["0.5", "0.25"])
        acc = (run / ".track" / "acc.csv").read_text().splitlines()
        self.assertEqual(acc[0], "step,value,time,stage")
        self.assertEqual([(line.split(",")[0], line.split(",")[1], line.split(",")[3])
                          for line in acc[1:]],
                         [("1", "0.8", "train"), ("2", "0.9", ""), ("3", "0.85", "")])
        self.assertEqual(log_lines(self.log(run)), [
            ("TEXT", "epoch 1 done"), ("INFO", "two"), ("INFO", "lines"),
            ("WARNING", "careful"), ("ERROR", "an error record")])
        summary = json.loads((run / "experiment_summary.json").read_text())
        self.assertEqual(summary["summary"], {"test_acc": 0.91, "model": "mlp",
                                              "test_loss": 0.1, "esc\x1b[2Jape": 1})
        self.assertEqual({key: summary["primary_metric"][key] for key in ("name", "mode", "best",
                                                                          "step")},
                         {"name": "acc", "mode": "max", "best": 0.9, "step": 2})
        self.assertEqual(json.loads((run / "params.json").read_text()),
                         {"lr": 0.01, "layers": [64, 16]})
        # The archive sees them.
        listed = self.xrun("archive", "list", "--where", "summary.test_acc > 0.9 and params.lr < 1 "
                           "and primary_metric.best == 0.9", "--columns",
                           "summary.test_acc,summary.model,params.layers,primary_metric.step",
                           "--csv")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("0.91,mlp,\"[64,16]\",2", listed.stdout)
        nothing = self.xrun("archive", "list", "--where", "summary.test_acc > 0.95")
        self.assertNotIn(run.name, nothing.stdout)
        typo = self.xrun("archive", "list", "--where", "summary.test_ac > 0.5")
        self.assertIn("no run has a value for summary.test_ac (did you mean summary.test_acc?)",
                      typo.stderr)
        shown = self.xrun("archive", "show", run.name)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        for pattern in (r"\nsummary\n", r"primary metric +acc \(max\): best 0\.9 at step 2",
                        r"test_acc +0\.91",
                        r"\nlogged parameters\n", r"lr +0\.01"):
            self.assertRegex(shown.stdout, pattern)
        # A run folder's strings reach the terminal escaped, never as control sequences.
        self.assertNotIn("\x1b", shown.stdout)
        self.assertIn("esc\\x1b[2Jape", shown.stdout)

    def test_repeated_starts_give_runs_over_the_same_folder_that_add_up(self):
        result, run = self.run_experiment("""
            import numpy as np
            other = xrun.start()
            print("same", other.path == run.path, other is not run)
            run.summary({"a": 1}); other.summary({"b": 2})
            run.log_params({"x": 1}); other.log_params({"y": 2})
            run.log_image("img", np.zeros((2, 2), dtype=np.uint8))
            other.log_image("img", np.ones((2, 2), dtype=np.uint8))
        """)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("same True True", result.stdout)
        self.assertEqual(json.loads((run / "experiment_summary.json").read_text())["summary"],
                         {"a": 1, "b": 2})
        self.assertEqual(json.loads((run / "params.json").read_text()), {"x": 1, "y": 2})
        self.assertEqual(sorted(path.name for path in (run / "images" / "img").iterdir()),
                         ["00000.png", "00001.png"])

    def test_the_index_follows_summary_and_parameter_files_changed_in_place(self):
        result, run = self.run_experiment("""
            run.summary({"test_acc": 0.91})
            run.log_params({"lr": 0.01})
        """)
        self.assertEqual(result.returncode, 0, result.stderr)
        # Times well in the past: the index trusts them (a fresh time is always read again).
        past = time.time_ns() - 100 * 10**9
        for path in run.iterdir():
            os.utime(path, ns=(past, past))
        query = ("archive", "list", "--csv", "--columns", "summary.test_acc,params.lr")
        self.assertIn(",0.91,0.01", self.xrun(*query).stdout)
        self.assertIn("0 read from their folders", self.xrun("archive", "index").stdout)
        for name, old, new in (("experiment_summary.json", "0.91", "0.42"),
                               ("params.json", "0.01", "0.07")):
            path = run / name
            text = path.read_text().replace(old, new)
            with open(path, "w") as handle:  # in place: the same size, another time
                handle.write(text)
            os.utime(path, ns=(past + 10**9, past + 10**9))
        self.assertIn(",0.42,0.07", self.xrun(*query).stdout)
        self.assertIn("0 read from their folders", self.xrun("archive", "index").stdout)

    def test_bad_input_raises_naming_the_value_and_the_run_goes_on(self):
        result, run = self.run_experiment("""
            import numpy as np
            attempts = [
                lambda: run.log({"loss": "abc"}),
                lambda: run.track("loss", "high"),
                lambda: run.set_primary_metric("acc", mode="best"),
                lambda: run.log_image("img", np.zeros((2, 3, 5), dtype=np.uint8)),
                lambda: run.log_image("img", np.full((2, 2), 3.5)),
                lambda: run.save_artifact("missing.pt"),
                lambda: run.summary(["not", "a", "dict"]),
                lambda: run.finish(status="exploded"),
                lambda: xrun.start(tqdm_mode="fancy"),
            ]
            for attempt in attempts:
                try:
                    attempt()
                    print("no error")
                except Exception as error:
                    print(f"{type(error).__name__}: {error}")
            run.log({"loss": 0.5})
        """)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.meta(run)["status"], "done")
        lines = [line for line in result.stdout.splitlines() if ": " in line]
        self.assertNotIn("no error", result.stdout)
        expected = ["TypeError: log(): the metric 'loss' takes a number, not 'abc' (str)",
                    "TypeError: track('loss', ...) takes numbers or figures, not 'high' (str)",
                    "ValueError: set_primary_metric: mode is 'max' or 'min', not 'best'",
                    "ValueError: an image array has shape HxW, HxWx1, HxWx3 or HxWx4, "
                    "not (2, 3, 5)",
                    "ValueError: a float image has values in [0, 1], not [3.5, 3.5]",
                    "FileNotFoundError: save_artifact: no file missing.pt",
                    "TypeError: summary takes a dict, not list",
                    "ValueError: finish: status is 'finished', 'failed' or 'interrupted', "
                    "not 'exploded'",
                    "ValueError: tqdm_mode is 'smart', 'all' or 'none', not 'fancy'"]
        self.assertEqual(lines[:len(expected)], expected)
        self.assertIn("0.5", (run / ".track" / "loss.csv").read_text())

    def test_an_exception_leaving_the_with_block_fails_the_run_and_propagates(self):
        self.write("exp.py", experiment_source("import xrun\n", """
            with xrun.start() as run:
                run.log({"loss": 1.0})
                raise RuntimeError("diverged")
        """))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 1)
        run = self.only_run("results/exp")
        meta = self.meta(run)
        self.assertEqual((meta["status"], meta["error_type"]), ("failed", "RuntimeError"))
        self.assertIn("diverged", self.log(run))

    def test_xrun_disabled_records_nothing_and_every_method_works(self):
        result, run = self.run_experiment("""
            import numpy as np
            open("model.pt", "wb").write(b"w")
            print("path", run.path, run.id)
            run.track("loss", 1.0); run.log({"acc": 0.5}, step=3, stage="eval")
            run.log_text("t"); run.info("i"); run.warn("w")
            logging.getLogger("x").addHandler(run.get_logging_handler())
            logging.getLogger("x").warning("not recorded")
            run.log_image("img", np.zeros((2, 2), dtype=np.uint8))
            run.set_primary_metric("acc"); run.summary({"a": 1}); run.log_params({"b": 2})
            print("version", run.save_artifact("model.pt"))
            print("snapshot", run.snapshot_workspace(include=["*.py"]))
            with run:
                pass
        """, env=self.env(XRUN_DISABLED="1"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("path None None", result.stdout)
        self.assertIn("version None", result.stdout)
        self.assertIn("snapshot {'files': []}", result.stdout)
        for name in ("experiment_summary.json", "params.json", "images", "artifacts.json",
                     ".track"):
            self.assertFalse((run / name).exists(), name)
        self.assertEqual(log_lines(self.log(run)), [])
        self.assertFalse((self.dir / "results" / ".xrun").exists())

    def test_xrun_disabled_under_plain_python(self):
        script = self.write("script.py", (
            "import xrun\n"
            "with xrun.start('demo', base='results') as run:\n"
            "    run.log({'loss': 0.1}); run.summary({'a': 1})\n"
            "print('path', run.path, 'id', run.id)\n"))
        env = self.env(XRUN_DISABLED="1", PYTHONPATH=self.xrun("python-path").stdout.strip())
        result = subprocess.run(["/usr/bin/python3", str(script)], cwd=self.dir, env=env,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("path None id None", result.stdout)
        self.assertFalse((self.dir / "results").exists())


@watched
class PlainPython(Workspace):
    """Runs of scripts without an Experiment: `python3 script.py` and `xrun run script.py`."""

    def python(self, script: str, *args, **kwargs):
        path = self.write("script.py", script)
        env = self.env(PYTHONPATH=self.xrun("python-path").stdout.strip())
        return subprocess.run(["/usr/bin/python3", str(path), *args], cwd=self.dir, env=env,
                              capture_output=True, text=True, timeout=120, **kwargs)

    def test_a_with_block_is_a_done_run_with_everything_recorded(self):
        result = self.python(
            "import logging, xrun\n"
            "with xrun.start('cifar/resnet', params={'lr': 0.01}, base='results') as run:\n"
            "    run.log({'loss': 0.3, 'acc': 0.9}, stage='train')\n"
            "    run.log({'loss': 0.2, 'acc': 0.95})\n"
            "    run.track('lr', 0.001)\n"
            "    run.info('hello')\n"
            "    run.set_primary_metric('acc', mode='max')\n"
            "    run.summary({'test_acc': 0.91})\n"
            "print('RUN', run.path)\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/cifar/resnet")
        self.assertEqual(self.meta(run)["status"], "done")
        acc = (run / ".track" / "acc.csv").read_text().splitlines()
        self.assertEqual(acc[0], "step,value,time,stage")
        steps = [int(line.split(",")[0]) for line in acc[1:]]
        self.assertEqual(steps[1], steps[0] + 1)  # without a step: one more than the last
        self.assertEqual(acc[1].split(",")[3], "train")
        self.assertIn(("INFO", "hello"), log_lines(self.log(run)))
        listed = self.xrun("archive", "list", "--path", "results", "--columns", "summary.test_acc",
                           "--where", "params.lr == 0.01")
        self.assertIn("0.91", listed.stdout)

    def test_an_exception_out_of_the_with_block_fails_the_run_and_propagates(self):
        result = self.python("import xrun\nwith xrun.start('demo', base='results') as run:\n"
                             "    raise ValueError('bad batch')\n")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("ValueError: bad batch", result.stderr)
        run = self.only_run("results/demo")
        self.assertEqual(self.meta(run)["status"], "failed")

    def test_finish_records_the_status_it_is_given(self):
        for given, recorded in (("finished", "done"), ("failed", "failed"),
                                ("interrupted", "interrupted")):
            result = self.python(f"import xrun\nrun = xrun.start('s/{given}', base='results')\n"
                                 f"run.finish(status={given!r})\n")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(self.meta(self.only_run(f"results/s/{given}"))["status"], recorded)

    def test_sigkill_of_the_script_keeps_the_summary_and_the_primary_best(self):
        process = subprocess.Popen(
            ["/usr/bin/python3", str(self.write("script.py", (
                "import time, xrun\nrun = xrun.start('k', base='results')\n"
                "run.set_primary_metric('acc', mode='max')\n"
                "for step, acc in enumerate([0.5, 0.9, 0.7]):\n"
                "    run.log({'acc': acc}, step=step)\n"
                "run.summary({'seen': 3})\nprint('logged', flush=True)\ntime.sleep(60)\n")))],
            cwd=self.dir, env=self.env(PYTHONPATH=self.xrun("python-path").stdout.strip()),
            stdout=subprocess.PIPE, text=True)
        self.assertEqual(process.stdout.readline().strip(), "logged")
        self.wait_for(lambda: self.runs("results/k") and (
            self.only_run("results/k") / "experiment_summary.json").exists(), what="summary")
        run = self.only_run("results/k")
        self.wait_for(lambda: json.loads((run / "experiment_summary.json").read_text())
                      ["primary_metric"]["best"] == 0.9, what="the best value on disk")
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        summary = json.loads((run / "experiment_summary.json").read_text())
        self.assertEqual(summary["summary"], {"seen": 3})
        self.assertEqual(summary["primary_metric"]["step"], 1)
        self.wait_for(lambda: self.meta(run)["status"] == "killed", what="killed")

    def test_xrun_run_of_a_script_without_an_experiment(self):
        self.write("script.py", "import xrun\nwith xrun.start('plain', base='results') as run:\n"
                                "    run.log({'loss': 0.1})\n")
        result = self.xrun("run", "script.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.meta(self.only_run("results/plain"))["status"], "done")


if __name__ == "__main__":
    unittest.main()
