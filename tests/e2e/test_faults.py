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
import resource
import shutil
import signal
import subprocess
import textwrap
import unittest

from fault_injection import (SHIM, STRERROR, damage, fault_environment, listing, read_count,
                             run_files, unexpected_exit)
from fault_injection import sample as sample_of
from support import Workspace, experiment_source

STEPS = 300

EXPERIMENT = experiment_source(
    f"""
    LR = 0.1
    STEPS = {STEPS}
    BIG = 0
    """,
    """
    print("training")
    e.log(f"lr={e.LR}")
    for step in range(e.STEPS):
        e.track("loss", 1.0 / (step + 1))
    e["result"] = {"lr": e.LR, "steps": e.STEPS}
    e["losses"] = [1.0 / (step + 1) for step in range(10)]
    e["big"] = list(range(e.BIG))
    """)


class FaultCase(Workspace):
    maxDiff = None

    """A workspace with the experiment and one earlier run in its archive."""

    needs_shim = True

    def setUp(self):
        super().setUp()
        if self.needs_shim and not SHIM:
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

    def sample(self, total, size, seed):
        """The calls to fail, noted (test, calls counted, calls failed) in the file
        XRUN_FAULT_REPORT names, for bench/faults.py."""
        calls = sample_of(total, size, seed)
        if os.environ.get("XRUN_FAULT_REPORT"):
            with open(os.environ["XRUN_FAULT_REPORT"], "a") as report:
                report.write(f"{self.id()} {total} {len(calls)}\n")
        return calls

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


class RunChecks(FaultCase):
    """What a run made under a fault must be: recorded truly, or not at all (exit 74)."""

    def new_runs(self, before):
        return [run for run in self.runs("results/exp") if run not in before]

    def run_problems(self, result, error, before, steps=STEPS):
        """What is wrong with the run a faulted `xrun run` made, given its exit code; `before`:
        the run folders there were."""
        # The experiment's own error is shown when it failed, or when it failed while its run
        # was being stopped (the start could not be synced after all).
        stopped = "cannot record the run, so it was stopped" in result.stderr
        problems = unexpected_exit(result, {0, 1, 74},
                                   failed_run=result.returncode == 1 or stopped)
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
        if result.returncode == 0 and status != "done":
            problems.append(f"exit 0 with status {status}")
        if status == "done":
            # A done run has everything the experiment made, or xrun said what it lost.
            if not (run / "experiment_data.json").exists() or \
                    self.data(run).get("result", {}).get("steps") != steps:
                problems.append("a done run without its data")
            series = run / ".track" / "loss.csv"
            rows = series.read_text().splitlines()[1:] if series.exists() else []
            if len(rows) != steps:
                problems.append(f"a done run with {len(rows)} of {steps} tracked points")
            if "training" not in self.log(run) and "(output still shown here)" not in \
                    result.stderr:
                problems.append("a done run without its output in the log, and no warning")
        if result.returncode == 1:
            # The run failed because of the fault, and says so.
            if status != "failed":
                problems.append(f"exit 1 with status {status}")
            elif STRERROR[error] not in meta.get("error_message", ""):
                problems.append(f"failed without the reason: {meta.get('error_message')!r}")
        if result.returncode == 74:
            # A run folder, but its end could not be recorded: the listing must not show it as
            # running (its supervisor is gone), and xrun said so.
            _, rows = listing(XRUN_BIN(), self.dir, self.env())
            shown = [row.get("status") for row in rows if row.get("id") == run.name]
            if shown == ["running"]:
                problems.append("exit 74 and the run listed as running")
            if "xrun: error:" not in result.stderr:
                problems.append("exit 74 without an error")
        return problems



class RunFaults(RunChecks):
    """A run with one failing call."""

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
        calls = self.sample(total, 40, seed=1)
        failures = self.sweep(calls, "ENOSPC")
        self.assertEqual(failures, {}, f"{len(failures)} of {len(calls)} calls of {total}")

    def test_disk_full_from_each_call_on(self):
        total = self.count("run", "exp.py")
        calls = self.sample(total, 25, seed=2)
        failures = self.sweep(calls, "ENOSPC", persist=True)
        self.assertEqual(failures, {}, f"{len(failures)} of {len(calls)} calls of {total}")

    def test_io_and_permission_errors(self):
        total = self.count("run", "exp.py")
        for error, seed in (("EIO", 3), ("EACCES", 4)):
            with self.subTest(error=error):
                calls = self.sample(total, 15, seed=seed)
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


SDK_SCRIPT = """\
import xrun
with xrun.start("sdk", params={"lr": 0.01}, base="results") as run:
    for step in range(50):
        run.log({"loss": 1.0 / (step + 1), "acc": step / 50})
    run.info("hello")
    run.set_primary_metric("acc", mode="max")
    run.summary({"test_acc": 0.91})
"""


class ScriptFaults(FaultCase):
    """A plain python3 script's run (`xrun.start()`, its watcher beside it) with one failing
    call: a run on record as done has every value the script gave it."""

    def test_each_call_failing_once(self):
        self.write("script.py", SDK_SCRIPT)
        env = self.env(PYTHONPATH=self.python_package())
        command = ["/usr/bin/python3", "script.py"]
        total = self.count_script(command, env)
        failures = {}
        calls = self.sample(total, 20, seed=8)
        for call in calls:
            before = self.runs("results/sdk")
            self.count_file.unlink(missing_ok=True)
            result = subprocess.run(command, cwd=self.dir, capture_output=True, text=True,
                                    timeout=120, env=fault_environment(
                                        env, self.count_file, self.archive, call, "ENOSPC"))
            problems = self.archive_problems()
            if "internal error" in result.stderr:
                problems.append(f"an internal error: {result.stderr}")
            for run in (run for run in self.runs("results/sdk") if run not in before):
                meta = self.meta(run)
                if meta["status"] == "done":
                    acc = run / ".track" / "acc.csv"
                    if not acc.exists() or len(acc.read_text().splitlines()) != 51:
                        problems.append("a done run without all its values")
                    summary = run / "experiment_summary.json"
                    if not summary.exists() or \
                            json.loads(summary.read_text()).get("summary") != {"test_acc": 0.91}:
                        problems.append("a done run without its summary")
                elif meta["status"] == "failed" and \
                        STRERROR["ENOSPC"] not in meta.get("error_message", ""):
                    problems.append(f"failed without the reason: {meta.get('error_message')!r}")
            if problems:
                failures[call] = problems
        self.assertEqual(failures, {}, f"{len(failures)} of {len(calls)} calls of {total}")

    def count_script(self, command, env):
        self.count_file.unlink(missing_ok=True)
        result = subprocess.run(command, cwd=self.dir, capture_output=True, text=True,
                                timeout=120,
                                env=fault_environment(env, self.count_file, self.archive))
        self.assertEqual(result.returncode, 0, result.stderr)
        return read_count(self.count_file)


def file_size_limit(limit: int):
    """For preexec_fn: files may grow to `limit` bytes; beyond, writes fail with EFBIG (not
    SIGXFSZ, which is ignored)."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


class DiskFull(RunChecks):
    """Files that cannot grow: a file size limit (no mount needed), and a small tmpfs."""

    needs_shim = False

    def limited_run(self, *args, limit):
        return subprocess.run([XRUN_BIN(), "run", "exp.py", *args], cwd=self.dir,
                              capture_output=True, text=True, timeout=120, env=self.env(),
                              preexec_fn=file_size_limit(limit))

    def test_series_beyond_the_file_size_limit(self):
        before = self.runs("results/exp")
        result = self.limited_run("--STEPS", "50000", limit=64 * 1024)
        self.assertEqual(self.run_problems(result, "EFBIG", before, steps=50000), [])
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(self.archive_problems(), [])

    def test_data_beyond_the_file_size_limit(self):
        before = self.runs("results/exp")
        result = self.limited_run("--BIG", "100000", limit=64 * 1024)
        self.assertEqual(self.run_problems(result, "EFBIG", before), [])
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(self.archive_problems(), [])

    def test_start_beyond_the_file_size_limit(self):
        # Not even the meta fits: the run is not recorded, and nothing is left.
        before = self.runs("results/exp")
        result = self.limited_run(limit=512)
        self.assertEqual(self.run_problems(result, "EFBIG", before), [])
        self.assertEqual(result.returncode, 74, result.stderr)
        self.assertEqual(self.new_runs(before), [])
        self.assertEqual(self.archive_problems(), [])

    def test_small_tmpfs_fills_up(self):
        # In a user and mount namespace of its own: an archive on a tmpfs of a few pages, an
        # earlier run there, then runs that fill it. The archive is copied out for the checks.
        unshare = shutil.which("unshare")
        if not unshare:
            self.skipTest("no unshare(1) to mount a tmpfs without privileges")
        probe = subprocess.run([unshare, "-rm", "sh", "-c", "mount -t tmpfs -o size=64k x /mnt"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            self.skipTest(f"this machine allows no tmpfs in a user namespace: "
                          f"{probe.stderr.strip()}")
        script = textwrap.dedent("""\
            set -u
            mount -t tmpfs -o size=$SIZE tmpfs "$DISK"
            cp exp.py "$DISK/"
            cd "$DISK"
            "$XRUN" run exp.py > /dev/null 2>&1 || echo "earlier run: $?"
            for steps in 10 50000 200000; do
              "$XRUN" run exp.py --STEPS $steps > "$OUT/run-$steps.out" 2> "$OUT/run-$steps.err"
              echo $? > "$OUT/run-$steps.code"
            done
            "$XRUN" archive list --json > "$OUT/list.out" 2> "$OUT/list.err"
            echo $? > "$OUT/list.code"
            cp -a "$DISK/results" "$OUT/"
            """)
        for size in ("192k", "1m"):
            with self.subTest(size=size):
                disk, out = self.dir / f"disk-{size}", self.dir / f"out-{size}"
                disk.mkdir()
                out.mkdir()
                env = self.env(XRUN=XRUN_BIN(), SIZE=size, DISK=str(disk), OUT=str(out))
                shell = subprocess.run([unshare, "-rm", "sh", "-c", script], cwd=self.dir,
                                       env=env, capture_output=True, text=True, timeout=300)
                self.assertEqual(shell.stdout + shell.stderr, "")
                self.assertEqual(damage(out), [])
                self.assertEqual((out / "list.code").read_text().strip(), "0",
                                 (out / "list.err").read_text())
                codes = {}
                for steps in (10, 50000, 200000):
                    code = int((out / f"run-{steps}.code").read_text())
                    stderr = (out / f"run-{steps}.err").read_text()
                    codes[steps] = code
                    self.assertIn(code, (0, 1, 74), stderr)
                    self.assertNotIn("internal error", stderr)
                    if code == 1:
                        self.assertIn(STRERROR["ENOSPC"], stderr)
                rows = json.loads((out / "list.out").read_text())
                statuses = sorted(row["status"] for row in rows)
                self.assertNotIn("running", statuses)
                # The earlier run and the small one are whole; the big ones failed or were
                # not recorded (a full disk stops them with the reason).
                self.assertEqual(statuses.count("done"), 1 + (codes[10] == 0) +
                                 (codes[50000] == 0) + (codes[200000] == 0), rows)
                self.assertNotEqual(codes[200000], 0)
                for meta_file in (out / "results").rglob("experiment_meta.json"):
                    meta = json.loads(meta_file.read_text())
                    if meta["status"] == "failed":
                        self.assertIn(STRERROR["ENOSPC"], meta.get("error_message", ""))


class ArchiveFaults(FaultCase):
    """The archive commands with one failing call: the index, compress and extract."""

    def setUp(self):
        super().setUp()
        for lr in ("0.2", "0.3"):
            result = self.xrun("run", "exp.py", "--LR", lr)
            self.assertEqual(result.returncode, 0, result.stderr)
        self.earlier = run_files(self.archive)
        self.index = self.archive / ".xrun-index.sqlite"

    def check(self, failures, calls, total):
        self.assertEqual(failures, {}, f"{len(failures)} of {len(calls)} calls of {total}")

    def test_index_written_with_a_fault(self):
        self.index.unlink(missing_ok=True)
        total = self.count("archive", "list")
        failures = {}
        calls = self.sample(total, 20, seed=5)
        for call in calls:
            self.index.unlink(missing_ok=True)  # built anew each time: every write is made
            result, _ = self.faulted("archive", "list", "--json", call=call)
            problems = unexpected_exit(result, {0, 74})
            if result.returncode == 0 and len(json.loads(result.stdout)) != 3:
                problems.append(f"listed {len(json.loads(result.stdout))} of 3 runs")
            problems += self.archive_problems()
            if problems:
                failures[call] = problems
        self.check(failures, calls, total)

    def test_compress_with_a_fault(self):
        output = self.dir / "runs.tar.zst"
        args = ("archive", "compress", "--all", "-o", output.name, "--remove")
        total = self.count(*args, path=self.dir)
        self.assertFalse(self.runs("results/exp"), "--remove left runs")
        self.assertEqual(self.xrun("archive", "extract", output.name).returncode, 0)
        output.unlink()
        failures = {}
        calls = self.sample(total, 20, seed=6)
        for call in calls:
            result, _ = self.faulted(*args, call=call, path=self.dir)
            problems = unexpected_exit(result, {0, 71, 74})
            if result.returncode == 0:
                # Written and verified, the runs removed: they come back whole from the file.
                restored = self.xrun("archive", "extract", output.name)
                if restored.returncode != 0:
                    problems.append(f"the written file does not extract: {restored.stderr}")
                output.unlink()
            elif output.exists():
                problems.append(f"exit {result.returncode} and {output.name} left")
                output.unlink()
            problems += self.archive_problems()
            if problems:
                failures[call] = problems
        self.check(failures, calls, total)

    def test_extract_with_a_fault(self):
        output = self.dir / "runs.tar.zst"
        self.assertEqual(self.xrun("archive", "compress", "--all", "-o", output.name).returncode, 0)
        restore = self.dir / "restore"
        args = ("archive", "extract", output.name, "--path", "restore")
        total = self.count(*args, path=restore)
        failures = {}
        calls = self.sample(total, 20, seed=7)
        for call in calls:
            shutil.rmtree(restore, ignore_errors=True)
            restore.mkdir()
            result, _ = self.faulted(*args, call=call, path=restore)
            problems = unexpected_exit(result, {0, 71, 74})
            problems += damage(restore)
            restored = run_files(restore / "results") if (restore / "results").exists() else {}
            if result.returncode == 0 and restored != self.earlier:
                problems.append("exit 0 without every run restored whole")
            if result.returncode != 0 and restored:
                problems.append(f"exit {result.returncode} and {len(restored)} files left")
            if (restore / "results").exists():
                problem, _ = listing(XRUN_BIN(), restore, self.env())
                if problem:
                    problems.append(problem)
            problems += self.archive_problems()
            if problems:
                failures[call] = problems
        self.check(failures, calls, total)


if __name__ == "__main__":
    unittest.main()
