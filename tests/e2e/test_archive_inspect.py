"""`xrun archive show`, `tail [-f]` and `reconcile`."""

import json
import math
import os
import shutil
import signal
import subprocess
import time
import unittest

from support import XRUN, Workspace, experiment_source, interrupt


class Inspect(Workspace):
    def setUp(self):
        super().setUp()
        self.write("exp.py", experiment_source("LR: float = 0.1\n", """
            for step in range(50):
                e.track("loss", 1.0 / (step + 1))
            e["metrics/acc"] = 0.75
            print("the end")
            """))
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        self.run_folder = self.only_run("results/exp")

    def test_show_by_id_part_and_by_path(self):
        run_id = self.run_folder.name
        for reference in [run_id, run_id[-4:], f"exp/{run_id}", str(self.run_folder)]:
            result = self.xrun("archive", "show", reference)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertRegex(result.stdout.splitlines()[0], rf"^done  \S*results/exp/{run_id}$")
        out = self.xrun("archive", "show", run_id).stdout
        # Names, types, values and sources each in a column.
        self.assertRegex(out, r"\n  LR {11}float {21}= 0.1 {5}\[default\]\n"
                              r"  __DEBUG__ {4}bool {22}= false {3}\[default\]\n")
        self.assertIn("metrics/acc = 0.75", out)
        self.assertRegex(out, r"loss  [▁▂▃▄▅▆▇█]{40}  last 0.02  min 0.02  max 1  \(50 points\)")
        self.assertIn("experiment_meta.json", out)

    def test_series_statistics_leave_out_values_that_are_not_finite(self):
        track = self.run_folder / ".track"
        (track / "spiky.csv").write_text("step,value,time\n0,nan,0\n1,1,0\n2,5,0\n3,2,0\n")
        wave = [math.sin(step / 3) for step in range(40)]
        peak = max(range(40), key=wave.__getitem__)
        values = [math.nan if step in (0, peak - 1, 30) else value
                  for step, value in enumerate(wave)]
        (track / "wave.csv").write_text("step,value,time\n" + "".join(
            f"{step},{value},0\n" for step, value in enumerate(values)))
        (track / "one.csv").write_text("step,value,time\n0,3,0\n")
        (track / "void.csv").write_text("step,value,time\n0,nan,0\n1,inf,0\n")
        out = self.xrun("archive", "show", self.run_folder.name).stdout
        self.assertIn("\n  spiky  ▁█▃  last 2  min 1  max 5  (4 points, 1 not finite)\n", out)
        finite = [value for value in values if not math.isnan(value)]
        self.assertIn(f"  last {finite[-1]:.6g}  min {min(finite):.6g}  max {max(finite):.6g}  "
                      "(40 points, 3 not finite)\n", out)
        self.assertIn("\n  one    ▄  last 3  min 3  max 3  (1 point)\n", out)
        self.assertIn("\n  void   (2 points, none finite)\n", out)
        self.assertRegex(out, r"\n  loss   [▁▂▃▄▅▆▇█]{40}  last 0.02")  # names in a column

    def test_show_lists_the_series_of_a_run_still_running(self):
        self.write("live.py", experiment_source("", """
            import time
            for step in range(20):
                e.track("train/loss", 1.0 / (step + 1))
            e.track("acc", 0.5)
            time.sleep(60)
            """))
        process = self.start("run", "live.py")
        try:
            series = lambda name: self.runs("results/live")[0] / ".track" / f"{name}.csv"
            self.wait_for(lambda: self.runs("results/live") and series("acc").exists() and
                          series("acc").read_text().count("\n") == 2, what="the series on disk")
            out = self.xrun("archive", "show", self.runs("results/live")[0].name).stdout
            self.assertTrue(out.startswith("running  "), out)
            self.assertEqual(self.meta(self.runs("results/live")[0])["tracked"], [])
            self.assertIn("\ntracked\n  acc         ▄  last 0.5  min 0.5  max 0.5  (1 point)\n"
                          "  train/loss  ", out)
            self.assertIn("(20 points)", out)
        finally:
            interrupt(process)
            process.communicate(timeout=60)

    def test_diff_parameters_data_meta_and_code(self):
        source = (self.dir / "exp.py").read_text()
        self.write("exp.py", source.replace('e["metrics/acc"] = 0.75', 'e["metrics/acc"] = 0.5'))
        self.assertEqual(self.xrun("run", "exp.py", "--LR", "0.2").returncode, 0)
        first, second = self.runs("results/exp")
        result = self.xrun("archive", "diff", first.name, second.name)
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout
        self.assertIn("parameters\n  LR: 0.1 -> 0.2\n", out)
        self.assertIn("  metrics/acc: 0.75 -> 0.5\n", out)
        self.assertRegex(out, r"code\n  experiment_code.py\n"
                              r"    - +\d+:     e\[\"metrics/acc\"\] = 0.75\n"
                              r"    \+ +\d+:     e\[\"metrics/acc\"\] = 0.5\n")
        same = self.xrun("archive", "diff", first.name, first.name).stdout
        self.assertIn("parameters: the same", same)
        self.assertIn("code: the same", same)

    def test_diff_tells_null_from_missing_and_shows_the_environment(self):
        other = self.run_folder.parent / "other"
        shutil.copytree(self.run_folder, other)
        meta = json.loads((other / "experiment_meta.json").read_text())
        meta.update(id="other", python_executable="/opt/venv/bin/python")
        (other / "experiment_meta.json").write_text(json.dumps(meta))
        (self.run_folder / "experiment_data.json").write_text('{"a": null, "b": 1}')
        (other / "experiment_data.json").write_text('{"b": 1}')
        out = self.xrun("archive", "diff", self.run_folder.name, "other").stdout
        self.assertIn("data\n  a: null -> (none)\n", out)
        self.assertIn("  python executable: ", out)
        self.assertIn(' -> "/opt/venv/bin/python"', out)

    def test_show_unknown_run(self):
        result = self.xrun("archive", "show", "no-such-run")
        self.assertUsageError(result, "no run 'no-such-run' in results")

    def test_show_ignores_a_torn_last_series_line(self):
        series = self.run_folder / ".track" / "loss.csv"
        series.write_text(series.read_text() + "50,0.0")  # killed mid-line
        out = self.xrun("archive", "show", self.run_folder.name).stdout
        self.assertIn("(50 points)", out)

    def test_tail_prints_the_log(self):
        result = self.xrun("archive", "tail", self.run_folder.name)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, (self.run_folder / "experiment_out.log").read_text())

    def test_tail_follows_a_live_run_until_it_ends(self):
        self.write("slow.py", experiment_source("", """
            import time
            for i in range(8):
                print(f"line {i}", flush=True)
                time.sleep(0.2)
            """))
        run = self.start("run", "slow.py")
        self.wait_for(lambda: self.runs("results/slow") and
                      (self.runs("results/slow")[0] / "experiment_out.log").exists(),
                      what="the run")
        follow = subprocess.run([XRUN, "archive", "tail", "-f", self.runs("results/slow")[0].name],
                                cwd=self.dir, capture_output=True, text=True, timeout=60,
                                env=self.env())
        run.communicate(timeout=60)
        self.assertEqual(follow.returncode, 0, follow.stderr)
        self.assertIn("line 0", follow.stdout)
        self.assertIn("line 7", follow.stdout)

    def test_show_and_list_odd_times_plainly(self):
        meta_file = self.run_folder / "experiment_meta.json"
        meta = json.loads(meta_file.read_text())
        meta.update(status="running", heartbeat=0, end_time=None, start_time=1e300)
        meta_file.write_text(json.dumps(meta))
        out = self.xrun("archive", "show", self.run_folder.name).stdout
        self.assertIn("lost        no heartbeat recorded (its supervisor is gone)", out)
        self.assertIn("started     1e+300 (not a date)", out)
        self.assertIn("1e+300 (not a date)", self.xrun("archive", "list").stdout)

    def test_tail_says_why_it_stops(self):
        meta_file = self.run_folder / "experiment_meta.json"
        meta = json.loads(meta_file.read_text())
        meta.update(status="running", heartbeat=time.time() - 600, end_time=None, pid=999999999)
        meta_file.write_text(json.dumps(meta))
        result = self.xrun("archive", "tail", "-f", self.run_folder.name, timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertIn("the end", result.stdout)
        self.assertIn("xrun: the run is lost: its supervisor (pid 999999999 on ", result.stderr)
        self.assertIn(") is gone; its last heartbeat was at ", result.stderr)
        log = self.run_folder / "experiment_out.log"
        log.unlink()
        self.assertUsageError(self.xrun("archive", "tail", self.run_folder.name),
                              "has no log: experiment_out.log is missing")
        log.mkdir()
        self.assertUsageError(self.xrun("archive", "tail", self.run_folder.name),
                              "experiment_out.log is a folder, not a regular file")

    def test_show_states_where_a_run_came_from_and_how_it_ended(self):
        meta_file = self.run_folder / "experiment_meta.json"
        meta = json.loads(meta_file.read_text())
        meta.update(status="killed", error_type="SIGKILL", error_message="",
                    sweep={"id": "2026-11-26_lr", "index": 2, "slurm": {"job_id": "41_2"}},
                    reproduces={"run": "/data/results/exp/r1", "id": "r1"},
                    interrupted_by={"signal": "SIGTERM", "reason": "Slurm's time limit"})
        meta_file.write_text(json.dumps(meta))
        (self.run_folder / "experiment_data.json").write_text("{}")
        out = self.xrun("archive", "show", self.run_folder.name).stdout
        self.assertIn("  error       SIGKILL\n", out)
        self.assertIn("  stopped     by SIGTERM (Slurm's time limit)\n", out)
        meta.update(interrupted_by={"signal": "SIGINT", "reason": "SIGINT (Ctrl-C)"})
        meta_file.write_text(json.dumps(meta))
        out = self.xrun("archive", "show", self.run_folder.name).stdout
        self.assertIn("  stopped     by SIGINT (Ctrl-C)\n", out)  # the signal named once
        self.assertIn("  sweep       2026-11-26_lr, variation 2   Slurm job 41_2\n", out)
        self.assertIn("  reproduces  /data/results/exp/r1\n", out)
        self.assertIn("data\n  (none stored)\n", out)

    def test_a_supervisor_killed_here_is_lost_at_once(self):
        self.write("sleeper.py", experiment_source("", """
            import time
            for step in range(600):
                e.track("beat", step)
                time.sleep(0.1)
            """))
        process = self.start("run", "sleeper.py")
        # The supervisor records the start (meta, code, log: the log last) while the experiment
        # begins.
        self.wait_for(lambda: self.runs("results/sleeper") and
                      (self.runs("results/sleeper")[0] / ".track" / "beat.csv").exists() and
                      (self.runs("results/sleeper")[0] / "experiment_out.log").exists(),
                      what="the experiment under way, its start recorded")
        run = self.runs("results/sleeper")[0]
        os.kill(process.pid, signal.SIGKILL)  # the supervisor; its experiment stops with it
        process.communicate(timeout=30)
        meta = self.meta(run)
        self.assertEqual(meta["status"], "running")  # as the supervisor left it
        rows = json.loads(self.xrun("archive", "list", "--json").stdout)
        self.assertEqual(next(row["status"] for row in rows if row["path"].endswith(run.name)),
                         "lost")
        line = next(line for line in self.xrun("archive", "list").stdout.splitlines()
                    if run.name in line)
        self.assertTrue(line.startswith("lost "), line)
        # Its duration ends at its last heartbeat, however long ago that was.
        self.assertTrue(line.endswith(f"{meta['heartbeat'] - meta['start_time']:.1f}s"), line)
        show = self.xrun("archive", "show", run.name).stdout
        self.assertTrue(show.startswith("lost  "), show)
        self.assertIn("(its supervisor is gone)", show)
        follow = self.xrun("archive", "tail", "-f", run.name, timeout=60)
        self.assertEqual(follow.returncode, 1, follow.stderr)
        self.assertIn(f"xrun: the run is lost: its supervisor (pid {process.pid} on ",
                      follow.stderr)
        result = self.xrun("archive", "reconcile")
        self.assertEqual(result.stdout, f"lost  results/sleeper/{run.name}\n")
        self.assertIn("1 run marked lost", result.stderr)
        meta = self.meta(run)
        self.assertEqual(meta["status"], "lost")
        self.assertEqual(meta["end_time"], meta["heartbeat"])

    def test_reconcile_marks_stale_runs_lost(self):
        meta_file = self.run_folder / "experiment_meta.json"
        meta = json.loads(meta_file.read_text())
        meta.update(status="running", heartbeat=time.time() - 600, end_time=None)
        meta_file.write_text(json.dumps(meta))
        result = self.xrun("archive", "reconcile")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, f"lost  results/exp/{self.run_folder.name}\n")
        meta = json.loads(meta_file.read_text())
        self.assertEqual(meta["status"], "lost")
        # Its supervisor, on this host, is gone: no need to wait for the heartbeat to age.
        self.assertIn(f"its supervisor (pid {meta['pid']} on ", meta["error_message"])
        self.assertEqual(meta["end_time"], meta["heartbeat"])
        again = self.xrun("archive", "reconcile")
        self.assertIn("0 runs marked lost", again.stderr)


if __name__ == "__main__":
    unittest.main()
