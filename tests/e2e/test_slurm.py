"""Sweeps on a real single-machine Slurm: submission, run folders, status, failures,
cancellation, resume, the time-limit warning with requeue, and refused submissions.

The cluster is started by this file (slurm_cluster.py) and stopped at its end. When it cannot be
started the tests fail and say why; XRUN_SKIP_SLURM=1 skips them instead, visibly."""

import json
import os
import subprocess
import time
import unittest

from slurm_cluster import SlurmCluster, SlurmUnavailable
from support import Workspace, experiment_source

CLUSTER = None
UNAVAILABLE = None

TRAIN = experiment_source('''
    import os
    import time
    LR: float = 0.1
    HOLD: str = ""     # while this file exists the run waits (at most a minute)
    FAIL_IF: str = ""  # while this file exists a run with LR above 0.15 fails
    ''', '''
    deadline = time.time() + 60
    while HOLD and os.path.exists(HOLD) and time.time() < deadline:
        time.sleep(0.1)
    if FAIL_IF and os.path.exists(FAIL_IF) and LR > 0.15:
        raise ValueError(f"LR {LR} fails")
    e["score"] = LR * 2
    ''')

ACTIVE = ("submitted", "pending", "requeued", "starting", "running", "ending")


def setUpModule():
    global CLUSTER, UNAVAILABLE
    if os.environ.get("XRUN_SKIP_SLURM") == "1":
        return
    cluster = SlurmCluster()
    try:
        cluster.start()
        CLUSTER = cluster
    except SlurmUnavailable as error:
        cluster.stop()
        UNAVAILABLE = str(error)


def tearDownModule():
    if CLUSTER is not None:
        CLUSTER.stop()


class Slurm(Workspace):
    def setUp(self):
        if os.environ.get("XRUN_SKIP_SLURM") == "1":
            self.skipTest("XRUN_SKIP_SLURM=1: the Slurm tests are skipped")
        if CLUSTER is None:
            self.fail(f"cannot start a Slurm cluster for the tests: {UNAVAILABLE}")
        super().setUp()
        self.write("train.py", TRAIN)
        self.namespace = "results/train"

    def tearDown(self):
        # Nothing of this test stays in the queue of the next.
        self.slurm("scancel", f"--user={os.getuid()}")
        self.wait_for(lambda: not self.slurm("squeue", "-h").stdout.strip(), timeout=30,
                      what="an empty queue")

    def env(self, **extra):
        return super().env(**CLUSTER.env, **extra)

    def slurm(self, *args):
        return subprocess.run(list(args), capture_output=True, text=True, env=self.env())

    def sweep_folder(self):
        folders = sorted((self.dir / self.namespace / ".sweeps").iterdir())
        self.assertEqual(len(folders), 1, folders)
        return folders[0]

    def manifest(self):
        return json.loads((self.sweep_folder() / "manifest.json").read_text())

    def status(self):
        result = self.xrun("sweep", "status", self.sweep_folder().name, "--path", "results")
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def row_statuses(self):
        """The status of each variation, as `xrun sweep status` shows it."""
        lines = self.status().splitlines()[1:]
        return [line.split()[0] for line in lines if line.startswith("  ") and "#" in line]

    def assertStatuses(self, expected):
        status = self.status()
        found = [line.split()[0] for line in status.splitlines()[1:]
                 if line.startswith("  ") and "#" in line]
        self.assertEqual(found, expected, status)

    def wait_until_settled(self, timeout=90.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(status in ACTIVE for status in self.row_statuses()):
                return
            time.sleep(0.3)
        self.fail(f"the sweep did not settle within {timeout} s:\n{self.status()}")

    def runs_by_index(self):
        runs = {}
        for run in self.runs(self.namespace):
            meta = self.meta(run)
            runs.setdefault(meta["sweep"]["index"], []).append((meta["start_time"], run, meta))
        return {index: [entry[1:] for entry in sorted(found)] for index, found in runs.items()}

    def submit(self, *args):
        result = self.xrun("run", *args)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("submitted to Slurm as job", result.stderr)
        return result

    def test_a_sweep_runs_as_one_job_array_and_resume_submits_only_what_is_not_done(self):
        self.namespace = "results/sweep"
        self.write("fail.flag", "")
        self.write("sweep.yml", """extend: train.py
parameters: {FAIL_IF: fail.flag}
tags: [cluster]
sweep:
  grid: {LR: [0.1, 0.2, 0.3]}
launcher:
  type: slurm
  array_limit: 2
  time: "10"
""")
        result = self.xrun("run", "sweep.yml", "--tag", "nightly", "--note", "on Slurm",
                           env=self.env(SBATCH_TIMELIMIT="5"))
        self.assertEqual(result.returncode, 0, result.stderr)
        manifest = self.manifest()
        [submission] = manifest["launcher"]["submissions"]
        job = submission["job_id"]
        self.assertIn(f"job {job} (array 0-2%2)", result.stderr)
        self.assertEqual(submission["array"], "0-2%2")
        self.assertEqual([row["job"] for row in manifest["variations"]], [job] * 3)
        script = (self.sweep_folder() / submission["script"]).read_text()
        for flag in ("--array=0-2%2", "--time=10", "--signal=B:USR1@120", "--no-requeue"):
            self.assertIn(f" {flag} ", script)  # how it was submitted
        self.assertIn("sweep task", script)
        # What Slurm made of it (the options on sbatch's command line win over SBATCH_*).
        shown = self.slurm("scontrol", "-o", "show", "job", job).stdout
        self.assertIn("TimeLimit=00:10:00", shown)
        self.assertIn("Requeue=0", shown)

        self.wait_until_settled()
        self.assertStatuses(["done", "failed", "failed"])
        status = self.status()
        self.assertIn(f"on Slurm: job {job}", status)
        self.assertIn("ValueError", status)
        runs = self.runs_by_index()
        self.assertEqual(sorted(runs), [0, 1, 2])
        for index, lr in enumerate([0.1, 0.2, 0.3]):
            [(run, meta)] = runs[index]
            self.assertEqual(meta["parameters"]["LR"]["value"], lr)
            self.assertEqual(meta["status"], "done" if index == 0 else "failed")
            self.assertEqual(meta["sweep"]["slurm"]["array_job_id"], job)
            self.assertEqual(meta["sweep"]["slurm"]["task_id"], str(index))
            self.assertEqual((meta["tags"], meta["note"]), (["cluster", "nightly"], "on Slurm"))
            self.assertTrue((self.sweep_folder() / "slurm" / f"{job}_{index}.out").exists())

        # The cause fixed, resume submits the two failed variations, and only them.
        (self.dir / "fail.flag").unlink()
        result = self.xrun("sweep", "resume", self.sweep_folder().name, "--path", "results")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("2 variations submitted to Slurm", result.stderr)
        second = self.manifest()["launcher"]["submissions"][1]
        self.assertEqual(second["array"], "1-2%2")
        self.wait_until_settled()
        self.assertStatuses(["done"] * 3)
        runs = self.runs_by_index()
        self.assertEqual([len(runs[index]) for index in range(3)], [1, 2, 2])
        self.assertEqual(runs[2][-1][1]["sweep"]["slurm"]["array_job_id"], second["job_id"])
        self.assertEqual(runs[2][-1][1]["tags"], ["cluster", "nightly"])  # kept by the manifest
        listed = self.xrun("sweep", "list", "--path", "results")
        self.assertIn("3/3", listed.stdout)
        self.assertIn("finished", listed.stdout)

    def test_a_function_sweeps_on_slurm_with_its_outputs_and_results(self):
        self.namespace = "results/fn/fit"
        self.write("fn.py", """import numpy as np
import xrun


@xrun.function(outputs=["weights", "score"])
def fit(lr: float = 0.1, width: int = 2):
    return np.full(width, lr), lr * 10
""")
        self.submit("fn.py:fit", "--sweep", "lr=0.1,0.2", "--width", "3", "--launcher", "slurm")
        self.wait_until_settled()
        self.assertStatuses(["done", "done"])
        runs = self.runs_by_index()
        for index, lr in enumerate([0.1, 0.2]):
            [(run, meta)] = runs[index]
            self.assertEqual(meta["function"]["name"], "fit")
            self.assertEqual(meta["parameters"]["lr"]["value"], lr)
            self.assertEqual(meta["parameters"]["width"]["value"], 3)
            self.assertEqual(self.data(run)["results"]["score"], lr * 10)
            listing = json.loads((run / "outputs.json").read_text())["outputs"]
            self.assertEqual([(o["name"], o["kind"]) for o in listing], [("weights", "npy")])

    def test_cancel_stops_the_array_and_resume_runs_the_rest(self):
        self.write("hold", "")
        self.submit("train.py", "--sweep", "LR=0.1,0.2,0.3", "--HOLD", "hold",
                    "--launcher", "slurm", "--array-limit", "1")
        self.wait_for(lambda: self.row_statuses()[0] == "running", timeout=60,
                      what="the first variation to run")
        sweep_id = self.sweep_folder().name
        result = self.xrun("sweep", "cancel", sweep_id, "--path", "results")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("2 variations never started", result.stdout)
        self.wait_until_settled()
        self.assertStatuses(["interrupted", "cancelled", "cancelled"])
        [(run, meta)] = self.runs_by_index()[0]
        self.assertIn("SIGTERM from Slurm", meta["interrupted_by"]["reason"])
        self.assertIn("(cancelled, on Slurm", self.status())
        job = self.manifest()["launcher"]["submissions"][0]["job_id"]
        self.wait_for(lambda: not self.slurm("squeue", "-h", "-j", job).stdout.strip(),
                      timeout=30, what="the cancelled job to leave the queue")

        (self.dir / "hold").unlink()
        result = self.xrun("sweep", "resume", sweep_id, "--path", "results")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("3 variations submitted", result.stderr)
        self.wait_until_settled()
        self.assertStatuses(["done"] * 3)

    def test_the_time_limit_warning_interrupts_the_run_and_requeue_runs_it_again(self):
        self.write("hold", "")
        self.submit("train.py", "--sweep", "LR=0.1", "--HOLD", "hold", "--launcher", "slurm",
                    "--requeue", "--time", "30")
        self.wait_for(lambda: self.row_statuses()[0] == "running", timeout=60,
                      what="the variation to run")
        job = self.manifest()["launcher"]["submissions"][0]["job_id"]
        self.assertIn("Requeue=1", self.slurm("scontrol", "-o", "show", "job", job).stdout)
        # What Slurm sends --signal-before seconds before the limit: SIGUSR1 to the batch step.
        sent = self.slurm("scancel", "--signal=USR1", "--batch", f"{job}_0")
        self.assertEqual(sent.returncode, 0, sent.stderr)
        self.wait_for(lambda: self.row_statuses()[0] == "requeued", timeout=60,
                      what="the task to be requeued")
        [(first, meta)] = self.runs_by_index()[0]
        self.assertEqual(meta["status"], "interrupted")
        self.assertEqual(meta["interrupted_by"]["signal"], "SIGUSR1")
        self.assertIn("time limit", meta["interrupted_by"]["reason"])
        self.assertIn("Slurm runs it again (restart 1)", self.status())

        (self.dir / "hold").unlink()
        # Slurm holds a requeued task back for two minutes; let it go now. (slurmd refuses to
        # start a job it killed moments ago, so not at once: this is no timing assertion.)
        time.sleep(5)
        updated = self.slurm("scontrol", "update", f"JobId={job}_0", "StartTime=now")
        self.assertEqual(updated.returncode, 0, updated.stderr)
        self.wait_until_settled()
        self.assertStatuses(["done"])
        runs = self.runs_by_index()[0]
        self.assertEqual(len(runs), 2)
        self.assertEqual(runs[1][1]["status"], "done")
        self.assertEqual(runs[1][1]["sweep"]["slurm"]["restarts"], "1")

    def test_a_task_whose_supervisor_slurm_killed_is_lost_with_the_reason(self):
        self.write("hold", "")
        self.submit("train.py", "--sweep", "LR=0.1", "--HOLD", "hold", "--launcher", "slurm")
        self.wait_for(lambda: self.row_statuses()[0] == "running", timeout=60,
                      what="the variation to run")
        job = self.manifest()["launcher"]["submissions"][0]["job_id"]
        self.slurm("scancel", "--signal=KILL", "--batch", f"{job}_0")
        self.wait_until_settled()
        self.assertStatuses(["lost"])
        self.assertIn("Slurm ended the task", self.status())

    def test_skip_done_works_across_launchers(self):
        result = self.xrun("run", "train.py", "--sweep", "LR=0.1,0.2", "-j", "2")
        self.assertEqual(result.returncode, 0, result.stderr)
        result = self.xrun("run", "train.py", "--sweep", "LR=0.1,0.2,0.3", "--skip-done",
                           "--launcher", "slurm")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("1 variation submitted to Slurm", result.stderr)
        folders = sorted((self.dir / "results/train/.sweeps").iterdir())
        manifest = json.loads((folders[-1] / "manifest.json").read_text())
        self.assertEqual([row["status"] for row in manifest["variations"]],
                         ["skipped", "skipped", "submitted"])
        self.assertEqual(manifest["launcher"]["submissions"][0]["array"], "2")

    def test_refused_submissions_leave_nothing_behind(self):
        result = self.xrun("run", "train.py", "--sweep", "LR=0.1,0.2", "--launcher", "slurm",
                           "--partition", "nosuchpartition")
        self.assertUsageError(result, "sbatch refused", "nosuchpartition")
        self.assertEqual(list((self.dir / "results/train/.sweeps").iterdir()), [])
        self.assertNoRunFolder()

        result = self.xrun("run", "train.py", "--sweep", "LR=0.1,0.2", "--launcher", "slurm",
                           env=self.env(PATH=str(self.dir / "empty")))
        self.assertUsageError(result, "sbatch is not on PATH")
        self.assertEqual(list((self.dir / "results/train/.sweeps").iterdir()), [])

        result = self.xrun("run", "train.py", "--sweep", "LR=0.1", "--launcher", "slurm",
                           "--time", "2h")
        self.assertUsageError(result, "--time", "2h", "time limit")
        result = self.xrun("run", "train.py", "--sweep", "LR=0.1", "--mem", "1G")
        self.assertUsageError(result, "--mem is for --launcher slurm")
        self.write("bad.yml", "extend: train.py\nlauncher:\n  type: slurm\n  gpus: many\n")
        result = self.xrun("run", "bad.yml")
        self.assertUsageError(result, "bad.yml:4:3", "launcher.gpus", "many")
        self.assertNoRunFolder()


if __name__ == "__main__":
    unittest.main()
