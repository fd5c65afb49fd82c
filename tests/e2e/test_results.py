"""Results without the code: `xrun.load` and `xrun.runs` in a plain python3 script (the package
from `xrun python-path`) on runs the built xrun recorded: every property of a RunView, series
as numpy (and pandas where it is installed), the `--where` language and its errors, running,
failed and lost runs, an archive copied elsewhere, links out of a run, and outputs.json."""

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import textwrap
import time
import unittest

from support import Workspace, experiment_source

PYTHON = "/usr/bin/python3"
# The pandas paths run only where /usr/bin/python3 has pandas (Debian's python3-pandas).
HAS_PANDAS = subprocess.run([PYTHON, "-c", "import pandas"], capture_output=True).returncode == 0
needs_pandas = unittest.skipUnless(HAS_PANDAS, "pandas is not importable by /usr/bin/python3")
# RunView.status asks the lost rule of the `_xrun` extension, which a sanitizer build has not
# (plain python3 cannot load one built for the sanitizers' runtime).
needs_extension = unittest.skipIf(os.environ.get("XRUN_SANITIZED") == "1",
                                  "no _xrun extension module in a sanitizer build")

# LR and MODEL are the parameters; a run fails when FAIL is set and waits for a file "go"
# (after writing "ready") when WAIT is.
EXPERIMENT = experiment_source(
    """\
    import os, time
    import xrun

    LR: float = 0.1
    MODEL: str = "mlp"
    FAIL: bool = False
    WAIT: bool = False
    """,
    """\
    run = xrun.start()
    run.log_params({"batch": 32})
    run.summary({"best": LR * 10})
    e["metrics"] = {"acc": 1 - LR}
    e["results"] = {"loss": LR / 2, "model": MODEL}
    for step in range(4):
        e.track("loss", LR / (step + 1))
    e.track("loss", float("nan"))
    e.track("loss", float("inf"))
    run.log({"acc": 0.5}, step=7, stage="train")
    print("trained", MODEL)
    if WAIT:
        open("ready", "w").close()
        while not os.path.exists("go"):
            time.sleep(0.02)
    if FAIL:
        raise RuntimeError("diverged")
    """)


class Results(Workspace):
    def setUp(self):
        super().setUp()
        self.package = self.python_package()
        self.write("exp.py", EXPERIMENT)

    def record(self, *args) -> str:
        """The folder of a new run of exp.py with these arguments."""
        before = set(self.runs("results/exp"))
        result = self.xrun("run", "exp.py", *args)
        self.assertIn(result.returncode, (0, 1), result.stderr)
        (folder,) = set(self.runs("results/exp")) - before
        return str(folder)

    def python(self, body: str, expect_ok: bool = True):
        """Runs `body` in plain python3 (after `import json, sys, xrun`); its stdout's last
        line, read as JSON."""
        self.write("script.py", "import json, os, sys\nimport xrun\n" + textwrap.dedent(body))
        result = subprocess.run([PYTHON, "script.py"], cwd=self.dir, capture_output=True,
                                text=True, timeout=120, env=self.env(PYTHONPATH=self.package))
        if expect_ok:
            self.assertEqual(result.returncode, 0, result.stderr)
            return json.loads(result.stdout.strip().splitlines()[-1])
        return result

    # -- one run ----------------------------------------------------------------------------
    def test_a_run_loads_by_id_part_and_folder_with_every_property(self):
        folder = self.record("--LR", "0.2", "--MODEL", "cnn")
        run_id = os.path.basename(folder)
        shown = self.python(f"""\
            lazy = "xrun._results" not in sys.modules
            by_part = xrun.load({run_id[-4:]!r})
            by_folder = xrun.load({folder!r})
            assert isinstance(by_part, xrun.RunView), type(by_part)
            print(json.dumps({{
                "same": by_part.path == by_folder.path, "id": by_part.id,
                "path": by_part.path, "status": by_part.status,
                "meta_status": by_part.meta["status"], "parameters": by_part.parameters,
                "data": by_part.data, "results": by_part.results,
                "result": by_part.result("model"), "summary": by_part.summary,
                "params": by_part.params, "series": by_part.series_names(),
                "log": by_part.log(), "outputs": len(by_part.outputs),
                "imported": "exp" in sys.modules, "lazy": lazy, "repr": repr(by_part)}}))
            """)
        self.assertTrue(shown["same"])
        self.assertEqual(shown["id"], run_id)
        self.assertEqual(shown["path"], folder)
        self.assertEqual((shown["status"], shown["meta_status"]), ("done", "done"))
        self.assertEqual(shown["parameters"]["LR"], 0.2)
        self.assertEqual(shown["parameters"]["MODEL"], "cnn")
        self.assertEqual(shown["data"]["metrics"], {"acc": 0.8})
        self.assertEqual(shown["results"], {"loss": 0.1, "model": "cnn"})
        self.assertEqual(shown["result"], "cnn")
        self.assertEqual(shown["summary"]["summary"], {"best": 2.0})
        self.assertEqual(shown["params"], {"batch": 32})
        self.assertIn("loss", shown["series"])
        self.assertIn("acc", shown["series"])
        self.assertIn("trained cnn", shown["log"])
        self.assertEqual(shown["outputs"], 0)
        self.assertFalse(shown["imported"])  # the experiment's module is never imported
        self.assertTrue(shown["lazy"])  # nor the readers by `import xrun`
        self.assertEqual(shown["repr"], f"<RunView {run_id} done>")

    def test_a_run_without_results_summary_or_params_gives_empty_dicts(self):
        self.write("bare.py", experiment_source("X: int = 1\n", "e.log('nothing kept')\n"))
        self.assertEqual(self.xrun("run", "bare.py").returncode, 0)
        folder = str(self.only_run("results/bare"))
        shown = self.python(f"""\
            run = xrun.load({folder!r})
            try:
                run.result("acc")
                missing = None
            except KeyError as error:
                missing = str(error)
            print(json.dumps([run.results, run.summary, run.params, run.series_names(),
                              missing]))
            """)
        self.assertEqual(shown[:4], [{}, {}, {}, []])
        self.assertIn("has no result 'acc' (its results: none)", shown[4])

    def test_parameters_json_cannot_hold_come_from_their_exact_text(self):
        self.write("lossy.py", experiment_source(
            'BIG: int = 2**70\nLIMIT: float = float("-inf")\n', "pass\n"))
        self.assertEqual(self.xrun("run", "lossy.py").returncode, 0)
        folder = str(self.only_run("results/lossy"))
        shown = self.python(f"""\
            parameters = xrun.load({folder!r}).parameters
            print(json.dumps([str(parameters["BIG"]), repr(parameters["LIMIT"])]))
            """)
        self.assertEqual(shown, [str(2**70), "-inf"])

    def test_load_names_what_it_cannot_find(self):
        self.record()
        self.record("--LR", "0.3")
        result = self.python("""\
            for text in ("20", "zzzz"):
                try:
                    xrun.load(text)
                except ValueError as error:
                    print(error)
            try:
                xrun.load("x", path="nowhere")
            except ValueError as error:
                print(error)
            print(json.dumps(None))
            """, expect_ok=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("names 2 runs in", result.stdout)
        self.assertIn("give more of the id", result.stdout)
        self.assertIn("no run 'zzzz' in", result.stdout)
        self.assertIn("'nowhere' is not an archive folder", result.stdout)
        self.assertNotIn("Traceback", result.stderr)

    # -- series -----------------------------------------------------------------------------
    def test_series_as_numpy_with_nan_inf_stages_a_cut_line_and_three_columns(self):
        folder = self.record()
        track = os.path.join(folder, ".track")
        with open(os.path.join(track, "loss.csv"), "a") as file:
            file.write("9,0.5,17")  # a line a killed writer left cut short
        with open(os.path.join(track, "old.csv"), "w") as file:
            file.write("step,value,time\n0,1.5,1700000000.0\n1,nan,1700000001.0\n")
        shown = self.python(f"""\
            import math
            run = xrun.load({folder!r})
            loss, acc, old = run.series("loss"), run.series("acc"), run.series("old")
            print(json.dumps({{
                "names": run.series_names(),
                "steps": loss["step"].tolist(), "dtype": str(loss["value"].dtype),
                "values": [repr(v) for v in loss["value"].tolist()],
                "time": bool((loss["time"] > 1e9).all()),
                "acc": [acc["step"].tolist(), acc["value"].tolist(), acc["stage"].tolist()],
                "old": [old["step"].tolist(), [repr(v) for v in old["value"].tolist()],
                        old["stage"].tolist()]}}))
            """)
        self.assertEqual(shown["names"], ["acc", "loss", "old"])
        self.assertEqual(shown["steps"], [0, 1, 2, 3, 4, 5])
        self.assertEqual(shown["dtype"], "float64")
        self.assertEqual(shown["values"][-2:], ["nan", "inf"])
        self.assertEqual(float(shown["values"][1]), 0.05)
        self.assertTrue(shown["time"])
        self.assertEqual(shown["acc"], [[7], [0.5], ["train"]])
        self.assertEqual(shown["old"], [[0, 1], ["1.5", "nan"], ["", ""]])

    @needs_pandas
    def test_series_and_runs_as_pandas(self):
        folder = self.record("--LR", "0.4")
        shown = self.python(f"""\
            frame = xrun.load({folder!r}).series("loss", as_="pandas")
            table = xrun.runs(columns=["data.metrics.acc"])
            print(json.dumps({{"columns": list(frame.columns), "rows": len(frame),
                               "table": list(table.columns), "lr": table["LR"].tolist(),
                               "acc": table["data.metrics.acc"].tolist()}}))
            """)
        self.assertEqual(shown["columns"], ["step", "value", "time", "stage"])
        self.assertEqual(shown["rows"], 6)
        self.assertEqual(shown["table"][:7],
                         ["id", "status", "name", "namespace", "start_time", "duration", "path"])
        self.assertNotIn("__DEBUG__", shown["table"])
        self.assertEqual(shown["lr"], [0.4])
        self.assertEqual(shown["acc"], [0.6])

    @unittest.skipIf(HAS_PANDAS, "pandas is importable: runs() gives a DataFrame")
    def test_without_pandas_runs_gives_records_and_pandas_asked_for_says_why(self):
        self.record()
        shown = self.python("""\
            rows = xrun.runs()
            try:
                xrun.runs(as_="pandas")
                said = None
            except ImportError as error:
                said = str(error)
            print(json.dumps([type(rows).__name__, rows[0]["status"], said]))
            """)
        self.assertEqual(shown[:2], ["list", "done"])
        self.assertIn("needs pandas", shown[2])

    # -- the archive ------------------------------------------------------------------------
    def test_runs_answers_where_columns_sort_and_limit_as_the_command_line(self):
        for lr in ("0.1", "0.2", "0.3"):
            self.record("--LR", lr)
        self.record("--LR", "0.5", "--FAIL")
        shown = self.python("""\
            done = xrun.runs(where='status == "done" and LR >= 0.2', sort="-LR",
                             columns="data.metrics.acc", as_="records")
            limited = xrun.runs(sort="LR", limit=2, as_="records")
            views = xrun.runs(where='status == "failed"', as_="views")
            print(json.dumps({
                "done": [(row["parameters"]["LR"], row["data.metrics.acc"]) for row in done],
                "limited": [row["parameters"]["LR"] for row in limited],
                "failed": [(view.status, view.parameters["LR"], "diverged" in view.log())
                           for view in views]}))
            """)
        self.assertEqual(shown["done"], [[0.3, 0.7], [0.2, 0.8]])
        self.assertEqual(shown["limited"], [0.1, 0.2])
        self.assertEqual(shown["failed"], [["failed", 0.5, True]])
        listed = self.xrun("archive", "list", "--json", "--where",
                           'status == "done" and LR >= 0.2', "--sort", "-LR")
        self.assertEqual([row["parameters"]["LR"] for row in json.loads(listed.stdout)],
                         [0.3, 0.2])

    def test_a_bad_where_is_a_value_error_with_the_column(self):
        self.record()
        result = self.python("""\
            try:
                xrun.runs(where="LR >> 1")
            except ValueError as error:
                print(json.dumps(str(error)))
            """)
        self.assertIn("--where: column 5", result)
        self.assertIn("LR >> 1", result)
        result = self.python("""\
            import warnings
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                rows = xrun.runs(where="lr > 0", as_="records")
            print(json.dumps([rows, [str(w.message) for w in caught]]))
            """)
        self.assertEqual(result[0], [])
        self.assertIn("no run has a value for lr (did you mean LR?)", result[1][0])
        result = self.python("""\
            try:
                xrun.runs(path="nowhere")
            except ValueError as error:
                print(json.dumps(str(error)))
            """)
        self.assertIn("is not an archive folder", result)

    @needs_extension
    def test_a_running_run_reads_live_and_a_killed_one_shows_lost(self):
        process = self.start("run", "exp.py", "--WAIT")
        self.addCleanup(process.communicate)
        self.addCleanup(lambda: process.poll() is None and os.killpg(process.pid,
                                                                     signal.SIGKILL))
        self.wait_for(lambda: (self.dir / "ready").exists(), what="the run to wait")
        # The data is saved within a second of a change.
        data = self.dir / "results" / "exp"
        self.wait_for(lambda: any("results" in path.read_text()
                                  for path in data.glob("*/experiment_data.json")),
                      what="the data to be saved")
        script = """\
            (view,) = xrun.runs(as_="views")
            (row,) = xrun.runs(as_="records")
            print(json.dumps([view.status, row["status"], view.results["model"]]))
            """
        self.assertEqual(self.python(script), ["running", "running", "mlp"])
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=60)
        self.assertEqual(self.python(script), ["lost", "lost", "mlp"])

    @needs_extension
    def test_a_running_run_of_another_host_is_lost_by_its_heartbeat_as_the_listing_says(self):
        folder = self.record()
        meta_file = os.path.join(folder, "experiment_meta.json")
        with open(meta_file) as file:
            meta = json.load(file)
        shown = []
        for heartbeat_age in (5, 3600):
            meta.update(status="running", host="another-host.example", pid=1,
                        heartbeat=time.time() - heartbeat_age)
            with open(meta_file, "w") as file:
                json.dump(meta, file)
            shown.append(self.python(f"""\
                (row,) = xrun.runs(as_="records")
                print(json.dumps([xrun.load({folder!r}).status, row["status"]]))
                """))
        self.assertEqual(shown, [["running", "running"], ["lost", "lost"]])

    def test_an_archive_copied_elsewhere_still_loads(self):
        folder = self.record("--LR", "0.25")
        shutil.copytree(self.dir / "results", self.dir / "moved")
        shutil.rmtree(self.dir / "results")
        run_id = os.path.basename(folder)
        shown = self.python(f"""\
            run = xrun.load({run_id!r}, path="moved")
            (row,) = xrun.runs(path="moved", as_="records")
            print(json.dumps([run.path, run.parameters["LR"], run.series("loss")["step"].size,
                              row["id"]]))
            """)
        self.assertEqual(shown, [str(self.dir / "moved" / "exp" / run_id), 0.25, 6, run_id])

    def test_a_link_out_of_a_run_is_refused(self):
        folder = self.record()
        self.write("secret.json", '{"password": "x"}')
        data = os.path.join(folder, "experiment_data.json")
        os.remove(data)
        os.symlink(self.dir / "secret.json", data)
        os.makedirs(self.dir / "elsewhere")
        self.write("elsewhere/stolen.csv", "step,value,time\n0,1,1\n")
        os.symlink(self.dir / "elsewhere", os.path.join(folder, ".track", "linked"))
        shown = self.python(f"""\
            run = xrun.load({folder!r})
            said = []
            for read in (lambda: run.data, lambda: run.series("linked/stolen"),
                         lambda: run.series("../../../secret")):
                try:
                    read()
                    said.append(None)
                except (ValueError, KeyError) as error:
                    said.append(str(error))
            print(json.dumps([said, run.series_names()]))
            """)
        said, names = shown
        self.assertIn("is a symbolic link", said[0])
        self.assertIn("is a symbolic link", said[1])
        self.assertIn("is not a relative path inside the run folder", said[2])
        self.assertNotIn("linked/stolen", names)

    def test_a_run_with_a_damaged_meta_is_corrupt_as_the_listing_says(self):
        folder = self.record()
        with open(os.path.join(folder, "experiment_meta.json"), "w") as file:
            file.write('{"status": "done", ')
        shown = self.python(f"""\
            run = xrun.load({os.path.basename(folder)[-6:]!r})
            (row,) = xrun.runs(as_="records")
            try:
                run.meta
                said = None
            except ValueError as error:
                said = str(error)
            print(json.dumps([run.status, row["status"], said, run.log()]))
            """)
        self.assertEqual(shown[:2], ["corrupt", "corrupt"])
        self.assertIn("experiment_meta.json is not valid JSON", shown[2])
        self.assertIn("trained mlp", shown[3])  # the rest of the run still reads

    # -- outputs ----------------------------------------------------------------------------
    def write_outputs(self, folder: str, files: dict, kinds: dict, wrong=()) -> None:
        """Writes `files` (name -> bytes) under outputs/ and outputs.json listing them, with
        the SHA-256 of the names in `wrong` not theirs."""
        entries = []
        os.makedirs(os.path.join(folder, "outputs"))
        for name, content in files.items():
            file = f"outputs/{name}"
            with open(os.path.join(folder, file), "wb") as handle:
                handle.write(content)
            digest = hashlib.sha256(content + (b"x" if name in wrong else b"")).hexdigest()
            entries.append({"name": name, "kind": kinds[name], "file": file,
                            "size": len(content), "sha256": digest})
        with open(os.path.join(folder, "outputs.json"), "w") as handle:
            json.dump({"outputs": entries}, handle)

    def test_outputs_load_by_kind_after_their_size_and_hash_are_checked(self):
        import numpy

        folder = self.record()
        array = io.BytesIO()
        numpy.save(array, numpy.arange(6, dtype=numpy.int32).reshape(2, 3))
        files = {"weights": array.getvalue(), "scores": b'{"f1": 0.5}',
                 "table": b"a,b\n1,2\n3,4\n", "blob": b"\x00\x01", "tampered": b"[1]",
                 "cut": b"[1, 2]", "model": b"\x80\x04K\x01."}
        kinds = {"weights": "npy", "scores": "json", "table": "csv", "blob": "bytes",
                 "tampered": "json", "cut": "json", "model": "pickle"}
        self.write_outputs(folder, files, kinds, wrong={"tampered"})
        with open(os.path.join(folder, "outputs", "cut"), "wb") as handle:
            handle.write(b"[1,")  # shorter than listed
        shown = self.python(f"""\
            run = xrun.load({folder!r})
            outputs = run.outputs
            weights = outputs["weights"]
            said = {{}}
            for name in ("tampered", "cut", "model", "nothing"):
                try:
                    run.output(name)
                except (ValueError, KeyError) as error:
                    said[name] = str(error)
            table = None
            try:
                table = run.output("table").values.tolist()
            except ImportError as error:
                said["table"] = str(error)
            print(json.dumps({{
                "names": sorted(outputs), "weights": [weights.shape, weights.tolist()],
                "scores": outputs["scores"], "blob": run.output("blob"),
                "model": run.output("model", allow_pickle=True), "table": table,
                "said": said}}))
            """)
        self.assertEqual(shown["names"], sorted(files))
        self.assertEqual(shown["weights"], [[2, 3], [[0, 1, 2], [3, 4, 5]]])
        self.assertEqual(shown["scores"], {"f1": 0.5})
        self.assertEqual(shown["blob"], os.path.join(folder, "outputs", "blob"))
        self.assertEqual(shown["model"], 1)
        said = shown["said"]
        self.assertIn("has SHA-256", said["tampered"])
        self.assertIn("the file changed since the run wrote it", said["tampered"])
        self.assertIn("has 3 bytes, outputs.json says 6", said["cut"])
        self.assertIn("allow_pickle=True", said["model"])
        self.assertIn("has no output 'nothing'", said["nothing"])
        if HAS_PANDAS:
            self.assertEqual(shown["table"], [[1, 2], [3, 4]])
        else:
            self.assertIn("needs pandas", said["table"])


if __name__ == "__main__":
    unittest.main()
