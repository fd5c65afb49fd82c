"""Function runs: `@xrun.function` in a plain python3 script (`.run()`) and `xrun run
mod.py:train` on the command line; outputs of every kind, results, inputs and lineage, the cache
key (parameters, input contents, the function's body, a helper module, a module constant),
failures never cached, and bad input that creates nothing."""

import hashlib
import json
import os
import subprocess
import textwrap
import unittest
from pathlib import Path

from support import Workspace

PYTHON = "/usr/bin/python3"
HAS_PANDAS = subprocess.run([PYTHON, "-c", "import pandas"], capture_output=True).returncode == 0
needs_pandas = unittest.skipUnless(HAS_PANDAS, "pandas is not importable by /usr/bin/python3")
# A run of plain python3 is watched (its log captured, its kill recorded) through the _xrun
# extension, which a sanitizer build has not: there Python records the run alone.
needs_extension = unittest.skipIf(os.environ.get("XRUN_SANITIZED") == "1",
                                  "no _xrun extension module in a sanitizer build")

# The module the tests run: `train` counts its calls in calls.txt (a cache hit calls nothing).
MODULE = """\
import os
import numpy as np
import xrun
from helpers import scale

BIAS = 0.5


@xrun.function(outputs=["model", "report"])
def train(data: xrun.Input = None, lr: float = 0.01, epochs: int = 3, model: str = "mlp"):
    \"\"\"Fits a toy model.\"\"\"
    with open("calls.txt", "a") as calls:
        calls.write(f"train {lr} {epochs}\\n")
    weights = np.arange(epochs, dtype=np.float64) * scale(lr) + BIAS
    if data is not None:
        weights = weights + float(np.load(data).sum())
    print("trained", model)
    return weights, {"acc": 0.5 + lr, "model": model}


@xrun.function(cache=True)
def square(x: int):
    with open("calls.txt", "a") as calls:
        calls.write(f"square {x}\\n")
    if x < 0:
        raise ValueError("negative")
    return {"y": x * x}


@xrun.function(outputs=["a", "b"])
def wrong_count():
    return 1, 2, 3


def plain(n: int = 2, label: str = "x"):
    return {"n2": n * 2, "label": label}
"""

HELPERS = "def scale(x):\n    return x * 2\n"


class FunctionWorkspace(Workspace):
    """A folder with mod.py and helpers.py, and plain python3 scripts run beside them."""

    def setUp(self):
        super().setUp()
        self.package = self.python_package()
        self.write("mod.py", MODULE)
        self.write("helpers.py", HELPERS)

    def write(self, name: str, text: str):
        return super().write(name, textwrap.dedent(text))

    def python(self, body: str, expect_ok: bool = True):
        """Runs `body` in plain python3 beside mod.py; its stdout's last line as JSON."""
        self.write("script.py", "import json, os, sys\nimport xrun\n" + textwrap.dedent(body))
        result = subprocess.run([PYTHON, "script.py"], cwd=self.dir, capture_output=True,
                                text=True, timeout=120, env=self.env(PYTHONPATH=self.package))
        if not expect_ok:
            return result
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def calls(self) -> list:
        path = self.dir / "calls.txt"
        return path.read_text().splitlines() if path.exists() else []

    def function_runs(self, name: str = "train") -> list:
        return self.runs(f"results/mod/{name}")



class Functions(FunctionWorkspace):
    # -- from Python ----------------------------------------------------------------------------
    @needs_extension
    def test_a_run_from_python_records_results_outputs_and_code(self):
        shown = self.python("""\
            from mod import train
            r = train.run(lr=0.25, epochs=4)
            print(json.dumps({"status": r.status, "path": r.path, "model": r.output("model").tolist(),
                              "outputs": {k: r.outputs.entry(k)["kind"] for k in r.outputs()},
                              "acc": r.result("acc"), "results": r.results(),
                              "function": r.meta.get("function", {}), "cached": r.cached}))
            """)
        self.assertEqual(shown["status"], "done")
        self.assertEqual(shown["model"], [0.5, 1.0, 1.5, 2.0])
        self.assertEqual(shown["outputs"], {"model": "npy"})
        self.assertEqual(shown["acc"], 0.75)
        self.assertEqual(shown["results"]["report"], {"acc": 0.75, "model": "mlp"})
        self.assertFalse(shown["cached"])
        (run,) = self.function_runs()
        self.assertEqual(str(run), shown["path"])
        meta = self.meta(run)
        self.assertEqual(meta["status"], "done")
        self.assertEqual(meta["parameters"]["lr"]["value"], 0.25)
        self.assertEqual(meta["parameters"]["epochs"]["value"], 4)
        self.assertIn("trained mlp", self.log(run))
        self.assertEqual((run / "experiment_code.py").read_text(), MODULE)
        self.assertEqual((run / "helpers.py").read_text(), HELPERS)  # the project's module
        function = meta["function"]
        self.assertEqual(function["name"], "train")
        self.assertEqual(function["qualified_name"], "mod.train")
        self.assertEqual(sorted(function["code"]), ["helpers.py", "mod.py"])
        self.assertEqual(len(function["cache_key"]), 64)
        self.assertEqual(self.data(run)["results"]["acc"], 0.75)
        listed = self.xrun("archive", "list", "--path", "results", "--where", "results.acc > 0.7",
                           "--columns", "results.acc")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("0.75", listed.stdout)

    def test_outputs_of_every_kind_round_trip_without_the_module(self):
        self.write("kinds.py", """\
            import pathlib
            import numpy as np
            import xrun

            @xrun.function(outputs=["array", "table", "blob", "file", "values", "count"])
            def make():
                pathlib.Path("made.txt").write_text("made by make\\n")
                import pandas
                table = pandas.DataFrame({"a": [1, 2], "b": ["x", "y"]})
                return (np.eye(3), table, b"\\x00\\x01raw", pathlib.Path("made.txt"),
                        [1, 2.5, "three"], 7)
            """)
        if not HAS_PANDAS:
            self.skipTest("pandas is not importable by /usr/bin/python3")
        shown = self.python("""\
            from kinds import make
            r = make.run()
            print(json.dumps({"path": r.path, "status": r.status}))
            """)
        self.assertEqual(shown["status"], "done")
        run = shown["path"]
        listing = json.loads(Path(run, "outputs.json").read_text())["outputs"]
        kinds = {entry["name"]: entry["kind"] for entry in listing}
        self.assertEqual(kinds, {"array": "npy", "table": "csv", "blob": "bytes", "file": "file"})
        for entry in listing:
            content = Path(run, entry["file"]).read_bytes()
            self.assertEqual(len(content), entry["size"])
            self.assertEqual(hashlib.sha256(content).hexdigest(), entry["sha256"])
        self.assertEqual(Path(run, "outputs/blob.bin").read_bytes(), b"\x00\x01raw")
        self.assertEqual(Path(run, "outputs/file.txt").read_text(), "made by make\n")
        # Loaded elsewhere, with the module gone from the path.
        (self.dir / "kinds.py").unlink()
        os.mkdir(self.dir / "elsewhere")
        self.write("elsewhere/read.py", f"""\
            import json, sys, xrun
            r = xrun.load({run!r})
            print(json.dumps({{"array": r.output("array").tolist(),
                               "table": r.output("table").to_dict("list"),
                               "blob": open(r.output("blob"), "rb").read().hex(),
                               "values": r.result("values"), "count": r.result("count"),
                               "imported": "kinds" in sys.modules}}))
            """)
        result = subprocess.run([PYTHON, "read.py"], cwd=self.dir / "elsewhere",
                                capture_output=True, text=True, timeout=60,
                                env=self.env(PYTHONPATH=self.package))
        self.assertEqual(result.returncode, 0, result.stderr)
        loaded = json.loads(result.stdout.splitlines()[-1])
        self.assertEqual(loaded["array"], [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        self.assertEqual(loaded["table"], {"a": [1, 2], "b": ["x", "y"]})
        self.assertEqual(loaded["blob"], "0001726177")
        self.assertEqual(loaded["values"], [1, 2.5, "three"])
        self.assertEqual(loaded["count"], 7)
        self.assertFalse(loaded["imported"])

    def test_an_object_without_a_safe_format_needs_pickle_and_fails_the_run_saying_so(self):
        self.write("objects.py", """\
            import xrun

            class Model:
                pass

            @xrun.function(outputs=["model"])
            def fit():
                return Model()

            @xrun.function(outputs=["model"], pickle=True)
            def fit_pickled():
                return Model()
            """)
        result = self.python("""\
            from objects import fit
            fit.run()
            """, expect_ok=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("output 'model' of fit: a objects.Model is stored only as a pickle",
                      result.stderr)
        (run,) = self.runs("results/objects/fit")
        self.assertEqual(self.meta(run)["status"], "failed")
        self.assertFalse((run / "outputs.json").exists())
        shown = self.python("""\
            from objects import fit_pickled
            r = fit_pickled.run()
            print(json.dumps({"kind": r.outputs.entry("model")["kind"], "status": r.status}))
            """)
        self.assertEqual(shown, {"kind": "pickle", "status": "done"})

    @needs_extension
    def test_a_run_whose_process_is_killed_is_recorded_as_killed(self):
        self.write("slow.py", """\
            import os, time
            import xrun

            @xrun.function
            def wait(seconds: float = 60.0):
                open("ready", "w").close()
                time.sleep(seconds)
                return {"waited": seconds}
            """)
        self.write("script.py", "from slow import wait\nwait.run()\n")
        process = subprocess.Popen([PYTHON, "script.py"], cwd=self.dir,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=self.env(PYTHONPATH=self.package))
        self.addCleanup(process.kill)
        self.wait_for(lambda: (self.dir / "ready").exists(), what="the function to start")
        os.kill(process.pid, 9)
        process.wait(timeout=30)
        (run,) = self.runs("results/slow/wait")
        self.wait_for(lambda: self.meta(run)["status"] != "running", what="the run's end")
        meta = self.meta(run)
        self.assertEqual(meta["status"], "killed")
        self.assertEqual(meta["function"]["name"], "wait")
        self.assertEqual(meta["parameters"]["seconds"]["value"], 60.0)
        # A killed run is never a cached one.
        shown = self.python("""\
            from slow import wait
            print(json.dumps({"found": wait.find_done() is not None}))
            """)
        self.assertEqual(shown, {"found": False})

    # -- the cache ------------------------------------------------------------------------------
    def test_the_cache_misses_on_every_part_of_the_key_and_hits_otherwise(self):
        run_square = """\
            from mod import square
            r = square.run(x=3)
            print(json.dumps({"id": r.id, "cached": r.cached, "y": r.result("y")}))
            """
        first = self.python(run_square)
        self.assertEqual((first["cached"], first["y"]), (False, 9))
        again = self.python(run_square)
        self.assertEqual((again["id"], again["cached"]), (first["id"], True))
        self.assertEqual(self.calls(), ["square 3"])
        # Another parameter value misses.
        other = self.python(run_square.replace("x=3", "x=4"))
        self.assertFalse(other["cached"])
        # A changed module constant (the module's text), a changed helper module and a changed
        # function body each miss.
        keys = [first["id"]]
        for change in (lambda: self.write("mod.py", MODULE.replace("BIAS = 0.5", "BIAS = 0.6")),
                       lambda: self.write("helpers.py", HELPERS.replace("* 2", "* 3")),
                       lambda: self.write("mod.py", MODULE.replace("BIAS = 0.5", "BIAS = 0.6")
                                          .replace("x * x", "x * x + 0"))):
            change()
            shown = self.python(run_square)
            self.assertFalse(shown["cached"])
            self.assertNotIn(shown["id"], keys)
            keys.append(shown["id"])
            self.assertTrue(self.python(run_square)["cached"])
        self.assertEqual(self.calls().count("square 3"), 4)
        # --rerun / _rerun runs again though a done run has the key.
        rerun = self.python(run_square.replace("x=3)", "x=3, _rerun=True)"))
        self.assertFalse(rerun["cached"])
        self.assertEqual(self.calls().count("square 3"), 5)

    def test_an_input_file_s_contents_are_part_of_the_key(self):
        (self.dir / "data.npy").write_bytes(b"")
        body = """\
            import numpy as np
            np.save("data.npy", np.array([float(sys.argv[1]) if len(sys.argv) > 1 else 1.0]))
            from mod import train
            r = train.run(data="data.npy", lr=0.1, _cache=True)
            print(json.dumps({"id": r.id, "cached": r.cached, "inputs": r.meta["function"]["inputs"]}))
            """
        first = self.python(body)
        self.assertFalse(first["cached"])
        (record,) = first["inputs"]
        self.assertEqual(record["name"], "data")
        self.assertEqual(record["path"], str(self.dir / "data.npy"))
        self.assertEqual(record["sha256"],
                         hashlib.sha256((self.dir / "data.npy").read_bytes()).hexdigest())
        self.assertTrue(self.python(body)["cached"])
        self.write("script.py", (self.dir / "script.py").read_text()
                   .replace("else 1.0", "else 2.0"))
        result = subprocess.run([PYTHON, "script.py"], cwd=self.dir, capture_output=True,
                                text=True, env=self.env(PYTHONPATH=self.package))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertFalse(json.loads(result.stdout.splitlines()[-1])["cached"])

    def test_failures_are_never_cached(self):
        body = """\
            from mod import square
            try:
                square.run(x=-1)
            except ValueError as error:
                print(json.dumps({"error": str(error)}))
            """
        self.assertEqual(self.python(body), {"error": "negative"})
        self.assertEqual(self.python(body), {"error": "negative"})
        self.assertEqual(self.calls(), ["square -1", "square -1"])
        statuses = sorted(self.meta(run)["status"] for run in self.function_runs("square"))
        self.assertEqual(statuses, ["failed", "failed"])

    # -- lineage --------------------------------------------------------------------------------
    def test_an_output_of_one_run_is_the_input_of_another_both_ways(self):
        shown = self.python("""\
            from mod import train
            first = train.run(lr=0.5, epochs=2)
            second = train.run(data=f"run:{first.id}/outputs/model", lr=0.1, epochs=2)
            print(json.dumps({"first": first.id, "second": second.id,
                              "model": second.output("model").tolist(),
                              "inputs": second.meta["function"]["inputs"]}))
            """)
        # first's model is [0.5, 1.5]: its sum 2.0 is added to second's weights.
        self.assertEqual(shown["model"], [2.5, 2.7])
        (record,) = shown["inputs"]
        self.assertEqual(record["run"], shown["first"])
        self.assertEqual(record["output"], "model")
        self.assertEqual(record["ref"], f"run:{shown['first']}/outputs/model")
        shown_first = self.xrun("archive", "show", shown["first"], "--path", "results", "--json")
        self.assertEqual(shown_first.returncode, 0, shown_first.stderr)
        consumers = json.loads(shown_first.stdout)["consumers"]
        self.assertEqual([c["run"].rsplit("/", 1)[-1] for c in consumers], [shown["second"]])
        shown_second = self.xrun("archive", "show", shown["second"], "--path", "results")
        self.assertEqual(shown_second.returncode, 0, shown_second.stderr)
        self.assertIn(shown["first"], shown_second.stdout)
        self.assertIn("data", shown_second.stdout)

    # -- bad input ------------------------------------------------------------------------------
    def test_bad_input_from_python_names_it_and_creates_nothing(self):
        cases = {
            "train.run(lrr=0.1)": "train has no parameter lrr",
            "train.run(lr='fast')": "parameter lr (float) cannot be 'fast'",
            "square.run()": "parameter x is required",
            "train.run(data='missing.npy')": "input data: missing.npy does not exist",
            "train.run(data='run:2026-01-01_00-00-00-000_none/outputs/model')":
                "input data: no run 2026-01-01_00-00-00-000_none",
        }
        for call, message in cases.items():
            result = self.python(f"""\
                from mod import train, square
                try:
                    {call}
                except xrun.UsageError as error:
                    print(json.dumps({{"error": str(error)}}))
                """)
            self.assertIn(message, result["error"], call)
        self.assertFalse((self.dir / "results").exists())
        self.assertEqual(self.calls(), [])

    def test_a_return_value_that_does_not_match_the_outputs_fails_the_run_naming_it(self):
        result = self.python("""\
            from mod import wrong_count
            wrong_count.run()
            """, expect_ok=False)
        self.assertIn("wrong_count returned 3 values for 2 outputs (a, b)", result.stderr)
        (run,) = self.function_runs("wrong_count")
        meta = self.meta(run)
        self.assertEqual(meta["status"], "failed")
        self.assertIn("wrong_count returned 3 values", meta["error_message"])

    # -- the command line -----------------------------------------------------------------------
    def test_a_function_runs_from_the_command_line_with_typed_parameters(self):
        result = self.xrun("run", "mod.py:train", "--lr", "0.25", "--epochs", "2")
        self.assertEqual(result.returncode, 0, result.stderr)
        (run,) = self.function_runs()
        meta = self.meta(run)
        self.assertEqual(meta["status"], "done")
        self.assertEqual(meta["parameters"]["lr"]["value"], 0.25)
        self.assertEqual(meta["parameters"]["lr"]["source"], "cli")
        self.assertEqual(meta["function"]["name"], "train")
        self.assertEqual(self.data(run)["results"]["acc"], 0.75)
        listing = json.loads((run / "outputs.json").read_text())["outputs"]
        self.assertEqual([entry["name"] for entry in listing], ["model"])
        # A plain function (no decorator) runs too; its dict's items are its results.
        result = self.xrun("run", "mod.py:plain", "--n", "5")
        self.assertEqual(result.returncode, 0, result.stderr)
        (run,) = self.function_runs("plain")
        self.assertEqual(self.data(run)["results"], {"n2": 10, "label": "x"})

    def test_help_dry_run_and_bad_arguments(self):
        shown = self.xrun("run", "mod.py:train", "--help")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("usage: xrun run mod.py:train", shown.stdout)
        self.assertIn("--lr (float), default: 0.01", shown.stdout)
        self.assertIn("Fits a toy model.", shown.stdout)
        required = self.xrun("run", "mod.py:square", "--help")
        self.assertIn("--x (int), required", required.stdout)
        dry = self.xrun("run", "mod.py:train", "--lr", "0.3", "--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertRegex(dry.stdout, r"lr\s+float\s+0.3\s+cli")
        self.assertUsageError(self.xrun("run", "mod.py:train", "--lrr", "0.1"),
                              "has no parameter lrr", "--lr")
        self.assertUsageError(self.xrun("run", "mod.py:train", "--lr", "fast"),
                              "parameter lr (float) cannot be 'fast'")
        self.assertUsageError(self.xrun("run", "mod.py:square"), "parameter x is required")
        self.assertUsageError(self.xrun("run", "mod.py:trian"), "has no function trian",
                              "train")
        self.assertUsageError(self.xrun("run", "mod.py:train", "--data", "nope.npy"),
                              "input data: nope.npy does not exist")
        self.assertFalse((self.dir / "results").exists())
        self.assertEqual(self.calls(), [])

    def test_cache_and_rerun_on_the_command_line(self):
        first = self.xrun("run", "mod.py:train", "--lr", "0.1", "--cache")
        self.assertEqual(first.returncode, 0, first.stderr)
        second = self.xrun("run", "mod.py:train", "--lr", "0.1", "--cache")
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertIn("is done with the same cache key", second.stderr)
        self.assertEqual(len(self.function_runs()), 1)
        # The same key from Python: a run the command line made is found.
        shown = self.python("""\
            from mod import train
            r = train.run(lr=0.1, _cache=True)
            print(json.dumps({"cached": r.cached}))
            """)
        self.assertTrue(shown["cached"])
        third = self.xrun("run", "mod.py:train", "--lr", "0.1", "--cache", "--rerun")
        self.assertEqual(third.returncode, 0, third.stderr)
        self.assertEqual(len(self.function_runs()), 2)
        self.assertEqual(self.calls(), ["train 0.1 3", "train 0.1 3"])

    def test_a_sweep_over_a_function_with_skip_done(self):
        result = self.xrun("run", "mod.py:train", "--sweep", "lr=0.1,0.2", "--sweep",
                           "epochs=2,3", "-j", "2")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        runs = self.function_runs()
        self.assertEqual(len(runs), 4)
        values = sorted((self.meta(r)["parameters"]["lr"]["value"],
                         self.meta(r)["parameters"]["epochs"]["value"]) for r in runs)
        self.assertEqual(values, [(0.1, 2), (0.1, 3), (0.2, 2), (0.2, 3)])
        again = self.xrun("run", "mod.py:train", "--sweep", "lr=0.1,0.2", "--sweep",
                          "epochs=2,3", "--skip-done")
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
        self.assertEqual(len(self.function_runs()), 4)

    def test_a_config_extends_a_function(self):
        self.write("fast.yml", "extend: mod.py:train\nparameters:\n  lr: 0.4\n  model: cnn\n")
        result = self.xrun("run", "fast.yml")
        self.assertEqual(result.returncode, 0, result.stderr)
        (run,) = self.function_runs()
        meta = self.meta(run)
        self.assertEqual(meta["parameters"]["lr"]["value"], 0.4)
        self.assertEqual(meta["parameters"]["model"]["value"], "cnn")
        self.assertEqual(self.data(run)["results"]["model"], "cnn")


class FunctionEdges(FunctionWorkspace):
    """Arguments named like the experiment's attributes, imports the cache key must see,
    package modules, file names that are no identifiers, and argument kinds."""

    def test_an_argument_named_path_or_error_is_the_function_s(self):
        self.write("names.py", """\
            def f(path: str = "p", error: int = 0, func: str = "x", function: str = "y"):
                return {"got": [path, error, func, function]}
            """)
        result = self.xrun("run", "names.py:f", "--path", "mine", "--error", "3")
        self.assertEqual(result.returncode, 0, result.stderr)
        (run,) = self.runs("results/names/f")
        self.assertEqual(self.data(run)["results"]["got"], ["mine", 3, "x", "y"])

    def test_a_value_imported_by_name_and_an_import_inside_the_function_are_in_the_key(self):
        self.write("consts.py", "SCALE = 2\n")
        self.write("late.py", "def offset():\n    return 1\n")
        self.write("uses.py", """\
            import xrun
            from consts import SCALE

            @xrun.function(cache=True)
            def f(x: int = 1):
                from late import offset
                return {"y": x * SCALE + offset()}
            """)
        body = """\
            from uses import f
            r = f.run(x=3)
            print(json.dumps({"y": r.result("y"), "cached": r.cached, "code": sorted(r.meta["function"]["code"])}))
            """
        first = self.python(body)
        self.assertEqual((first["y"], first["cached"]), (7, False))
        self.assertEqual(first["code"], ["consts.py", "late.py", "uses.py"])
        self.assertTrue(self.python(body)["cached"])
        self.write("consts.py", "SCALE = 3\n")
        self.assertEqual(self.python(body)["y"], 10)
        self.write("late.py", "def offset():\n    return 2\n")
        self.assertEqual(self.python(body)["y"], 11)

    def test_an_input_given_on_the_command_line_is_recorded_by_its_reference(self):
        self.write("d.txt", "data\n")
        result = self.xrun("run", "mod.py:train", "--data", "d.txt", "--epochs", "1")
        self.assertEqual(result.returncode, 1)  # np.load of a text file fails: recorded
        (run,) = self.function_runs()
        meta = self.meta(run)
        self.assertEqual(meta["parameters"]["data"]["value"], "d.txt")
        self.assertEqual(meta["function"]["inputs"][0]["path"], str(self.dir / "d.txt"))

    def test_a_package_module_and_a_file_name_that_is_no_identifier(self):
        self.write("pkg/__init__.py", "")
        self.write("pkg/helpers.py", "FACTOR = 5\n")
        self.write("pkg/model.py", """\
            import xrun
            from .helpers import FACTOR

            @xrun.function(cache=True)
            def fit(x: int = 1):
                return {"y": x * FACTOR}
            """)
        self.write("my-exp.py", """\
            import xrun

            @xrun.function(cache=True)
            def g(x: int = 1):
                return {"y": -x}
            """)
        for target, namespace in (("pkg/model.py:fit", "pkg/results/model/fit"),
                                  ("my-exp.py:g", "results/my-exp/g")):
            first = self.xrun("run", target, "--x", "2")
            self.assertEqual(first.returncode, 0, first.stderr)
            again = self.xrun("run", target, "--x", "2", "--cache")
            self.assertEqual(again.returncode, 0, again.stderr)
            self.assertIn("is done with the same cache key", again.stderr)
            (run,) = self.runs(namespace)
        self.assertEqual(self.data(run)["results"]["y"], -2)
        (run,) = self.runs("pkg/results/model/fit")
        self.assertEqual(sorted(self.meta(run)["function"]["code"]),
                         ["pkg/__init__.py", "pkg/helpers.py", "pkg/model.py"])
        # From Python the package's import gives the same key: the command line's run is found.
        shown = self.python("""\
            from pkg.model import fit
            print(json.dumps({"cached": fit.run(x=2).cached}))
            """)
        self.assertTrue(shown["cached"])

    def test_argument_kinds_and_numpy_values(self):
        self.write("kinds2.py", """\
            from typing import Optional
            import xrun

            @xrun.function
            def f(a: int, /, b: float = 1.0, *, data: Optional[xrun.Input] = None):
                return {"sum": a + b, "data": open(data).read() if data else None}

            @xrun.function(outputs=["a/b", "a_b"])
            def clash():
                import numpy as np
                return np.zeros(1), np.ones(1)
            """)
        self.write("d.txt", "text")
        shown = self.python("""\
            import numpy as np
            from kinds2 import f, clash
            r = f.run(a=np.int64(2), b=np.float32(0.5), data="d.txt")
            c = clash.run()
            print(json.dumps({"sum": r.result("sum"), "data": r.result("data"),
                              "a/b": c.output("a/b").tolist(), "a_b": xrun.load(c.path).output("a_b").tolist()}))
            """)
        self.assertEqual(shown, {"sum": 2.5, "data": "text", "a/b": [0.0], "a_b": [1.0]})
        result = self.xrun("run", "kinds2.py:f", "--a", "4")
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_an_argument_named_like_an_xrun_flag_is_refused(self):
        self.write("flags.py", "def f(tag: str = 'a', x: int = 1):\n    return {'t': tag}\n")
        self.assertUsageError(self.xrun("run", "flags.py:f", "--tag", "b"),
                              "argument tag has the name of xrun's own flag --tag")
        self.assertFalse((self.dir / "results").exists())

    def test_run_inside_an_xrun_run_is_refused_by_name(self):
        self.write("inside.py", """\
            from mod import square
            square.run(x=2)
            """)
        result = self.xrun("run", "inside.py")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("square.run() records a run of its own", result.stderr)
        self.assertEqual(self.calls(), [])


if __name__ == "__main__":
    unittest.main()
