"""`xrun run exp.py`: one complete run folder for every way a run can end."""

import json
import os
import shutil
import signal
import subprocess
import time
import unittest
from pathlib import Path

from support import SOURCE_DIR, XRUN, Workspace, experiment_source, interrupt


# A thread of the experiment's process that sends it SIGTERM once a run folder appears.
WATCHER = '''
import os
import signal
import threading


def signal_when_the_folder_appears():
    namespace = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "early")
    before = set(os.listdir(namespace)) if os.path.isdir(namespace) else set()
    while True:
        names = set(os.listdir(namespace)) if os.path.isdir(namespace) else set()
        if any(not name.startswith(".") for name in names - before):
            os.kill(os.getpid(), signal.SIGTERM)
            return
        time.sleep(0.0002)


threading.Thread(target=signal_when_the_folder_appears, daemon=True).start()
'''


class Statuses(Workspace):
    @unittest.skipIf(os.environ.get("XRUN_SANITIZED") == "1",
                     "the sanitizers' runtime needs file descriptors of its own")
    def test_a_system_that_refuses_a_pipe_exits_71_and_creates_nothing(self):
        import resource
        self.write("exp.py", experiment_source("N: int = 1\n", "e['n'] = e.N"))

        # Each limit runs out at another of the pipes xrun makes before the run starts.
        for limit in range(5, 9):
            with self.subTest(limit=limit):
                result = subprocess.run(
                    [XRUN, "run", "exp.py"], cwd=self.dir, capture_output=True, text=True,
                    timeout=120, env=self.env(),
                    preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)))
                self.assertEqual(result.returncode, 71, result.stderr)
                self.assertIn("xrun: error: cannot create a pipe", result.stderr)
                self.assertNoRunFolder()

    def test_done_run_leaves_a_complete_folder(self):
        self.write("exp.py", experiment_source(
            "LR: float = 0.01\nEPOCHS: int = 3\n",
            """
            e.log(f"lr={e.LR}")
            for epoch in range(e.EPOCHS):
                e.track("train/loss", 1.0 / (epoch + 1))
            e["metrics/acc"] = 0.9
            e.commit_raw("notes.txt", "hello")
            """))
        result = self.xrun("run", "exp.py", "--LR", "0.1")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("lr=0.1", result.stdout)
        run = self.only_run("results/exp")
        meta = self.meta(run)
        self.assertEqual(meta["status"], "done")
        self.assertEqual(meta["exit_code"], 0)
        self.assertEqual(meta["id"], run.name)
        self.assertEqual(meta["namespace"], "results/exp")
        self.assertEqual(meta["parameters"]["LR"]["value"], 0.1)
        self.assertEqual(meta["parameters"]["LR"]["source"], "cli")
        self.assertEqual(meta["parameters"]["EPOCHS"]["source"], "default")
        self.assertEqual(meta["tracked"], ["train/loss"])
        self.assertGreaterEqual(meta["end_time"], meta["start_time"])
        self.assertTrue(meta["python_version"].startswith("3."))
        self.assertEqual(meta["command_line"][1:], ["run", "exp.py", "--LR", "0.1"])
        self.assertEqual(self.data(run), {"metrics": {"acc": 0.9}})
        self.assertIn("lr=0.1", self.log(run))
        self.assertEqual((run / "experiment_code.py").read_text(),
                         (self.dir / "exp.py").read_text())
        self.assertEqual((run / "notes.txt").read_text(), "hello")
        series = (run / ".track" / "train" / "loss.csv").read_text().splitlines()
        self.assertEqual(series[0], "step,value,time,stage")
        self.assertEqual([float(line.split(",")[1]) for line in series[1:]], [1.0, 0.5, 1 / 3])
        self.assertEqual([line.split(",")[0] for line in series[1:]], ["0", "1", "2"])
        self.assertIn("run done", result.stderr)

    def test_exception_gives_failed_with_traceback_and_kept_data(self):
        self.write("exp.py", experiment_source("", """
            e["before"] = 1
            raise ValueError("boom")
            """))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 1)
        run = self.only_run("results/exp")
        meta = self.meta(run)
        self.assertEqual(meta["status"], "failed")
        self.assertEqual(meta["error_type"], "ValueError")
        self.assertEqual(meta["error_message"], "boom")
        self.assertEqual(self.data(run), {"before": 1})
        log = self.log(run)
        self.assertIn("Traceback (most recent call last)", log)
        self.assertIn('raise ValueError("boom")', log)
        self.assertIn("ValueError: boom", log)
        self.assertNotIn("xrun/__init__.py", log)  # only the experiment's frames

    def test_sys_exit_nonzero_is_failed_and_zero_is_done(self):
        self.write("bad.py", experiment_source("", "raise SystemExit(3)"))
        self.write("good.py", experiment_source("", "raise SystemExit(0)"))
        self.assertEqual(self.xrun("run", "bad.py").returncode, 1)
        self.assertEqual(self.meta(self.only_run("results/bad"))["status"], "failed")
        self.assertEqual(self.xrun("run", "good.py").returncode, 0)
        self.assertEqual(self.meta(self.only_run("results/good"))["status"], "done")

    def test_a_module_that_exits_while_loading_creates_no_run_and_says_so(self):
        # No run was made, whatever the code: bad input, with the code the module gave.
        for code, body, said in [
                (0, "import sys\nsys.exit(0)\n", "leaves.py:2: the module exited with code 0"),
                (3, "import sys\nsys.exit(3)\n", "leaves.py:2: the module exited with code 3"),
                (1, "import sys\nsys.exit('bye')\n", "leaves.py:2: the module exited with code 1"),
                (4, "import os\nos._exit(4)\n", "the experiment process exited with code 4")]:
            with self.subTest(code=code):
                self.write("leaves.py", body)
                for args in [(), ("--dry-run",)][:1 if "_exit" in body else 2]:
                    result = self.xrun("run", "leaves.py", *args)
                    self.assertUsageError(result, said, "while loading", "no run was created")
                    self.assertNoRunFolder()
                    if "bye" in body:
                        self.assertIn("bye\n", result.stderr)  # as Python prints it

    def test_os_exit_zero_before_the_end_is_failed_not_done(self):
        self.write("early.py", experiment_source("", """
            import os
            e["before"] = 1
            os._exit(0)
            """))
        result = self.xrun("run", "early.py")
        self.assertEqual(result.returncode, 1)
        self.assertIn("exited with code 0 before the experiment ended", result.stderr)
        run = self.only_run("results/early")
        meta = self.meta(run)
        self.assertEqual((meta["status"], meta["error_type"], meta["exit_code"]),
                         ("failed", "EarlyExit", 1))
        self.assertIn("os._exit", self.log(run))

    def test_data_that_cannot_be_saved_fails_the_run(self):
        self.write("blocked.py", experiment_source("", """
            import os
            os.mkdir(os.path.join(e.path, "experiment_data.json"))  # in the way of the save
            e["x"] = 1
            """))
        result = self.xrun("run", "blocked.py")
        self.assertEqual(result.returncode, 1)
        self.assertIn("xrun: error: cannot write", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        meta = self.meta(self.only_run("results/blocked"))
        self.assertEqual(meta["status"], "failed")
        self.assertIn("the data could not be saved", meta["error_message"])

    def test_a_process_the_experiment_forks_does_not_end_the_run(self):
        self.write("forks.py", experiment_source("MODE: str = 'raise'\n", """
            import os, sys, time
            e["before"] = 1
            pid = os.fork()
            if pid == 0:
                if e.MODE == "raise":
                    raise ValueError("in the child")
                if e.MODE == "exit":
                    sys.exit(3)
                if e.MODE == "track":
                    e.track("x", 1.0)
            else:
                _, status = os.waitpid(pid, 0)
                time.sleep(0.2)
                e["child_exit"] = os.waitstatus_to_exitcode(status)
                e["after"] = 2
            """))
        for mode, child_exit in [("raise", 1), ("exit", 3), ("return", 0), ("track", 1)]:
            with self.subTest(mode=mode):
                result = self.xrun("run", "forks.py", "--MODE", mode, timeout=60)
                self.assertEqual(result.returncode, 0, result.stderr)
                run = self.runs("results/forks")[-1]
                self.assertEqual(self.meta(run)["status"], "done")
                self.assertEqual(self.data(run),
                                 {"before": 1, "after": 2, "child_exit": child_exit})
        self.assertIn("track() records values in the experiment's own process", result.stderr)

    def test_forks_while_a_thread_tracks_at_full_speed_lose_no_point(self):
        # The native threads are busy at every fork (points written, the primary metric's
        # summary replaced, the data saved): the forked processes must not hang on a lock or
        # the allocator held by a thread they do not have, and the run's own process must
        # write every point, whole, including those queued when it forked.
        # The experiment bench/fork_stress.py runs at full length, here with 50 forks.
        shutil.copy(SOURCE_DIR / "bench" / "fork_stress_experiment.py", self.dir / "forks.py")
        result = self.xrun("run", "forks.py", "--FORKS", "50", timeout=300)
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/bench_fork_stress")
        self.assertEqual(self.meta(run)["status"], "done")
        data = self.data(run)
        self.assertEqual(data["exits"], {"0": 25, "7": 25})
        with open(run / ".track" / "x.csv") as series:
            self.assertEqual(series.readline(), "step,value,time,stage\n")
            count = 0
            for count, line in enumerate(series, start=1):
                step, value, _, stage = line.split(",")
                if step != str(count - 1) or float(value) != count - 1 or stage != "\n":
                    self.fail(f"line {count + 1} of x.csv: {line!r}")
        self.assertGreater(data["tracked"], 0)
        self.assertEqual(count, data["tracked"])
        summary = json.loads((run / "experiment_summary.json").read_text())
        self.assertEqual(summary["primary_metric"]["best"], count - 1)

    def _start_sleeper(self):
        self.write("exp.py", experiment_source("", """
            import time
            e["started"] = True
            print("ready", flush=True)
            time.sleep(60)
            """))
        process = self.start("run", "exp.py")
        self.wait_for(lambda: self.runs("results/exp") and
                      "ready" in (self.runs("results/exp")[0] / "experiment_out.log").read_text()
                      if (self.runs("results/exp") and
                          (self.runs("results/exp")[0] / "experiment_out.log").exists())
                      else False, what="the experiment to start")
        return process

    def test_ctrl_c_gives_interrupted(self):
        process = self._start_sleeper()
        interrupt(process, signal.SIGINT)  # the whole process group, as a terminal does
        process.communicate(timeout=30)
        self.assertEqual(process.returncode, 130)
        run = self.only_run("results/exp")
        meta = self.meta(run)
        self.assertEqual(meta["status"], "interrupted")
        self.assertEqual(meta["exit_code"], 130)
        self.assertEqual(meta["error_type"], "KeyboardInterrupt")
        self.assertEqual(self.data(run), {"started": True})

    def test_sigterm_to_xrun_gives_interrupted(self):
        process = self._start_sleeper()
        process.send_signal(signal.SIGTERM)  # xrun alone: it must pass the signal on
        process.communicate(timeout=30)
        self.assertEqual(process.returncode, 130)
        self.assertEqual(self.meta(self.only_run("results/exp"))["status"], "interrupted")

    def test_second_ctrl_c_kills_an_experiment_that_ignores_the_first(self):
        self.write("exp.py", experiment_source("", """
            import time
            e["started"] = True
            try:
                print("ready", flush=True)
                time.sleep(60)
            except KeyboardInterrupt:
                print("ignoring the interrupt", flush=True)
                time.sleep(60)
            """))
        process = self.start("run", "exp.py")
        self.wait_for(lambda: self.runs("results/exp") and
                      (self.runs("results/exp")[0] / "experiment_out.log").exists() and
                      "ready" in self.log(self.runs("results/exp")[0]), what="start")
        interrupt(process)
        self.wait_for(lambda: "ignoring" in self.log(self.runs("results/exp")[0]),
                      what="the first interrupt")
        interrupt(process)
        process.communicate(timeout=30)
        self.assertEqual(process.returncode, 130)
        meta = self.meta(self.only_run("results/exp"))
        self.assertEqual(meta["status"], "interrupted")
        self.assertEqual(meta["signal"], 9)
        self.assertIn("second interrupt", meta["error_message"])

    def test_sigkill_of_the_experiment_gives_killed(self):
        process = self._start_sleeper()
        child = subprocess.run(["pgrep", "-P", str(process.pid)],
                               capture_output=True, text=True).stdout.split()
        self.assertEqual(len(child), 1)
        subprocess.run(["kill", "-KILL", child[0]], check=True)
        process.communicate(timeout=30)
        self.assertEqual(process.returncode, 128 + 9)
        run = self.only_run("results/exp")
        meta = self.meta(run)
        self.assertEqual(meta["status"], "killed")
        self.assertEqual(meta["signal"], 9)
        self.assertEqual(meta["exit_code"], 137)
        self.assertIn("killed by SIGKILL", self.log(run))

    def test_sigterm_to_the_experiment_itself_is_recorded(self):
        process = self._start_sleeper()
        child = subprocess.run(["pgrep", "-P", str(process.pid)],
                               capture_output=True, text=True).stdout.split()
        subprocess.run(["kill", "-TERM", child[0]], check=True)
        process.communicate(timeout=30)
        self.assertEqual(process.returncode, 130)
        meta = self.meta(self.only_run("results/exp"))
        self.assertEqual(meta["status"], "interrupted")
        self.assertEqual(meta["interrupted_by"],
                         {"signal": "SIGTERM", "reason": "sent to the experiment process"})

    def test_sigterm_to_the_experiment_while_its_folder_is_made_is_recorded(self):
        """The experiment's own thread sends SIGTERM as soon as the run folder appears, while
        the supervisor may still be replying: the interrupt is the run's, with its signal."""
        self.write("early.py", experiment_source("import time\n", "time.sleep(30)", WATCHER))
        for _ in range(8):
            result = self.xrun("run", "early.py")
            self.assertEqual(result.returncode, 130, result.stderr)
        self.assertEqual(len(self.runs("results/early")), 8)  # each signalled once its run began
        for run in self.runs("results/early"):
            meta = self.meta(run)
            self.assertEqual(meta["status"], "interrupted")
            self.assertEqual(meta["interrupted_by"],
                             {"signal": "SIGTERM", "reason": "sent to the experiment process"})

    def test_the_experiment_stops_with_a_killed_supervisor(self):
        process = self._start_sleeper()
        child = subprocess.run(["pgrep", "-P", str(process.pid)],
                               capture_output=True, text=True).stdout.split()
        self.assertEqual(len(child), 1)
        process.kill()
        process.communicate(timeout=30)

        def gone():
            try:
                with open(f"/proc/{child[0]}/stat") as stat:
                    return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
            except FileNotFoundError:
                return True
        self.wait_for(gone, what="the experiment to stop with its supervisor")
        run = self.only_run("results/exp")
        self.assertEqual(self.data(run), {"started": True})  # saved as it stopped
        self.assertEqual(self.meta(run)["status"], "running")  # nobody left to record the end

    def test_ctrl_c_wakes_a_sleeping_experiment_at_once(self):
        """A signal to the process must reach Python's main thread, not the writer threads
        (tracked series, data saves), or a sleeping experiment would not notice it."""
        for _ in range(4):
            shutil.rmtree(self.dir / "results", ignore_errors=True)
            process = self._start_sleeper()
            started = time.monotonic()
            interrupt(process)
            process.communicate(timeout=30)
            self.assertLess(time.monotonic() - started, 15)
            self.assertEqual(self.meta(self.only_run("results/exp"))["status"], "interrupted")

    def test_ctrl_c_during_start_up_is_an_interrupt_that_creates_nothing(self):
        """Wherever the interrupt lands (Python starting, the package, the module loading, the
        run folder being made, the run), it is an interrupt: nothing half-made is left."""
        self.write("exp.py", experiment_source("", """
            import time
            print("started", flush=True)
            time.sleep(2)
            """, "import json, csv, email.parser  # some loading to interrupt\n"))
        outcomes = set()
        for delay in [0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.3, 0.5, 0.8]:
            with self.subTest(delay=delay):
                shutil.rmtree(self.dir / "results", ignore_errors=True)
                process = self.start("run", "exp.py")
                time.sleep(delay)
                interrupt(process)
                _, stderr = process.communicate(timeout=30)
                self.assertNotIn("internal error", stderr)
                self.assertNotIn("cannot start Python", stderr)
                self.assertNotIn("Traceback", stderr)
                runs = self.runs("results/exp")
                if process.returncode == -signal.SIGINT:
                    # Before xrun set up its handling (its first milliseconds), as any program.
                    self.assertEqual(runs, [])
                    outcomes.add("killed before start")
                    continue
                self.assertEqual(process.returncode, 130, stderr)
                if not runs:
                    self.assertIn("xrun: interrupted before the run started; no run was created",
                                  stderr)
                    self.assertNoRunFolder()
                    self.assertFalse((self.dir / "results").exists())
                    outcomes.add("nothing")
                    continue
                run = self.only_run("results/exp")
                meta = self.meta(run)
                self.assertEqual((meta["status"], meta["exit_code"]), ("interrupted", 130))
                self.assertTrue((run / "experiment_out.log").exists())
                self.assertEqual(sorted(p.name for p in run.iterdir() if p.name.startswith(".")),
                                 [])
                outcomes.add("interrupted run")
        self.assertIn("nothing", outcomes)
        self.assertIn("interrupted run", outcomes)

    def test_heartbeat_and_running_status_while_alive(self):
        process = self._start_sleeper()
        meta = self.meta(self.only_run("results/exp"))
        self.assertEqual(meta["status"], "running")
        self.assertGreater(meta["heartbeat"], 0)
        self.assertEqual(meta["pid"], process.pid)
        interrupt(process)
        process.communicate(timeout=30)


class Recording(Workspace):
    """The run's record comes first: a run that cannot be recorded does not start, and what
    a run prints reaches its log, even after its supervisor died."""

    EXPERIMENT = experiment_source("", """
        import pathlib, time
        pathlib.Path("ran.txt").write_text("ran")
        try:
            print("ready", flush=True)
            time.sleep(float(__import__("os").environ.get("SLEEP", "0")))
        finally:
            print("finally ran", flush=True)
        """)

    def assertNotStarted(self, result):
        self.assertEqual(result.returncode, 74, result.stderr)
        self.assertIn("xrun: error: cannot record the run, so it did not start:", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertFalse((self.dir / "ran.txt").exists(), "the experiment ran")
        self.assertNoRunFolder()

    def test_a_namespace_blocked_by_a_file_is_not_bad_input(self):
        self.write("exp.py", self.EXPERIMENT)
        self.write("results", "a file where the namespace's folder goes")
        result = self.xrun("run", "exp.py")
        self.assertNotStarted(result)
        self.assertIn("a file is in the way", result.stderr)

    def test_a_run_whose_start_cannot_be_written_does_not_start_and_leaves_nothing(self):
        import resource
        self.write("exp.py", self.EXPERIMENT)

        def small_files():  # a write beyond 1000 bytes fails (EFBIG), as on a full disk
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))

        def run():
            return subprocess.run([os.environ["XRUN_BIN"], "run", "exp.py"], cwd=self.dir,
                                  capture_output=True, text=True, env=self.env(), timeout=60,
                                  preexec_fn=small_files)
        # The Python package cannot be exported (a first run).
        result = run()
        self.assertEqual(result.returncode, 74, result.stderr)
        self.assertIn("xrun: error: cannot export the xrun Python package", result.stderr)
        self.assertFalse((self.dir / "ran.txt").exists(), "the experiment ran")
        self.assertNoRunFolder()
        # With the package exported (which the failing run then only reads): the run's start.
        self.write("other.py", experiment_source("", "pass"))
        self.assertEqual(self.xrun("run", "other.py").returncode, 0)
        shutil.rmtree(self.dir / "results")
        result = run()
        self.assertNotStarted(result)
        self.assertIn("File too large", result.stderr)
        self.assertFalse((self.dir / "results").exists(), "the namespace folders were left")

    def test_a_run_folder_appears_with_its_start_and_its_log(self):
        self.write("exp.py", self.EXPERIMENT)
        process = self.start("run", "exp.py", env=self.env(SLEEP="60"))
        self.wait_for(lambda: self.runs("results/exp"), what="the run folder")
        run = self.only_run("results/exp")
        for name in ["experiment_meta.json", "experiment_code.py", "analysis.py",
                     "experiment_out.log"]:
            self.assertTrue((run / name).is_file(), name)
        self.assertEqual(self.meta(run)["status"], "running")
        interrupt(process)
        process.communicate(timeout=30)
        self.assertEqual(self.meta(run)["status"], "interrupted")

    def test_what_the_experiment_prints_after_its_supervisor_died_reaches_the_log(self):
        self.write("exp.py", self.EXPERIMENT)
        namespace = self.dir / "results" / "exp"
        for when in ["the folder appears", "the experiment printed", "a while later"]:
            with self.subTest(when=when):
                shutil.rmtree(self.dir / "results", ignore_errors=True)
                process = self.start("run", "exp.py", env=self.env(SLEEP="60"))
                if when == "the folder appears":
                    self.wait_for(lambda: self.runs("results/exp"), what="the run folder")
                else:
                    self.wait_for(lambda: self.runs("results/exp") and "ready" in self.log(
                        self.runs("results/exp")[0]), what="the experiment")
                if when == "a while later":
                    time.sleep(0.5)
                child = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True,
                                       text=True).stdout.split()
                process.kill()
                process.communicate(timeout=30)
                self.wait_for(lambda: not child or not Path(f"/proc/{child[0]}").exists() or
                              Path(f"/proc/{child[0]}/stat").read_text().rsplit(")", 1)[1]
                              .split()[0] in ("Z", "X"), what="the experiment to stop")
                run = self.only_run("results/exp")
                log = self.log(run)
                if "ready" in log:
                    self.assertIn("finally ran", log)
                    self.assertIn("xrun: the supervisor is gone", log)
                    self.assertLess(log.index("ready"), log.index("finally ran"))
                leftovers = [p.relative_to(namespace) for p in namespace.rglob("*")
                             if ".tmp" in p.name or p.name.endswith(".starting")]
                self.assertEqual(leftovers, [])

    def test_a_process_the_experiment_forks_is_not_taken_for_an_orphan(self):
        # Stopped by the experiment, it still prints through the supervisor, to the terminal.
        self.write("exp.py", experiment_source("", """
            import os, signal, time
            pid = os.fork()
            if pid == 0:
                try:
                    print("child ready", flush=True)
                    time.sleep(30)
                finally:
                    print("child stopping", flush=True)
                    os._exit(0)
            time.sleep(0.5)
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
            """))
        result = self.xrun("run", "exp.py", timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("child stopping", result.stdout)
        log = self.log(self.only_run("results/exp"))
        self.assertIn("child stopping", log)
        self.assertNotIn("supervisor is gone", log)


class Output(Workspace):
    def test_output_from_c_level_and_subprocesses_is_captured(self):
        self.write("exp.py", experiment_source("", """
            import os, subprocess, sys, ctypes
            print("from python")
            os.write(1, b"from the file descriptor\\n")
            libc = ctypes.CDLL(None)
            libc.printf(b"from C printf\\n")
            libc.fflush(None)
            subprocess.run([sys.executable, "-c", "print('from a subprocess')"], check=True)
            subprocess.run(["sh", "-c", "echo from a shell >&2"], check=True)
            print("to stderr", file=sys.stderr)
            """))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        log = self.log(self.only_run("results/exp"))
        for line in ["from python", "from the file descriptor", "from C printf",
                     "from a subprocess", "from a shell", "to stderr"]:
            self.assertIn(line, log)
            self.assertIn(line, result.stdout + result.stderr)

    def test_a_process_left_running_does_not_hold_the_run_open(self):
        self.write("exp.py", experiment_source("", """
            import subprocess
            subprocess.Popen(["sh", "-c", "echo from the orphan; sleep 300"],
                             start_new_session=True)
            """))
        result = self.xrun("run", "exp.py", timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/exp")
        self.assertEqual(self.meta(run)["status"], "done")
        subprocess.run(["pkill", "-f", "echo from the orphan; sleep 300"])

    def test_a_process_left_running_by_a_slow_failing_load_does_not_hang_xrun(self):
        # Loading takes longer than a heartbeat interval, then fails before any run folder.
        self.write("exp.py", "import subprocess, time\n"
                   "subprocess.Popen(['sh', '-c', 'sleep 120 # left by exp'])\n"
                   "time.sleep(5.5)\nraise ImportError('late')\n")
        result = self.xrun("run", "exp.py", timeout=40)  # without the fix: 120 s
        subprocess.run(["pkill", "-f", "sleep 120 # left by exp"])
        self.assertEqual(result.returncode, 2)
        self.assertIn("ImportError: late", result.stderr)

    def test_progress_redraws_are_collapsed_in_the_log(self):
        self.write("exp.py", experiment_source("", """
            import sys
            for i in range(101):
                sys.stdout.write(f"\\rprogress {i}%")
            sys.stdout.write("\\n")
            print("windows line\\r")
            """))
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        log = self.log(self.only_run("results/exp")).splitlines()
        self.assertIn("progress 100%", log)
        self.assertNotIn("progress 50%", "\n".join(log))
        self.assertIn("windows line", log)

    def test_multiprocessing_spawn_and_sys_executable_work(self):
        self.write("exp.py", experiment_source("", """
            import multiprocessing, subprocess, sys
            out = subprocess.run([sys.executable, "-c", "import sys; print(sys.prefix)"],
                                 capture_output=True, text=True, check=True).stdout
            e["prefix"] = out.strip()
            with multiprocessing.get_context("spawn").Pool(2) as pool:
                e["squares"] = pool.map(abs, [-1, -2, -3])
            """))
        result = self.xrun("run", "exp.py", timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        data = self.data(self.only_run("results/exp"))
        self.assertEqual(data["squares"], [1, 2, 3])
        self.assertTrue(data["prefix"])


class Labels(Workspace):
    """--tag and --note (and a config's tags: and note:) in the meta, shown and queried."""

    def setUp(self):
        super().setUp()
        self.write("exp.py", experiment_source("LR: float = 0.1\n", 'e["acc"] = 1 - e.LR'))

    def listed(self, *args):
        result = self.xrun("archive", "list", "--json", *args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def test_recorded_shown_listed_and_queried(self):
        result = self.xrun("run", "--tag", "first", "exp.py", "--tag", "baseline", "--tag=first",
                           "--note", "the new loss\nsecond try", "--LR", "0.2")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/exp")
        meta = self.meta(run)
        self.assertEqual(meta["tags"], ["first", "baseline"])  # each once, in the order given
        self.assertEqual(meta["note"], "the new loss\nsecond try")
        self.assertEqual(meta["parameters"]["LR"]["value"], 0.2)
        shown = self.xrun("archive", "show", run.name).stdout
        self.assertIn("  tags        first, baseline\n  note        the new loss\n"
                      "              second try\n", shown)
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)  # a run with neither
        plain = [r for r in self.runs("results/exp") if r != run][0]
        self.assertNotIn("tags", self.meta(plain))
        self.assertNotIn("note", self.meta(plain))
        rows = self.listed("--columns", "tags,note")
        self.assertEqual([(row["tags"], row["note"]) for row in rows],
                         [(["first", "baseline"], "the new loss\nsecond try"), (None, None)])
        for where in ['note ~ "*new loss*"', 'tags == ["first", "baseline"]',
                      'meta.tags != null']:
            with self.subTest(where=where):
                self.assertEqual([row["id"] for row in self.listed("--where", where)], [run.name])
        table = self.xrun("archive", "list", "--columns", "tags", "--sort", "-tags").stdout
        self.assertIn('["first","baseline"]', table.splitlines()[1])
        diff = self.xrun("archive", "diff", run.name, plain.name).stdout
        self.assertIn('  tags: ["first","baseline"] -> (none)', diff)

    def test_config_tags_add_up_and_its_note_gives_way_to_the_command_line(self):
        self.write("base.yml", "extend: exp.py\ntags: [base, shared]\nnote: from the base\n")
        self.write("cfg.yml", "extend: base.yml\ntags: shared\nnote: ${NOTE:-from cfg}\n")
        self.assertEqual(self.xrun("run", "cfg.yml").returncode, 0)
        self.assertEqual(self.xrun("run", "cfg.yml", "--tag", "cli", "--note", "mine").returncode, 0)
        first, second = self.runs("results/cfg")
        self.assertEqual((self.meta(first)["tags"], self.meta(first)["note"]),
                         (["base", "shared"], "from cfg"))
        self.assertEqual((self.meta(second)["tags"], self.meta(second)["note"]),
                         (["base", "shared", "cli"], "mine"))
        # Labels are the run's, not settings of the computation: reproduce does not carry them.
        self.assertNotIn("tags", (first / "experiment_config.yml").read_text())
        result = self.xrun("reproduce", "--path", "results", first.name)
        self.assertEqual(result.returncode, 0, result.stderr)
        result = self.xrun("reproduce", "--path", "results", first.name, "--tag", "again")
        self.assertEqual(result.returncode, 0, result.stderr)
        reproduced = [self.meta(run) for run in self.runs("results/cfg")[2:]]
        self.assertEqual([meta.get("tags") for meta in reproduced], [None, ["again"]])

    def test_every_variation_of_a_sweep_gets_them(self):
        result = self.xrun("run", "exp.py", "--sweep", "LR=0.1,0.2", "--tag", "grid",
                           "--note", "lr grid", "-j", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        metas = [self.meta(run) for run in self.runs("results/exp")]
        self.assertEqual([(m["tags"], m["note"]) for m in metas], [(["grid"], "lr grid")] * 2)
        manifest = next((self.dir / "results/exp/.sweeps").glob("*/manifest.json"))
        self.assertEqual(json.loads(manifest.read_text())["request"]["labels"],
                         {"tags": ["grid"], "note": "lr grid"})

    def test_bad_labels_are_refused_before_anything_runs(self):
        cases = [(["--tag", "a,b"], "--tag 'a,b': a tag has no commas"),
                 (["--tag", ""], "--tag '': a tag cannot be empty"),
                 (["--tag", " x"], "--tag ' x': a tag has no spaces around it"),
                 (["--tag", "x" * 65], "a tag has at most 64 characters"),
                 (["--note", "red \033[31m"], "--note: a note has no control characters"),
                 (["--note", "n" * 5000], "--note: a note has at most 4096 bytes"),
                 (["--tag"], "--tag needs a value")]
        for args, message in cases:
            with self.subTest(args=args):
                self.assertUsageError(self.xrun("run", "exp.py", *args), message)
                self.assertUsageError(self.xrun("run", "exp.py", "--sweep", "LR=1,2", *args),
                                      message)
        self.write("bad.yml", "extend: exp.py\ntags: [ok, 'no,comma']\n")
        self.assertUsageError(self.xrun("run", "bad.yml"),
                              "bad.yml:2:12: tag 'no,comma': a tag has no commas")
        self.write("worse.yml", "extend: exp.py\ntags: {a: 1}\n")
        self.assertUsageError(self.xrun("run", "worse.yml"),
                              "worse.yml:2:7: 'tags' must be a list of tags, or one tag")
        self.assertNoRunFolder()


class Packages(Workspace):
    def test_the_packages_of_the_environment_are_recorded_as_importlib_sees_them(self):
        self.write("exp.py", experiment_source("", """
            import importlib.metadata, re
            seen = {}
            for dist in importlib.metadata.distributions():  # earlier on sys.path first
                name = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
                seen.setdefault(name, dist.version)
            e["seen"] = seen
            """))
        # Installed beside the experiment (its folder is on sys.path): a wheel's metadata,
        # and an egg-info whose name has no version (read from its PKG-INFO).
        self.write("My_Tool-2.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: My.Tool\n"
                   "Version: 2.0\n")
        self.write("legacy.egg-info/PKG-INFO", "Metadata-Version: 1.1\nName: legacy\n"
                   "Version: 0.3.1\n\nVersion: 9 (the body, not a header)\n")
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        run = self.only_run("results/exp")
        packages = self.meta(run)["packages"]
        self.assertEqual(packages, self.data(run)["seen"])
        self.assertEqual((packages["my-tool"], packages["legacy"]), ("2.0", "0.3.1"))
        numpy = subprocess.run(["/usr/bin/python3", "-c", "import numpy; print(numpy.__version__)"],
                               capture_output=True, text=True)
        if numpy.returncode == 0:  # Debian's python3-numpy
            self.assertEqual(packages["numpy"], numpy.stdout.strip())
        self.assertEqual(list(packages), sorted(packages))
        # Another version is a difference between the runs; the record cannot be changed.
        os.rename(self.dir / "My_Tool-2.0.dist-info", self.dir / "My_Tool-2.1.dist-info")
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        first, second = self.runs("results/exp")
        diff = self.xrun("archive", "diff", first.name, second.name).stdout
        self.assertIn('packages\n  my-tool: "2.0" -> "2.1"\n', diff)
        self.assertUsageError(self.xrun("archive", "modify", first.name, "--set",
                                        "meta.packages={}"), "meta.packages records what happened")


if __name__ == "__main__":
    unittest.main()
