"""Faults on xrun's write paths: one write, sync, rename, link, mkdir or open failing (a full
disk, an I/O error, a refused permission) at each point of a run and of the archive commands.
Whatever fails, no run is lost or half-written, no temp file is left, the exit code and the
recorded status say what happened, and the archive stays listable.

The calls are counted by the LD_PRELOAD library tests/faults/fault_shim.c; a test counts the
calls of a command first, then fails a sample of them (a fixed seed; the first and last calls
always), one command each. bench/faults.py fails every one.
"""

import json
import os
import unittest
from pathlib import Path

from fault_injection import (SHIM, STRERROR, damage, fault_environment, listing, read_count,
                             run_files, sample, unexpected_exit)
from support import Workspace, experiment_source

STEPS = 300

EXPERIMENT = experiment_source(
    f"""
    LR = 0.1
    STEPS = {STEPS}
    """,
    """
    print("training")
    e.log(f"lr={e.LR}")
    for step in range(e.STEPS):
        e.track("loss", 1.0 / (step + 1))
    e["result"] = {"lr": e.LR, "steps": e.STEPS}
    e["losses"] = [1.0 / (step + 1) for step in range(10)]
    """)


class FaultCase(Workspace):
    maxDiff = None

    """A workspace with the experiment and one earlier run in its archive."""

    def setUp(self):
        super().setUp()
        if not SHIM:
            self.skipTest("XRUN_FAULT_SHIM is not set (run the tests through ctest)")
        if os.environ.get("XRUN_SANITIZED"):
            self.skipTest("the sanitizers' runtime must be the first library loaded, "
                          "not the fault shim")
        self.write("exp.py", EXPERIMENT)
        first = self.xrun("run", "exp.py")
        self.assertEqual(first.returncode, 0, first.stderr)
        self.archive = self.dir / "results"
        self.count_file = self.dir / "fault-count"
        self.earlier = run_files(self.archive)

    def faulted(self, *args, call=0, error="ENOSPC", only="", persist=False, path=None):
        """Runs xrun with the shim; returns (result, the number of calls it counted)."""
        self.count_file.unlink(missing_ok=True)
        env = fault_environment(self.env(), self.count_file, path or self.archive, call, error,
                                only, persist)
        result = self.xrun(*args, env=env)
        return result, read_count(self.count_file)

    def count(self, *args, path=None):
        """How many calls `xrun args` makes that the shim counts; the command must succeed."""
        result, total = self.faulted(*args, path=path)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertGreater(total, 0, "the shim counted nothing: is it loaded?")
        return total

    def archive_problems(self):
        """What is wrong with the archive after a command: damage, an earlier run changed or
        lost, a listing that fails."""
        problems = damage(self.dir)
        now = run_files(self.archive)
        for name, content in self.earlier.items():
            if now.get(name) != content:
                problems.append(f"an earlier run's file changed or was lost: {name}")
        problem, _ = listing(XRUN_BIN(), self.dir, self.env())
        if problem:
            problems.append(problem)
        return problems


def XRUN_BIN():
    from support import XRUN
    return XRUN


class RunFaults(FaultCase):
    """A run with one failing call: recorded truly, or not at all (exit 74)."""

    def new_runs(self, before):
        return [run for run in self.runs("results/exp") if run not in before]

    def run_problems(self, result, error, before):
        """What is wrong with the run a faulted `xrun run` made, given its exit code; `before`:
        the run folders there were."""
        problems = unexpected_exit(result, {0, 1, 74})
        runs = self.new_runs(before)
        if len(runs) > 1:
            return problems + [f"{len(runs)} run folders for one run"]
        if not runs:
            if result.returncode != 74:
                problems.append(f"exit code {result.returncode} and no run folder")
            return problems
        run = runs[0]
        meta = self.meta(run)
        status = meta["status"]
        if result.returncode == 0:
            # A done run has everything the experiment made.
            if status != "done":
                problems.append(f"exit 0 with status {status}")
            if not (run / "experiment_data.json").exists() or \
                    self.data(run).get("result") != {"lr": 0.1, "steps": STEPS}:
                problems.append("a done run without its data")
            series = run / ".track" / "loss.csv"
            rows = series.read_text().splitlines()[1:] if series.exists() else []
            if len(rows) != STEPS:
                problems.append(f"a done run with {len(rows)} of {STEPS} tracked points")
            if "training" not in self.log(run):
                problems.append("a done run without its output in the log")
        elif result.returncode == 1:
            # The run failed because of the fault, and says so.
            if status != "failed":
                problems.append(f"exit 1 with status {status}")
            elif STRERROR[error] not in meta.get("error_message", ""):
                problems.append(f"failed without the reason: {meta.get('error_message')!r}")
        else:
            # Exit 74 with a run folder: the end could not be recorded; what is there is whole
            # and does not claim a success.
            if status == "done":
                problems.append("exit 74 with status done")
        return problems

    def sweep(self, calls, error, persist=False):
        failures = {}
        for call in calls:
            before = self.runs("results/exp")
            result, _ = self.faulted("run", "exp.py", call=call, error=error, persist=persist)
            problems = self.run_problems(result, error, before) + self.archive_problems()
            if problems:
                failures[call] = problems
        return failures

    def test_each_call_failing_once(self):
        total = self.count("run", "exp.py")
        calls = sample(total, 40, seed=1)
        failures = self.sweep(calls, "ENOSPC")
        self.assertEqual(failures, {}, f"{len(failures)} of {len(calls)} calls of {total}")

    def test_disk_full_from_each_call_on(self):
        total = self.count("run", "exp.py")
        calls = sample(total, 25, seed=2)
        failures = self.sweep(calls, "ENOSPC", persist=True)
        self.assertEqual(failures, {}, f"{len(failures)} of {len(calls)} calls of {total}")

    def test_io_and_permission_errors(self):
        total = self.count("run", "exp.py")
        for error, seed in (("EIO", 3), ("EACCES", 4)):
            with self.subTest(error=error):
                calls = sample(total, 15, seed=seed)
                failures = self.sweep(calls, error)
                self.assertEqual(failures, {}, f"{len(failures)} of {len(calls)} calls")

    def test_fault_before_anything_is_made(self):
        # The first call is the namespace's or the staged folder's: nothing is made.
        before = self.runs("results/exp")
        result, _ = self.faulted("run", "exp.py", call=1, error="ENOSPC", persist=True)
        self.assertEqual(result.returncode, 74, result.stderr)
        self.assertIn("xrun: error:", result.stderr)
        self.assertEqual(self.new_runs(before), [])
        self.assertEqual(self.archive_problems(), [])


if __name__ == "__main__":
    unittest.main()
