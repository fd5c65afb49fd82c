"""Sweeps: expansion, parallel runs, the manifest, resume, --skip-done and failure policies."""

import json
import os
import signal
import subprocess
import unittest

from support import XRUN, Workspace, experiment_source, interrupt

TRAIN = experiment_source('''
    import time
    LR: float = 0.1
    BATCH: int = 32
    WIDTH: int = 8
    DEPTH: int = 1
    DROPOUT: float = 0.0
    WD: float = 0.0
    ACT: str = "relu"
    TAG: str = ""
    SLEEP: float = 0.0
    FAIL_AT: float = -1.0
    ''', '''
    time.sleep(SLEEP)
    if LR == FAIL_AT:
        raise ValueError(f"LR {LR} fails")
    e["score"] = LR * BATCH
    ''')

SWEEP = """extend: train.py
parameters: {WIDTH: 16}
sweep:
  grid:   {LR: [0.1, 0.01], BATCH: [32, 64]}
  zip:    {WIDTH: [64, 128], DEPTH: [2, 4]}
  random:
    samples: 3
    seed: 0
    DROPOUT: {uniform: [0.0, 0.5]}
    WD: {loguniform: [1.0e-6, 1.0e-2]}
    ACT: {choice: [relu, tanh]}
"""


class Sweep(Workspace):
    def setUp(self):
        super().setUp()
        self.write("train.py", TRAIN)

    def manifest(self, namespace="results/train"):
        sweeps = sorted((self.dir / namespace / ".sweeps").iterdir())
        return json.loads((sweeps[-1] / "manifest.json").read_text())

    def has_manifest(self, namespace="results/train"):
        return any((self.dir / namespace / ".sweeps").glob("*/manifest.json"))

    def statuses(self, namespace="results/train"):
        """The status of each run whose meta is written (a folder gets its meta just after it
        is created)."""
        found = []
        for run in self.runs(namespace):
            try:
                found.append(self.meta(run)["status"])
            except (OSError, ValueError):
                pass
        return found

    def parameters(self, namespace):
        return [{name: record["value"] for name, record in self.meta(run)["parameters"].items()}
                for run in self.runs(namespace)]

    def test_dry_run_lists_the_variations_and_creates_nothing(self):
        self.write("sweep.yml", SWEEP)
        result = self.xrun("run", "sweep.yml", "--dry-run")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["#", "run", "hash", "LR", "BATCH", "WIDTH", "DEPTH",
                                            "DROPOUT", "WD", "ACT"])
        self.assertEqual(lines[-1], "24 variations; nothing was run")  # 2 x 2 x 2 rows x 3
        rows = [line.split() for line in lines[1:-1]]
        self.assertEqual(len(rows), 24)
        self.assertEqual(len({row[1] for row in rows}), 24)  # every run hash differs
        self.assertEqual([row[2:6] for row in rows[:6]],
                         [["0.1", "32", "64", "2"]] * 3 + [["0.1", "32", "128", "4"]] * 3)
        self.assertEqual(rows[0][6:], rows[3][6:])  # the same draws crossed with each row
        for row in rows:
            self.assertTrue(0.0 <= float(row[6]) < 0.5)
            self.assertTrue(1e-6 <= float(row[7]) <= 1e-2)
            self.assertIn(row[8], ("relu", "tanh"))
        self.assertEqual(self.xrun("run", "sweep.yml", "--dry-run").stdout, result.stdout)
        self.write("seeded.yml", SWEEP.replace("seed: 0", "seed: 1"))
        other = self.xrun("run", "seeded.yml", "--dry-run").stdout.splitlines()
        self.assertNotEqual(other[1].split()[6:], rows[0][6:])
        self.assertFalse((self.dir / "results").exists())

    def test_variations_run_in_parallel_into_their_own_folders(self):
        self.write("sweep.yml", "extend: train.py\nsweep:\n  grid: {LR: [0.1, 0.2, 0.3]}\n")
        result = self.xrun("run", "sweep.yml", "-j", "2", "--BATCH", "10")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("3 variations, 3 to run with 2 workers", result.stderr)
        runs = self.runs("results/sweep")
        self.assertEqual(len(runs), 3)
        seen = sorted((self.meta(run)["parameters"]["LR"]["value"], self.data(run)["score"])
                      for run in runs)
        self.assertEqual([lr for lr, _ in seen], [0.1, 0.2, 0.3])
        self.assertAlmostEqual(seen[2][1], 3.0)  # BATCH 10 from the command line
        manifest = self.manifest("results/sweep")
        self.assertEqual(manifest["state"], "finished")
        self.assertEqual([row["status"] for row in manifest["variations"]], ["done"] * 3)
        by_run = {row["run"]: row for row in manifest["variations"]}
        for run in runs:
            meta = self.meta(run)
            row = by_run[run.name]
            self.assertEqual(meta["sweep"], {"id": manifest["id"], "index": row["index"]})
            self.assertEqual(meta["run_hash"], row["run_hash"])
            self.assertEqual(meta["parameters"]["LR"]["value"], row["parameters"]["LR"])
            self.assertEqual(meta["parameters"]["LR"]["source"], "config")
            self.assertIn("LR: ", (run / "experiment_config.yml").read_text())
        listed = self.xrun("sweep", "list", "--path", "results").stdout
        self.assertIn(f"{manifest['id']}     3/3    done  finished", listed)
        completed = self.xrun("__complete", "sweep", "status", "--path", "results", "").stdout
        self.assertEqual(completed.split("\t")[0], manifest["id"])
        found = self.xrun("archive", "list", "--where",
                          f'sweep.id == "{manifest["id"]}" and sweep.index >= 1', "--columns",
                          "LR").stdout
        self.assertEqual(sorted(line.split()[-1] for line in found.splitlines()[1:]),
                         ["0.2", "0.3"])

    def test_a_variation_has_one_number_everywhere(self):
        args = ("run", "train.py", "--sweep", "LR=0.1,0.2,0.3", "--FAIL_AT", "0.3")
        plan = self.xrun(*args, "--dry-run").stdout.splitlines()
        self.assertEqual([line.split()[0] for line in plan[1:4]], ["0", "1", "2"])
        result = self.xrun(*args, "-j", "1", "-v")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("[2] ValueError: LR 0.3 fails", result.stderr)
        on_screen = {line.split()[-1]: line.split()[1] for line in result.stderr.splitlines()
                     if line.startswith(("done ", "failed "))}
        sweep_id = self.manifest()["id"]
        status = self.xrun("sweep", "status", sweep_id, "--path", "results").stdout
        in_status = {line.split()[-1] if "(" not in line else line.split()[-2]: line.split()[1]
                     for line in status.splitlines()[1:]}
        self.assertEqual(len(on_screen), 3)
        for run in self.runs("results/train"):
            index = self.meta(run)["sweep"]["index"]
            self.assertEqual(on_screen[run.name], f"#{index}")
            self.assertEqual(in_status[run.name], f"#{index}")
            self.assertEqual(plan[1 + index].split()[2], str(self.meta(run)["parameters"]["LR"]
                                                             ["value"]))
            shown = self.xrun("archive", "show", run.name).stdout
            self.assertIn(f"{sweep_id}, variation {index}\n", shown)
        # Errors name a variation by the same number: the second is variation 1.
        self.assertUsageError(self.xrun("run", "train.py", "--sweep", "BATCH=1,x"),
                              "variation 1: --sweep BATCH=1,x: parameter BATCH (int) cannot be 'x'")

    def test_command_line_sweeps_and_their_quoting(self):
        result = self.xrun("run", "train.py", "--sweep", "TAG=plain,'a,b',\"[1, 2]\"",
                           "--sweep", "BATCH=1,2", "--LR", "0.5")
        self.assertEqual(result.returncode, 0, result.stderr)
        values = sorted((p["TAG"], p["BATCH"], p["LR"]) for p in self.parameters("results/train"))
        self.assertEqual(values, [("[1, 2]", 1, 0.5), ("[1, 2]", 2, 0.5), ("a,b", 1, 0.5),
                                  ("a,b", 2, 0.5), ("plain", 1, 0.5), ("plain", 2, 0.5)])
        run = self.runs("results/train")[0]
        self.assertEqual(self.meta(run)["parameters"]["TAG"]["source"], "cli")
        # Bad input: named, nothing created.
        for args, message in (
                (["--sweep", "LR=0.1,x"], "--sweep LR=0.1,x: parameter LR (float) cannot be 'x'"),
                (["--sweep", "LR=0.1", "--LR", "0.2"], "LR is both swept and given as --LR"),
                (["--sweep", "LR"], "give NAME=VALUE,VALUE"),
                (["--sweep", "NOPE=1,2"], "the experiment has no parameter NOPE"),
                (["--sweep", "__PREFIX__=a,b"], "__PREFIX__ cannot be swept"),
                (["--sweep", "LR=1", "-j", "0"], "-j 0: the number of parallel runs is a whole number from 1")):
            with self.subTest(args=args):
                self.assertUsageError(self.xrun("run", "train.py", *args), message)
        self.assertEqual(len(self.runs("results/train")), 6)
        self.assertUsageError(self.xrun("run", "train.py", "-j", "2"), "are for sweeps")

    def test_expansion_errors_name_the_key_and_line(self):
        cases = {
            "empty.yml": ("sweep:\n  grid:\n    LR: []\n", "empty.yml:4:9: LR has no values"),
            "lacks.yml": ("sweep:\n  grid:\n    LR: [0.1]\n    NOPE: [1, 2]\n",
                          "variation 0: {}/lacks.yml:5:5: the experiment has no parameter NOPE"),
            "type.yml": ("sweep:\n  zip:\n    BATCH: [1, 2.5]\n    LR: [1, 2]\n",
                         "variation 1: {}/type.yml:4:5: parameter BATCH (int) cannot be 2.5"),
            "zip.yml": ("sweep:\n  zip:\n    BATCH: [1, 2]\n    LR: [1]\n",
                        "zip.yml:5:5: zip: LR has 1 values but BATCH has 2"),
            "dist.yml": ("sweep:\n  random:\n    samples: 2\n    LR: {gauss: [0, 1]}\n",
                         "dist.yml:5:5: random LR: unknown distribution 'gauss'"),
        }
        for name, (body, message) in cases.items():
            with self.subTest(name=name):
                self.write(name, "extend: train.py\n" + body)
                self.assertUsageError(self.xrun("run", name), message.format(self.dir))
        self.assertFalse((self.dir / "results").exists())

    def test_interrupt_then_resume_runs_only_the_rest(self):
        process = self.start("run", "train.py", "--sweep", "LR=0.1,0.2,0.3,0.4,0.5,0.6",
                             "--SLEEP", "1.0", "-j", "2")
        self.wait_for(lambda: self.statuses().count("done") >= 2,
                      what="two finished variations")
        self.wait_for(lambda: len(self.runs("results/train")) >= 3, what="a third run")
        interrupt(process)
        _, stderr = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 130, stderr)
        manifest = self.manifest()
        self.assertEqual(manifest["state"], "interrupted")
        statuses = [row["status"] for row in manifest["variations"]]
        interrupted_runs = sum(row["status"] == "interrupted" and row["run"] is not None
                               for row in manifest["variations"])
        self.assertIn("interrupted", statuses)
        self.assertIn("pending", statuses)
        done_before = {row["run"] for row in manifest["variations"] if row["status"] == "done"}
        for row in manifest["variations"]:
            if row["status"] == "interrupted" and row["run"]:
                # One signal to the group is one interrupt for each run, not a second (a kill).
                meta = self.meta(self.dir / "results/train" / row["run"])
                self.assertIsNone(meta.get("signal"))
                self.assertEqual(meta["error_type"], "KeyboardInterrupt")
        status = self.xrun("sweep", "status", manifest["id"][-4:]).stdout
        self.assertIn("interrupted", status.splitlines()[0])
        result = self.xrun("sweep", "resume", manifest["id"], "--path", "results", "-j", "2")
        self.assertEqual(result.returncode, 0, result.stderr)
        manifest = self.manifest()
        self.assertEqual([row["status"] for row in manifest["variations"]], ["done"] * 6)
        self.assertLessEqual(done_before, {row["run"] for row in manifest["variations"]})
        lrs = sorted(p["LR"] for p in self.parameters("results/train")
                     if p["SLEEP"] == 1.0)
        self.assertEqual(sorted(set(lrs)), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
        # Every variation done once, plus the interrupted ones' first attempts (one stopped
        # before its run started has none).
        self.assertEqual(len(lrs), 6 + interrupted_runs)

    def test_skip_done_repeats_nothing_and_runs_only_new_values(self):
        self.write("sweep.yml", "extend: train.py\nsweep:\n  grid: {LR: [0.1, 0.2], BATCH: [1]}\n")
        self.assertEqual(self.xrun("run", "sweep.yml").returncode, 0)
        again = self.xrun("run", "sweep.yml", "--skip-done")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("nothing to run: all 2 variations are done already", again.stderr)
        self.assertEqual(len(self.runs("results/sweep")), 2)
        self.assertEqual(len(list((self.dir / "results/sweep/.sweeps").iterdir())), 1)
        # Two values added: only those run (the config's text is not part of the hash).
        self.write("sweep.yml", "extend: train.py\nsweep:\n  grid: {LR: [0.1, 0.2, 0.3, 0.4], "
                                "BATCH: [1]}\n")
        plan = self.xrun("run", "sweep.yml", "--skip-done", "--dry-run").stdout
        self.assertEqual(plan.count("done already"), 3)  # two rows and the summary
        self.assertIn("4 variations, 2 done already", plan)
        result = self.xrun("run", "sweep.yml", "--skip-done")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(self.runs("results/sweep")), 4)
        rows = self.manifest("results/sweep")["variations"]
        self.assertEqual([row["status"] for row in rows], ["skipped", "skipped", "done", "done"])
        # A changed experiment is a different computation: nothing is skipped.
        self.write("train.py", TRAIN + "# edited\n")
        plan = self.xrun("run", "sweep.yml", "--skip-done", "--dry-run").stdout
        self.assertIn("4 variations, 0 done already", plan)

    def test_keep_going_and_fail_fast(self):
        kept = self.xrun("run", "train.py", "--sweep", "LR=0.1,0.2,0.3", "--FAIL_AT", "0.2",
                         "-j", "1")
        self.assertEqual(kept.returncode, 1, kept.stderr)
        self.assertEqual([row["status"] for row in self.manifest()["variations"]],
                         ["done", "failed", "done"])
        self.assertIn("ValueError: LR 0.2 fails", kept.stderr)  # the failed run's last lines
        self.assertIn("the rest: xrun sweep resume", kept.stderr)
        fast = self.xrun("run", "train.py", "--sweep", "LR=0.1,0.2,0.3", "--FAIL_AT", "0.2",
                         "-j", "1", "--fail-fast")
        self.assertEqual(fast.returncode, 1, fast.stderr)
        self.assertEqual([row["status"] for row in self.manifest()["variations"]],
                         ["done", "failed", "pending"])
        # retry runs the failed one again (it fails again); resume also the pending one.
        retried = self.xrun("sweep", "retry", self.manifest()["id"], "--path", "results",
                            "--failed")
        self.assertIn("1 variation to run again", retried.stderr)
        resumed = self.xrun("sweep", "resume", self.manifest()["id"], "--path", "results")
        self.assertIn("2 variations to run again", resumed.stderr)
        self.assertEqual([row["status"] for row in self.manifest()["variations"]],
                         ["done", "failed", "done"])

    def test_the_manifest_stays_true_when_the_sweep_process_is_killed(self):
        process = self.start("run", "train.py", "--sweep", "LR=0.1,0.2,0.3,0.4", "--SLEEP",
                             "1.5", "-j", "2")
        self.wait_for(lambda: len(self.runs("results/train")) >= 2, what="two runs started")
        self.wait_for(lambda: self.has_manifest() and
                      sum(row["run"] is not None for row in self.manifest()["variations"]) >= 2,
                      what="their folders in the manifest")
        os.kill(process.pid, signal.SIGKILL)  # the sweep process alone; its workers go on
        process.communicate(timeout=30)
        self.wait_for(lambda: self.statuses() == ["done", "done"], what="orphans done")
        rows = self.manifest()["variations"]
        self.assertEqual([row["status"] for row in rows][2:], ["pending", "pending"])
        sweep_id = self.manifest()["id"]
        folder = f"results/train/.sweeps/{sweep_id}/"  # as a shell completes it
        status = self.xrun("sweep", "status", folder).stdout
        self.assertIn("4 variations: 2 done, 2 pending", status)
        # Its process is gone from this host: not `running` any more, at once.
        self.assertIn(f"(lost: its process (pid {process.pid} on ", status)
        self.assertIn(f"{sweep_id}     2/4    done  lost ",
                      self.xrun("sweep", "list").stdout)
        # From another folder: the runs still run where the sweep was started.
        result = subprocess.run([XRUN, "sweep", "resume", sweep_id, "--path",
                                 str(self.dir / "results")], cwd="/", env=self.env(),
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("2 variations to run again", result.stderr)
        self.assertEqual(len(self.runs("results/train")), 4)

    def test_one_process_runs_a_sweep_and_runs_hold_none_of_its_descriptors(self):
        self.write("fds.py", experiment_source("N: int = 0", """
            import os
            links = []
            for fd in os.listdir("/proc/self/fd"):
                try:
                    links.append(os.readlink(f"/proc/self/fd/{fd}"))
                except OSError:
                    pass  # the listing's own descriptor, closed by now
            e["pipes"] = sum(link.startswith("pipe:") for link in links)
            """))
        self.assertEqual(self.xrun("run", "fds.py").returncode, 0)
        single = self.data(self.runs("results/fds")[0])["pipes"]
        process = self.start("run", "fds.py", "--sweep", "N=1,2,3", "-j", "1")
        self.wait_for(lambda: self.has_manifest("results/fds"), what="the sweep")
        sweep_id = self.manifest("results/fds")["id"]
        busy = self.xrun("sweep", "resume", sweep_id, "--path", "results")
        process.communicate(timeout=60)
        if process.returncode == 0 and busy.returncode == 0:
            self.skipTest("the sweep ended before the second process asked")
        self.assertUsageError(busy, f"sweep {sweep_id} is being run by another process")
        for run in self.runs("results/fds")[1:]:
            self.assertEqual(self.data(run)["pipes"], single, run)

    def test_a_value_that_looks_like_a_flag_is_a_value(self):
        result = self.xrun("run", "train.py", "--TAG", "-v", "--ACT", "-j2")
        self.assertEqual(result.returncode, 0, result.stderr)
        parameters = self.meta(self.runs("results/train")[0])["parameters"]
        self.assertEqual((parameters["TAG"]["value"], parameters["ACT"]["value"]), ("-v", "-j2"))
        plan = self.xrun("run", "train.py", "--sweep", "LR=inf,nan", "--dry-run").stdout
        hashes = [line.split()[1] for line in plan.splitlines()[1:3]]
        self.assertNotEqual(hashes[0], hashes[1])  # JSON has null for both; the hash does not

    def test_verbose_streams_each_run_prefixed(self):
        self.write("loud.py", experiment_source("N: int = 1", 'print(f"hello from {N}")'))
        result = self.xrun("run", "loud.py", "--sweep", "N=1,2", "-v", "-j", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("[0] hello from 1", result.stderr)
        self.assertIn("[1] hello from 2", result.stderr)
        quiet = self.xrun("run", "loud.py", "--sweep", "N=3,4")
        self.assertNotIn("hello from", quiet.stdout + quiet.stderr)


if __name__ == "__main__":
    unittest.main()
