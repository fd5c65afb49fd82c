"""System metrics: the supervisor of `xrun run` and the watcher of a plain-python run sample
the run's process tree into `.track/sys/*.csv` series; `--system-metrics SECONDS` and
`system_metrics=` set how often, 0 turns them off; GPUs only where NVML is present."""

import os
import subprocess
import unittest
from pathlib import Path

from support import Workspace, experiment_source

PYTHON = "/usr/bin/python3"
SERIES = ["cpu_percent", "io_read_bytes", "io_write_bytes", "rss_bytes"]

# Works until the series have three samples: no sleeping for a set time.
BUSY_UNTIL_SAMPLED = """\
import glob, os
def sampled():
    files = glob.glob(os.path.join(FOLDER, ".track", "sys", "rss_bytes.csv"))
    return files and len(open(files[0]).read().splitlines()) >= 4
data = []
while not sampled():
    data.append(sum(i * i for i in range(20000)))
"""


class SystemMetrics(Workspace):
    def check_series(self, folder: Path, tracked: list):
        sys_folder = folder / ".track" / "sys"
        self.assertEqual(sorted(path.stem for path in sys_folder.iterdir()), SERIES)
        for name in SERIES:
            lines = (sys_folder / f"{name}.csv").read_text().splitlines()
            self.assertEqual(lines[0], "step,value,time,stage")
            rows = [line.split(",") for line in lines[1:]]
            self.assertGreaterEqual(len(rows), 3, name)
            self.assertEqual([int(row[0]) for row in rows], list(range(len(rows))))
            self.assertTrue(all(row[3] == "" for row in rows), name)
            values = [float(row[1]) for row in rows]
            self.assertTrue(all(value >= 0 for value in values), (name, values))
            times = [float(row[2]) for row in rows]
            self.assertEqual(times, sorted(times))
            self.assertIn(f"sys/{name}", tracked)
        rss = [float(line.split(",")[1])
               for line in (sys_folder / "rss_bytes.csv").read_text().splitlines()[1:]]
        self.assertTrue(all(value > 1_000_000 for value in rss), rss)  # a Python process
        cpu = [float(line.split(",")[1])
               for line in (sys_folder / "cpu_percent.csv").read_text().splitlines()[1:]]
        self.assertGreater(max(cpu), 0, cpu)  # it was busy
        # No NVIDIA driver here: no GPU series, and no error.
        self.assertFalse(list(sys_folder.glob("gpu*")))

    def test_xrun_run_samples_the_experiment(self):
        self.write("exp.py", experiment_source(
            "", BUSY_UNTIL_SAMPLED.replace("FOLDER", "e.path")))
        result = self.xrun("run", "--system-metrics", "0.05", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        folder = self.only_run("results/exp")
        self.check_series(folder, self.meta(folder)["tracked"])

    @unittest.skipIf(os.environ.get("XRUN_SANITIZED") == "1",
                     "no _xrun extension module in a sanitizer build")
    def test_a_plain_python_run_is_sampled_by_its_watcher(self):
        package = self.xrun("python-path").stdout.strip()
        self.write("script.py", "import xrun\n"
                   "with xrun.start('sys', system_metrics=0.05) as run:\n"
                   "    FOLDER = run.path\n" +
                   "".join(f"    {line}\n" for line in BUSY_UNTIL_SAMPLED.splitlines()))
        result = subprocess.run([PYTHON, "script.py"], cwd=self.dir, capture_output=True,
                                text=True, timeout=120, env=self.env(PYTHONPATH=package))
        self.assertEqual(result.returncode, 0, result.stderr)
        folder = self.only_run("results/sys")
        self.wait_for(lambda: self.meta(folder)["status"] == "done")
        self.check_series(folder, self.meta(folder)["tracked"])

    def test_zero_turns_them_off_before_or_after_the_file(self):
        self.write("exp.py", experiment_source("", "e.log('short')"))
        for words in [["--system-metrics", "0", "exp.py"], ["exp.py", "--system-metrics=0"]]:
            result = self.xrun("run", *words)
            self.assertEqual(result.returncode, 0, result.stderr)
        folders = self.runs("results/exp")
        self.assertEqual(len(folders), 2)
        for folder in folders:
            self.assertFalse((folder / ".track" / "sys").exists())

    def test_a_bad_interval_is_refused(self):
        self.write("exp.py", experiment_source("", "pass"))
        for given in ["soon", "-1", "nan"]:
            self.assertUsageError(self.xrun("run", "--system-metrics", given, "exp.py"),
                                  f"--system-metrics: '{given}' is not a number of seconds")
        self.assertNoRunFolder()
        self.assertUsageError(self.xrun("run", "--system-metrics", "1", "--sweep", "X=1,2",
                                        "exp.py"), "--system-metrics is for single runs")

    def test_the_flag_is_in_run_help_and_the_watcher_is_hidden(self):
        self.assertIn("--system-metrics", self.xrun("run", "--help").stdout)
        self.assertNotIn("watch", self.xrun("--help").stdout)
        completion = self.xrun("__complete", "")
        self.assertNotIn("watch", completion.stdout.split())


if __name__ == "__main__":
    unittest.main()
