"""Batches: `xrun.Batch` in plain python3 scripts on the built xrun: rows run once per cache
key (a second call, a duplicate row and a call after the batch was killed mid-way compute
nothing twice), forked workers with jobs=2, get_runs_with's operators, save_ids, the sweep
manifest that `xrun sweep status`, `list` and `resume` read, and bad input that creates
nothing."""

import json
import os
import signal
import subprocess
import textwrap
import unittest

from support import Workspace

PYTHON = "/usr/bin/python3"
HAS_NUMPY = subprocess.run([PYTHON, "-c", "import numpy"], capture_output=True).returncode == 0

# `train` appends a line to calls.txt per call (its pid and values), so a test counts what was
# computed; it fails for lr > 1 and, for the row whose epochs is in WAIT, writes "ready" and
# waits for a file "go".
MODULE = """\
import os
import time

WAIT = int(os.environ.get("WAIT", "-1"))


def train(lr: float = 0.01, epochs: int = 10, layers: list = [1], activation=None):
    with open("calls.txt", "a") as calls:
        calls.write(f"{os.getpid()} {lr} {epochs}\\n")
    if epochs == WAIT:
        open("ready", "w").close()
        while not os.path.exists("go"):
            time.sleep(0.02)
    if lr > 1:
        raise ValueError(f"lr {lr} diverges")
    return {"acc": lr * epochs, "depth": len(layers)}
"""

# The batch: six factorial rows and a duplicate of the first.
SCRIPT = """\
import json, os, sys
import xrun
from mod import train

batch = xrun.Batch("example", base="results")
batch.add_factorial_runs(train, {"lr": [0.1, 0.2, 5.0], "epochs": [10, 20]})
batch.add_run(train, {"lr": 0.1, "epochs": 10})
failed = batch(jobs=int(os.environ.get("JOBS", "1")))
print(json.dumps({"failed": [row.index for row in failed],
                  "results": [row.result for row in batch.run],
                  "acc0": batch.run[0].result("acc"),
                  "ids": [row.id for row in batch.run],
                  "done": [row.done for row in batch.run],
                  "pid": os.getpid()}))
"""


# A run of plain python3 is watched (its log captured, its kill recorded) through the _xrun
# extension, which a sanitizer build has not: there Python records the run alone.
needs_extension = unittest.skipIf(os.environ.get("XRUN_SANITIZED") == "1",
                                  "no _xrun extension module in a sanitizer build")


class BatchWorkspace(Workspace):
    def setUp(self):
        super().setUp()
        self.package = self.python_package()
        self.write("mod.py", MODULE)
        self.write("batch.py", SCRIPT)

    def kill_when_row_1_runs(self):
        """Runs batch.py (row 1 waits) and SIGKILLs it once row 1 has started."""
        process = subprocess.Popen([PYTHON, "batch.py"], cwd=self.dir, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   env=self.env(PYTHONPATH=self.package, WAIT="20"))
        self.wait_for(lambda: (self.dir / "ready").exists(), timeout=60, what="row 1 to start")
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)

    def python(self, script="batch.py", expect_ok=True, **env):
        result = subprocess.run([PYTHON, script], cwd=self.dir, capture_output=True, text=True,
                                timeout=180, env=self.env(PYTHONPATH=self.package, **env))
        if expect_ok:
            self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def answer(self, result) -> dict:
        return json.loads(result.stdout.strip().splitlines()[-1])

    def calls(self) -> list:
        path = self.dir / "calls.txt"
        return path.read_text().splitlines() if path.exists() else []

    def sweeps(self) -> list:
        folder = self.dir / "results" / "example" / ".sweeps"
        return sorted(path.name for path in folder.iterdir()) if folder.exists() else []

    def manifest(self, sweep: str) -> dict:
        return json.loads((self.dir / "results" / "example" / ".sweeps" / sweep /
                           "manifest.json").read_text())


class Batches(BatchWorkspace):
    def test_rows_run_once_per_key_and_a_second_call_runs_none(self):
        first = self.answer(self.python())
        self.assertEqual(first["failed"], [4, 5])
        self.assertEqual([row and row["acc"] for row in first["results"]],
                         [1.0, 2.0, 2.0, 4.0, None, None, 1.0])
        self.assertEqual(first["acc0"], 1.0)  # result("acc") as well as result["acc"]
        # The duplicate row is the first row's run, computed once.
        self.assertEqual(first["ids"][6], first["ids"][0])
        self.assertEqual(len(self.calls()), 6)
        runs = self.runs("results/example")
        self.assertEqual(len(runs), 6)
        for run in runs:
            meta = self.meta(run)
            self.assertEqual(meta["function"]["name"], "train")
            self.assertEqual(meta["sweep"]["batch"], "example")
        (sweep,) = self.sweeps()
        manifest = self.manifest(sweep)
        self.assertEqual(manifest["request"]["file"], str(self.dir / "mod.py"))
        self.assertEqual(manifest["request"]["function"], "train")
        self.assertEqual(manifest["state"], "finished")
        self.assertEqual([row["status"] for row in manifest["variations"]],
                         ["done"] * 4 + ["failed"] * 2 + ["skipped"])
        self.assertEqual(manifest["variations"][6]["run"], first["ids"][0])
        self.assertEqual(manifest["variations"][2]["parameters"], {"lr": 0.2, "epochs": 10})
        self.assertEqual(manifest["variations"][2]["settings"][0],
                         {"name": "lr", "file": "batch example row 2", "line": 0, "column": 0,
                          "source": "cli", "value": 0.2})

        # Called again: only the failed rows run (and fail) again.
        second = self.python()
        self.assertEqual(self.answer(second)["ids"][:4], first["ids"][:4])
        self.assertEqual(len(self.calls()), 8)
        self.assertIn("row 4 (lr=5.0 epochs=10) failed: ValueError: lr 5.0 diverges",
                      second.stderr)
        self.write("mod.py", MODULE.replace("lr > 1", "lr > 10"))  # the code changes:
        third = self.answer(self.python())  # a new cache key for every row
        self.assertEqual(third["failed"], [])
        self.assertEqual(len(self.calls()), 8 + 6)

    def test_everything_done_runs_nothing_and_writes_no_sweep(self):
        self.write("mod.py", MODULE.replace("lr > 1", "lr > 10"))
        self.python()
        self.assertEqual(len(self.sweeps()), 1)
        again = self.python()
        self.assertIn("batch example: all 7 rows are done already", again.stderr)
        self.assertEqual(len(self.sweeps()), 1)
        self.assertEqual(len(self.calls()), 6)

    def test_two_jobs_run_each_row_in_a_worker_of_its_own(self):
        answer = self.answer(self.python(JOBS="2"))
        self.assertEqual(answer["failed"], [4, 5])
        self.assertEqual(answer["done"], [True] * 4 + [False] * 2 + [True])
        pids = [line.split()[0] for line in self.calls()]
        self.assertEqual(len(pids), 6)
        self.assertEqual(len(set(pids)), 6)
        self.assertNotIn(str(answer["pid"]), pids)
        self.assertEqual(sorted(line.split(" ", 1)[1] for line in self.calls()),
                         ["0.1 10", "0.1 20", "0.2 10", "0.2 20", "5.0 10", "5.0 20"])
        (sweep,) = self.sweeps()
        status = self.xrun("sweep", "status", sweep, "--path", "results")
        self.assertEqual(status.returncode, 0, status.stderr)
        self.assertIn("7 variations: 4 done, 2 failed, 1 skipped", status.stdout)
        self.assertRegex(status.stdout, r"done\s+#1\s+\S+\s+lr=0.1 epochs=20")
        listing = self.xrun("sweep", "list", "--path", "results")
        self.assertRegex(listing.stdout, rf"{sweep}\s+5/\s*7\s+done\s+finished\s+example")

    def test_a_batch_killed_midway_is_completed_by_calling_it_again(self):
        self.kill_when_row_1_runs()
        self.assertEqual(len(self.calls()), 2)  # row 0 done, row 1 killed while running
        (first,) = self.sweeps()
        status = self.xrun("sweep", "status", first, "--path", "results")
        self.assertIn("(lost: its process", status.stdout)
        self.assertRegex(status.stdout, r"done\s+#0")
        self.assertRegex(status.stdout, r"pending\s+#5")

        answer = self.answer(self.python())
        self.assertEqual(answer["failed"], [4, 5])
        computed = [line.split(" ", 1)[1] for line in self.calls()]
        self.assertEqual(computed.count("0.1 10"), 1)  # not redone
        self.assertEqual(computed.count("0.1 20"), 2)  # killed, then run again
        self.assertEqual(len(computed), 7)
        second = self.manifest(self.sweeps()[1])
        self.assertEqual(second["variations"][0]["status"], "skipped")
        self.assertEqual(second["variations"][0]["run"], answer["ids"][0])

    def test_get_runs_with_each_operator(self):
        self.write("query.py", textwrap.dedent("""\
            import json
            import xrun
            from mod import train

            batch = xrun.Batch("example")
            batch.add_factorial_runs(train, {"lr": [0.1, 0.2, 0.3], "epochs": [10, 20]})
            batch.add_run(train, {"lr": 0.1, "layers": [2, 5, 8]})
            batch.add_run(train, {"lr": 0.1, "layers": [8]})

            def rows(**conditions):
                return [row.index for row in batch.get_runs_with(**conditions)]

            print(json.dumps({
                "eq": rows(lr=0.2), "eq2": rows(lr__eq=0.2), "ne": rows(lr__ne=0.1),
                "lt": rows(lr__lt=0.2), "le": rows(lr__le=0.2), "gt": rows(epochs__gt=10),
                "ge": rows(lr__ge=0.2, epochs=20), "in": rows(lr__in=[0.1, 0.3]),
                "list_is_membership": rows(lr=[0.1, 0.3], epochs=[20]),
                "list_parameter_is_equality": rows(layers=[2, 5, 8]),
                "default_counts": rows(layers=[1], epochs=10),
                "none": rows(lr=0.7)}))
            try:
                batch.get_runs_with(epoch=10)
            except xrun.UsageError as error:
                print(json.dumps(str(error)))
            """))
        lines = self.python("query.py").stdout.strip().splitlines()
        self.assertEqual(json.loads(lines[-2]), {
            "eq": [2, 3], "eq2": [2, 3], "ne": [2, 3, 4, 5], "lt": [0, 1, 6, 7],
            "le": [0, 1, 2, 3, 6, 7], "gt": [1, 3, 5], "ge": [3, 5], "in": [0, 1, 4, 5, 6, 7],
            "list_is_membership": [1, 5], "list_parameter_is_equality": [6],
            "default_counts": [0, 2, 4], "none": []})
        self.assertIn("batch example: get_runs_with: no row has a parameter 'epoch'",
                      json.loads(lines[-1]))
        self.assertFalse((self.dir / "results").exists())  # nothing ran

    @unittest.skipUnless(HAS_NUMPY, "numpy is not importable by /usr/bin/python3")
    def test_save_ids_writes_the_run_ids_that_load_reads(self):
        self.write("mod.py", MODULE.replace("lr > 1", "lr > 10"))
        self.write("ids.py", SCRIPT + textwrap.dedent("""\
            print(batch.save_ids())
            import numpy
            ids = numpy.load("results/example/example_ids.npy")
            print(json.dumps([xrun.load(str(i), path="results").results["acc"] for i in ids]))
            """))
        lines = self.python("ids.py").stdout.strip().splitlines()
        self.assertEqual(json.loads(lines[-1]), [1.0, 2.0, 2.0, 4.0, 50.0, 100.0, 1.0])
        saved = json.loads((self.dir / "results" / "example" / "example_ids.json").read_text())
        self.assertEqual(saved["ids"], json.loads(lines[-3])["ids"])

    def test_bad_rows_are_refused_by_name_before_anything_is_made(self):
        cases = {
            'batch.add_run(train, {"lrr": 0.1})': "train has no parameter 'lrr'",
            'batch.add_run(train, {"lr": "fast"})': "parameter lr (float) cannot be 'fast'",
            'batch.add_factorial_runs(train, {"lr": 0.1})':
                "add_factorial_runs: the values of 'lr' are a list, not 0.1",
            'batch.add_factorial_runs(train, {"lr": [0.1], "epochs": [1, "x"]})':
                "parameter epochs (int) cannot be 'x'",
            'batch.add_run(train, [0.1])': "a row's parameters are a dict",
            'batch(jobs=0)': "jobs is a whole number >= 1, not 0",
            'xrun.Batch("a/b")': "batch name 'a/b' is not a folder name",
        }
        for line, message in cases.items():
            with self.subTest(line):
                self.write("bad.py", "import xrun\nfrom mod import train\n"
                           "batch = xrun.Batch('example')\n"
                           "batch.add_run(train, {'lr': 0.5})\n" + line + "\nbatch()\n")
                result = self.python("bad.py", expect_ok=False)
                self.assertNotEqual(result.returncode, 0)
                self.assertIn(f"xrun.UsageError: {'' if 'Batch(' in line else 'batch example: '}"
                              f"{message}", result.stderr)
                self.assertFalse((self.dir / "results").exists())
                self.assertEqual(self.calls(), [])


@unittest.skipUnless(
    "--cache" in subprocess.run([os.environ.get("XRUN_BIN", "true"), "run", "--help"],
                                capture_output=True, text=True).stdout,
    "this xrun runs no FILE.py:NAME functions")
class Resume(BatchWorkspace):
    """`xrun sweep resume` runs a batch's rows that are not done as `xrun run mod.py:train`."""

    @needs_extension
    def test_resume_completes_a_killed_batch_and_refuses_values_without_a_literal(self):
        self.write("batch.py", SCRIPT.replace(
            'batch.add_run(train, {"lr": 0.1, "epochs": 10})',
            'batch.add_run(train, {"lr": 0.1, "epochs": 10})\n'
            'batch.add_run(train, {"lr": 0.1, "activation": max})'))
        self.kill_when_row_1_runs()
        self.wait_for(lambda: all(self.meta(run)["status"] != "running"
                                  for run in self.runs("results/example")),
                      what="the killed run's end to be recorded")
        (sweep,) = self.sweeps()
        resumed = self.xrun("sweep", "resume", sweep, "--path", "results")
        self.assertEqual(resumed.returncode, 1, resumed.stderr)  # rows 4, 5 and 7 fail
        self.assertIn("batch example row 7: activation=<built-in function max> has no literal "
                      "form to run again from the manifest; run the batch again", resumed.stderr)
        status = self.xrun("sweep", "status", sweep, "--path", "results").stdout
        for index in (0, 1, 2, 3):
            self.assertRegex(status, rf"done\s+#{index}\s")
        computed = [line.split(" ", 1)[1] for line in self.calls()]
        self.assertEqual(computed.count("0.1 10"), 1)
        # The batch called again finds the resumed rows done.
        answer = self.answer(self.python())
        self.assertEqual(answer["failed"], [4, 5])
        self.assertEqual(answer["results"][7], {"acc": 1.0, "depth": 1})
