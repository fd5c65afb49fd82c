"""Runs started with xrun.start() from plain /usr/bin/python3 (the package and `_xrun` from
`xrun python-path`, a watcher process recording the run) and inside `xrun run`: every way such
a run ends, and what its folder then says."""

import json
import os
import shutil
import signal
import subprocess
import unittest
from pathlib import Path

from support import Workspace

PYTHON = "/usr/bin/python3"
# A sanitizer build has no `_xrun` extension (plain python3 cannot load one built for the
# sanitizers' runtime), so no watcher: the package records runs by Python alone there.
watched = unittest.skipIf(os.environ.get("XRUN_SANITIZED") == "1",
                          "no _xrun extension module in a sanitizer build")

# A script that starts a run, says it is ready through a file (so the test can signal it at a
# known point) and then does what BODY says.
SCRIPT = """\
import os, sys, time
import xrun

{body}
"""

WAIT = """\
open("ready", "w").close()
while not os.path.exists("go"):
    time.sleep(0.02)
"""


class PlainPython(Workspace):
    def setUp(self):
        super().setUp()
        self.package = self.python_package()

    def python_env(self, **extra):
        return self.env(PYTHONPATH=self.package, **extra)

    def python(self, body: str, env=None):
        self.write("script.py", SCRIPT.format(body=body))
        return subprocess.run([PYTHON, "script.py"], cwd=self.dir, capture_output=True,
                              text=True, timeout=120, env=env or self.python_env())

    def start_python(self, body: str, env=None):
        self.write("script.py", SCRIPT.format(body=body))
        process = subprocess.Popen([PYTHON, "script.py"], cwd=self.dir, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   env=env or self.python_env())
        self.addCleanup(lambda: process.poll() is None and process.kill())
        self.wait_for(lambda: (self.dir / "ready").exists() or process.poll() is not None,
                      what="the script to start its run")
        self.assertIsNone(process.poll(), process.stderr.read() if process.poll() else "")
        return process

    def ended(self, folder: Path, process=None) -> dict:
        """The meta once the watcher has recorded the run's end."""
        if process is not None:
            process.communicate(timeout=60)
        self.wait_for(lambda: self.meta(folder)["status"] != "running",
                      what="the watcher to record the end")
        return self.meta(folder)

    def shown_status(self) -> str:
        listed = self.xrun("archive", "list", "--json")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        rows = json.loads(listed.stdout)
        self.assertEqual(len(rows), 1, rows)
        return rows[0]["status"]

    # -- normal ends ----------------------------------------------------------------------
    @watched
    def test_with_block_records_a_done_run_with_its_output_series_and_code(self):
        body = """\
with xrun.start("cifar/resnet", params={"lr": 0.01, "layers": [2, 2]}) as run:
    print("epoch 1 done")
    print("to stderr", file=sys.stderr)
    for i in range(3):
        run.track("loss", 1.0 / (i + 1))
    print("path", run.path, "id", run.id)
print("after the run")
"""
        result = self.python(body)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("epoch 1 done", result.stdout)  # still on the terminal
        self.assertIn("after the run", result.stdout)
        folder = self.only_run("results/cifar/resnet")
        self.assertIn(f"path {folder} id {folder.name}", result.stdout)
        meta = self.ended(folder)
        self.assertEqual(meta["status"], "done")
        self.assertEqual(meta["exit_code"], 0)
        self.assertEqual(meta["name"], "cifar/resnet")
        self.assertEqual(meta["parameters"]["lr"]["value"], 0.01)
        self.assertEqual(meta["parameters"]["layers"]["value"], [2, 2])
        self.assertTrue(meta["watched"]["traced"])
        self.assertNotEqual(meta["pid"], meta["watched"]["pid"])  # the watcher's pid
        self.assertIn("loss", meta["tracked"])
        self.assertEqual((folder / "experiment_code.py").read_text(),
                         (self.dir / "script.py").read_text())
        log = self.log(folder)
        self.assertEqual(log.count("epoch 1 done"), 1)
        self.assertEqual(log.count("to stderr"), 1)
        self.assertNotIn("after the run", log)  # printed after the run had ended
        lines = (folder / ".track" / "loss.csv").read_text().splitlines()
        values = [float(line.split(",")[1]) for line in lines[1:]]
        self.assertEqual(values[:2], [1.0, 0.5])
        self.assertEqual(len(values), 3)

    @watched
    def test_a_run_not_finished_by_the_script_is_done_at_exit(self):
        result = self.python('run = xrun.start("plain")\nprint("working")\n')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.ended(self.only_run("results/plain"))["status"], "done")

    @watched
    def test_a_run_from_python_c_has_no_code_file(self):
        result = subprocess.run([PYTHON, "-c", "import xrun\nwith xrun.start('c'):\n"
                                               "    print('from -c')\n"],
                                cwd=self.dir, capture_output=True, text=True, timeout=120,
                                env=self.python_env())
        self.assertEqual(result.returncode, 0, result.stderr)
        folder = self.only_run("results/c")
        meta = self.ended(folder)
        self.assertEqual((meta["status"], meta["experiment_path"]), ("done", ""))
        self.assertEqual((folder / "experiment_code.py").read_text(), "")
        self.assertIn("from -c", self.log(folder))

    @watched
    def test_a_run_that_cannot_be_recorded_raises_in_the_script(self):
        self.write("results/taken", "a file where the run's folder goes\n")
        result = self.python('try:\n    xrun.start("taken/x")\n'
                             'except RuntimeError as error:\n    print("refused:", error)\n')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("refused: the run cannot be recorded, so it did not start", result.stdout)
        self.assertNotIn("error", result.stderr)  # said once, by the exception

    @watched
    def test_finish_records_the_status_given_and_refuses_an_unknown_one(self):
        body = """\
run = xrun.start("given")
try:
    run.finish(status="great")
except ValueError as error:
    print("refused:", error)
run.finish(status="interrupted")
run.finish(status="done")  # a second call changes nothing
following = xrun.start("given")
for late in (lambda: run.summary({"late": 1}), lambda: run.set_primary_metric("x")):
    try:
        late()
    except RuntimeError as error:
        print("late:", error)
following.finish()
"""
        result = self.python(body)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("refused:", result.stdout)
        self.assertIn("'great'", result.stdout)
        self.assertEqual(result.stdout.count("has finished"), 2)
        runs = sorted(self.runs("results/given"), key=lambda run: self.meta(run)["start_time"])
        self.assertEqual(self.ended(runs[0])["status"], "interrupted")
        self.assertFalse((runs[1] / "experiment_summary.json").exists())  # nothing late there

    @watched
    def test_finish_returns_with_the_end_on_record(self):
        # The watcher lets the script go once the end is written (its syncs follow): what
        # the script reads right after finish() is the run's final record.
        body = """\
import json
run = xrun.start("rec")
run.finish()
meta = json.load(open(os.path.join(run.path, "experiment_meta.json")))
print("status:", meta["status"], meta["watched"]["traced"])
print("code:", os.path.exists(os.path.join(run.path, "experiment_code.py")))
"""
        result = self.python(body)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("status: done True", result.stdout)
        self.assertIn("code: True", result.stdout)

    def test_public_names_are_imported_on_first_use(self):
        body = """\
print("loaded:", sorted(name for name in sys.modules if name.startswith("xrun.")))
from xrun import *
print(Experiment, ExperimentMixin, PluginEvent, Run, xrun.Parameter, UsageError)
print(INHERIT is xrun.INHERIT, callable(start), callable(artifact_path))
"""
        result = self.python(body)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("loaded: ['xrun._common']", result.stdout)
        self.assertIn("<class 'xrun.Experiment'> <class 'xrun.ExperimentMixin'> <class "
                      "'xrun.PluginEvent'> <class 'xrun.Run'> <class 'xrun.Parameter'> "
                      "<class 'xrun.UsageError'>", result.stdout)
        self.assertIn("True True True", result.stdout)

    @watched
    def test_one_run_open_at_a_time_and_runs_one_after_another(self):
        body = """\
with xrun.start("seq") as first:
    try:
        xrun.start("seq")
    except RuntimeError as error:
        print("second:", error)
with xrun.start("seq") as second:
    pass
"""
        result = self.python(body)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("second: a run is already open in this process", result.stdout)
        folders = self.runs("results/seq")
        self.assertEqual(len(folders), 2)
        for folder in folders:
            self.assertEqual(self.ended(folder)["status"], "done")
            self.assertTrue(self.meta(folder)["watched"]["traced"])  # the first let go

    def test_bad_arguments_are_clear_errors_naming_the_value(self):
        result = self.python('xrun.start("x", tqdm_mode="fancy")\n')
        self.assertEqual(result.returncode, 1)
        self.assertIn("ValueError: tqdm_mode is 'smart', 'all' or 'none', not 'fancy'",
                      result.stderr)
        for name in ("../up", ".hidden", "a//b", "a/./b", "/abs", "tab\there"):
            result = self.python(f'xrun.start({name!r})\n')
            self.assertIn(f"not {name!r}", result.stderr)
        self.assertFalse((self.dir / "results").exists())

    @watched
    def test_tqdm_mode_decides_what_the_log_keeps_of_redrawn_lines(self):
        body = """\
for mode in ("smart", "all", "none"):
    with xrun.start(mode, tqdm_mode=mode):
        print("before")
        sys.stdout.write("10%\\r50%\\r100%\\n")
        print("after", flush=True)
"""
        result = self.python(body)
        self.assertEqual(result.returncode, 0, result.stderr)
        kept = {mode: self.log(self.only_run(f"results/{mode}")).splitlines()
                for mode in ("smart", "all", "none")}
        self.assertEqual(kept["smart"], ["before", "100%", "after"])
        self.assertEqual(kept["all"], ["before", "10%", "50%", "100%", "after"])
        self.assertEqual(kept["none"], ["before", "after"])

    # -- failures -------------------------------------------------------------------------
    @watched
    def test_exception_inside_with_fails_the_run_and_propagates_once(self):
        body = """\
with xrun.start("fails"):
    print("working")
    raise ValueError("bad value 42")
"""
        result = self.python(body)
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.count("ValueError: bad value 42"), 1, result.stderr)
        meta = self.ended(self.only_run("results/fails"))
        self.assertEqual(meta["status"], "failed")
        self.assertEqual(meta["error_type"], "ValueError")
        self.assertEqual(meta["error_message"], "bad value 42")
        log = self.log(self.only_run("results/fails"))
        self.assertEqual(log.count("Traceback (most recent call last)"), 1, log)
        self.assertIn('raise ValueError("bad value 42")', log)

    @watched
    def test_exception_outside_with_fails_the_open_run(self):
        result = self.python('run = xrun.start("fails")\nraise KeyError("missing")\n')
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.count("KeyError: 'missing'"), 1, result.stderr)
        folder = self.only_run("results/fails")
        meta = self.ended(folder)
        self.assertEqual((meta["status"], meta["error_type"]), ("failed", "KeyError"))
        self.assertEqual(self.log(folder).count("Traceback (most recent call last)"), 1)

    @watched
    def test_a_forked_process_that_exits_does_not_end_the_run(self):
        body = """\
run = xrun.start("forked")
child = os.fork()
if child == 0:
    sys.exit(0)  # atexit runs here, in the fork
os.waitpid(child, 0)
raise ValueError("the script's own end")
"""
        result = self.python(body)
        self.assertEqual(result.returncode, 1)
        meta = self.ended(self.only_run("results/forked"))
        self.assertEqual((meta["status"], meta["error_type"]), ("failed", "ValueError"))

    @watched
    def test_a_forked_process_may_start_a_run_of_its_own(self):
        body = """\
run = xrun.start("parent", capture_console=False)
run.track("x", 1.0)
child = os.fork()
if child == 0:
    try:
        with xrun.start("child", capture_console=False) as mine:
            mine.track("y", 5.0)
    except BaseException as error:
        print("child:", repr(error), flush=True)
        os._exit(1)
    os._exit(0)
_, status = os.waitpid(child, 0)
print("child exit", os.waitstatus_to_exitcode(status), flush=True)
run.track("x", 2.0)
run.finish()
"""
        result = self.python(body)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("child exit 0", result.stdout)
        parent = self.only_run("results/parent")
        child = self.only_run("results/child")
        self.assertEqual(self.ended(parent)["status"], "done")
        self.assertEqual(self.ended(child)["status"], "done")
        self.assertEqual([line.split(",")[:2] for line in
                          (parent / ".track" / "x.csv").read_text().splitlines()[1:]],
                         [["0", "1"], ["1", "2"]])
        self.assertEqual([line.split(",")[:2] for line in
                          (child / ".track" / "y.csv").read_text().splitlines()[1:]],
                         [["0", "5"]])

    @watched
    def test_a_thread_tracking_while_runs_start_and_finish(self):
        # Another thread's calls while a run finishes: refused with a RuntimeError, never a
        # crash, and none of them lands in the next run.
        body = """\
import threading
state = {"run": None, "stop": False, "refused": set()}
def loop():
    i = 0
    while not state["stop"]:
        run = state["run"]
        if run is None:
            time.sleep(0.001)
            continue
        i += 1
        try:
            run.track(f"bg/s{i % 40}", 1.0)
            run.log({f"bg/l{i % 7}": 1.0})
        except RuntimeError as error:
            state["refused"].add(str(error).split(" (")[0])
thread = threading.Thread(target=loop)
thread.start()
for n in range(30):
    run = xrun.start("busy", capture_console=False, system_metrics=0)
    state["run"] = run
    for k in range(200):
        run.track("main", float(k))
    run.finish()
state["stop"] = True
thread.join()
try:
    run.track("main", 1.0)
except RuntimeError as error:
    print("late:", error)
for message in sorted(state["refused"]):
    print("refused:", message)
"""
        result = self.python(body)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("late: track() records series only while a run records", result.stdout)
        for line in result.stdout.splitlines():
            if line.startswith("refused: "):
                self.assertRegex(line[len("refused: "):],
                                 r"^(track|log)\(\) records series only while a run records"
                                 r"|^track\(\) and log\(\) record series only while a run "
                                 r"records|^(track|log)\(\): the run finished")
        runs = self.runs("results/busy")
        self.assertEqual(len(runs), 30)
        for folder in runs:
            self.assertEqual(self.ended(folder)["status"], "done")
            steps = [line.split(",")[0] for line in
                     (folder / ".track" / "main.csv").read_text().splitlines()[1:]]
            self.assertEqual(steps, [str(k) for k in range(200)], folder)

    @watched
    def test_os_exit_records_the_exit_code(self):
        body = 'run = xrun.start("gone")\nprint("bye", flush=True)\nos._exit(3)\n'
        result = self.python(body)
        self.assertEqual(result.returncode, 3)
        meta = self.ended(self.only_run("results/gone"))
        self.assertEqual(meta["status"], "failed")
        self.assertEqual(meta["error_type"], "exit code 3")

    # -- signals --------------------------------------------------------------------------
    @watched
    def test_sigint_interrupts_the_run(self):
        process = self.start_python(f'run = xrun.start("sig")\n{WAIT}')
        process.send_signal(signal.SIGINT)
        meta = self.ended(self.only_run("results/sig"), process)
        self.assertEqual(process.returncode, -signal.SIGINT)  # Python's own end on Ctrl-C
        self.assertEqual(meta["status"], "interrupted")
        self.assertEqual(meta["interrupted_by"]["signal"], "SIGINT")

    @watched
    def test_sigterm_interrupts_the_run(self):
        process = self.start_python('with xrun.start("sig"):\n' +
                                    "".join("    " + line + "\n" for line in WAIT.splitlines()))
        process.send_signal(signal.SIGTERM)
        meta = self.ended(self.only_run("results/sig"), process)
        self.assertEqual(meta["status"], "interrupted")
        self.assertEqual(meta["interrupted_by"]["signal"], "SIGTERM")

    @watched
    def test_sigkill_of_the_script_is_killed_with_the_signal(self):
        process = self.start_python(f'run = xrun.start("sig")\n{WAIT}')
        process.kill()
        meta = self.ended(self.only_run("results/sig"), process)
        self.assertEqual(meta["status"], "killed")
        self.assertEqual(meta["signal"], signal.SIGKILL)
        self.assertEqual(meta["error_type"], "SIGKILL")
        self.assertEqual(self.shown_status(), "killed")

    @watched
    def test_stop_and_continue_leave_the_run_going(self):
        process = self.start_python(f'run = xrun.start("sig")\n{WAIT}print("went on")\n')
        process.send_signal(signal.SIGSTOP)
        self.wait_for(lambda: _state(process.pid) in ("T", "t"), what="the script to stop")
        process.send_signal(signal.SIGCONT)
        self.wait_for(lambda: _state(process.pid) not in ("T", "t"), what="it to go on")
        (self.dir / "go").touch()
        meta = self.ended(self.only_run("results/sig"), process)
        self.assertEqual(process.returncode, 0)
        self.assertEqual(meta["status"], "done")

    @watched
    def test_sigkill_of_the_watcher_shows_the_run_lost(self):
        process = self.start_python(f'run = xrun.start("sig")\n{WAIT}'
                                    f'print("printed after", "x" * 100000)\n')
        folder = self.only_run("results/sig")
        watcher = self.meta(folder)["pid"]
        os.kill(watcher, signal.SIGKILL)
        self.wait_for(lambda: not Path(f"/proc/{watcher}").exists() or
                      _state(watcher) == "Z", what="the watcher to die")
        self.assertEqual(self.shown_status(), "lost")
        (self.dir / "go").touch()
        out, err = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 0, err)  # the script itself went on
        self.assertIn("printed after", out)  # on the terminal again
        self.assertIn("the xrun watcher of this run is gone", err)

    @watched
    def test_a_signal_to_the_watcher_is_not_passed_to_the_script(self):
        # The script is not the watcher's: a SIGTERM meant for it reaches it by itself.
        process = self.start_python(f'run = xrun.start("sig")\n{WAIT}print("went on")\n')
        folder = self.only_run("results/sig")
        os.kill(self.meta(folder)["pid"], signal.SIGTERM)
        os.kill(self.meta(folder)["pid"], signal.SIGINT)
        (self.dir / "go").touch()
        out, err = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 0, err)
        self.assertIn("went on", out)
        meta = self.ended(folder)
        self.assertEqual(meta["status"], "done")
        self.assertNotIn("interrupted_by", meta)

    @watched
    def test_a_program_printing_after_the_run_and_its_watcher_ended_goes_on(self):
        # The child prints once the run is finished and its watcher has left.
        body = """\
import subprocess
CHILD = '''
import os, sys, time
watcher = int(sys.argv[1])
while not os.path.exists("go"):
    time.sleep(0.02)
def alive():
    try:
        with open(f"/proc/{watcher}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
while alive():
    time.sleep(0.02)
for i in range(3000):
    print("late line", i, "x" * 40, flush=True)
'''
import json
run = xrun.start("outlive")
with open(os.path.join(run.path, "experiment_meta.json")) as meta:
    watcher = json.load(meta)["pid"]
child = subprocess.Popen([sys.executable, "-c", CHILD, str(watcher)])
run.finish()
open("go", "w").close()
print("child exit code", child.wait(), flush=True)
"""
        result = self.python(body)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("child exit code 0", result.stdout)
        self.assertIn("late line 2999 ", result.stdout)
        self.assertEqual(self.meta(self.only_run("results/outlive"))["status"], "done")

    @watched
    def test_a_program_writing_after_the_watcher_was_killed_finishes(self):
        body = """\
import subprocess
run = xrun.start("sig")
child = subprocess.Popen([sys.executable, "-c", '''
import os, time
while not os.path.exists("go"):
    time.sleep(0.02)
print("y" * 500000, flush=True)
print("child done", flush=True)
'''])
""" + WAIT + 'print("child exit code", child.wait(), flush=True)\n'
        process = self.start_python(body)
        folder = self.only_run("results/sig")
        watcher = self.meta(folder)["pid"]
        os.kill(watcher, signal.SIGKILL)
        self.wait_for(lambda: not Path(f"/proc/{watcher}").exists() or
                      _state(watcher) == "Z", what="the watcher to die")
        # The child writes only once the script has said the watcher is gone.
        said = process.stderr.readline()
        self.assertIn("the xrun watcher of this run is gone", said)
        (self.dir / "go").touch()
        out, err = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 0, err)
        self.assertIn("child done", out)
        self.assertIn("child exit code 0", out)

    @watched
    def test_a_console_that_does_not_keep_up_does_not_hold_the_script(self):
        # Nobody reads the console until the script has ended: the watcher keeps what it can
        # for it and leaves out the rest there, never in the log.
        self.write("script.py", SCRIPT.format(body="""\
with xrun.start("flood"):
    for i in range(50000):
        print(f"line {i:06d}", "x" * 100)
"""))
        process = subprocess.Popen([PYTHON, "script.py"], cwd=self.dir, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=self.python_env())
        self.addCleanup(lambda: process.poll() is None and process.kill())
        self.assertEqual(process.wait(timeout=120), 0)
        out, _ = process.communicate(timeout=60)
        self.assertIn(b"[xrun: output left out here, the console did not keep up", out)
        self.assertTrue(out.startswith(b"line 000000 "), out[:100])
        folder = self.only_run("results/flood")
        self.assertEqual(self.ended(folder)["status"], "done")
        log = self.log(folder).splitlines()
        self.assertEqual(len([line for line in log if line.startswith("line ")]), 50000)
        self.assertTrue(log[-1].startswith("line 049999 "), log[-1])

    @watched
    def test_without_tracing_a_kill_is_killed_by_an_unknown_signal(self):
        process = self.start_python(f'run = xrun.start("sig")\n{WAIT}',
                                    env=self.python_env(XRUN_NO_PTRACE="1"))
        process.kill()
        meta = self.ended(self.only_run("results/sig"), process)
        self.assertEqual(meta["status"], "killed")
        self.assertIsNone(meta["signal"])
        self.assertIn("not traced (XRUN_NO_PTRACE is set)", meta["error_message"])
        self.assertFalse(meta["watched"]["traced"])

    @watched
    @unittest.skipIf(shutil.which("strace") is None, "strace is not installed")
    def test_without_pidfd_open_the_watcher_still_records_the_end(self):
        # As on a kernel before 5.3 or under a seccomp filter: pidfd_open fails with ENOSYS.
        self.write("script.py", SCRIPT.format(body='with xrun.start("nopidfd"):\n'
                                                   '    print("working")\n'))
        result = subprocess.run(["strace", "-f", "-o", "/dev/null", "-e",
                                 "inject=pidfd_open:error=ENOSYS", PYTHON, "script.py"],
                                cwd=self.dir, capture_output=True, text=True, timeout=120,
                                env=self.python_env())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "working\n")
        self.assertNotIn("warning", result.stderr)
        folder = self.only_run("results/nopidfd")
        self.assertEqual(self.ended(folder)["status"], "done")
        self.assertIn("working", self.log(folder))

    @watched
    def test_the_watchers_descriptors_are_never_inheritable_in_the_script(self):
        # A program another thread starts while the watcher starts must not inherit the pid
        # pipe (start() would wait for that program's end): seen at the spawn of the starter.
        body = """\
seen = []
spawn = os.posix_spawn
def checked(*args, **kwargs):
    seen.extend(fd for fd in map(int, os.listdir("/proc/self/fd"))
                if fd > 2 and os.path.exists(f"/proc/self/fd/{fd}") and os.get_inheritable(fd))
    return spawn(*args, **kwargs)
os.posix_spawn = checked
with xrun.start("fds"):
    pass
print("inheritable:", seen)
"""
        result = self.python(body)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("inheritable: []", result.stdout)
        self.assertEqual(self.meta(self.only_run("results/fds"))["status"], "done")

    # -- inside xrun run ------------------------------------------------------------------
    def test_xrun_run_of_a_script_that_starts_its_run(self):
        self.write("script.py", SCRIPT.format(body="""\
with xrun.start("inside", params={"k": 3}) as run:
    print("inside xrun run")
    run.track("acc", 0.5)
"""))
        result = self.xrun("run", "script.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        folder = self.only_run("results/inside")
        meta = self.meta(folder)
        self.assertEqual(meta["status"], "done")
        self.assertEqual(meta["parameters"]["k"]["value"], 3)
        self.assertEqual(meta["tracked"], ["acc"])
        self.assertEqual(self.log(folder).count("inside xrun run"), 1)

    def test_reproduce_runs_a_start_script_again(self):
        # With its work at the top level, or under `if __name__ == "__main__":`.
        self.write("flat.py", 'import xrun\nwith xrun.start("again/flat") as run:\n'
                              '    run.log({"a": 1.0})\n')
        self.write("guarded.py", 'import xrun\ndef main():\n'
                                 '    with xrun.start("again/guarded") as run:\n'
                                 '        run.log({"a": 1.0})\n'
                                 'if __name__ == "__main__":\n    main()\n')
        for name in ("flat", "guarded"):
            self.assertEqual(self.xrun("run", f"{name}.py").returncode, 0)
            first = self.only_run(f"results/again/{name}")
            result = self.xrun("reproduce", str(first))
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertNotIn("error", result.stderr)
            runs = self.runs(f"results/again/{name}")
            self.assertEqual(len(runs), 2)
            for run in runs:
                self.assertEqual(self.meta(run)["status"], "done")
                self.assertTrue((run / ".track" / "a.csv").is_file())

    def test_xrun_run_of_a_start_script_that_fails(self):
        self.write("script.py", SCRIPT.format(body='run = xrun.start("inside")\n'
                                                   'raise ValueError("bad")\n'))
        result = self.xrun("run", "script.py")
        self.assertEqual(result.returncode, 1)
        folder = self.only_run("results/inside")
        self.assertEqual(self.meta(folder)["status"], "failed")
        log = self.log(folder)
        self.assertEqual(log.count("Traceback (most recent call last)"), 1, log)
        self.assertNotIn("_entry.py", log)  # the script's frames only

    def test_xrun_run_of_a_script_without_experiment_or_start_is_refused(self):
        self.write("script.py", "print('nothing')\n")
        self.assertUsageError(self.xrun("run", "script.py"), "script.py defines no experiment",
                              "xrun.start()")

    # -- without the watcher ----------------------------------------------------------------
    def test_without_the_binary_python_records_the_run_alone(self):
        package = self.dir / "package"
        shutil.copytree(Path(self.package) / "xrun", package / "xrun",
                        ignore=shutil.ignore_patterns("xrun_binary.txt", "__pycache__"))
        env = self.env(PYTHONPATH=str(package))
        body = """\
with xrun.start("alone", params={"lr": 0.1}):
    print("working")
with xrun.start("alone"):
    pass
"""
        result = self.python(body, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr.count("warning:"), 1, result.stderr)
        self.assertIn("_xrun extension module is not found", result.stderr)
        folders = self.runs("results/alone")
        self.assertEqual(len(folders), 2)
        meta = self.meta(folders[0])
        self.assertEqual(meta["status"], "done")
        self.assertEqual(meta["parameters"]["lr"]["value"], 0.1)
        self.assertTrue((folders[0] / "experiment_code.py").is_file())
        listed = json.loads(self.xrun("archive", "list", "--json").stdout)
        self.assertEqual([row["status"] for row in listed], ["done", "done"])

    @watched
    def test_a_binary_that_cannot_watch_is_said_once_and_python_records_the_run(self):
        package = self.dir / "package"
        shutil.copytree(Path(self.package), package, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        fake = self.write("fake-xrun", "#!/bin/sh\nexit 3\n")
        fake.chmod(0o755)
        (package / "xrun" / "xrun_binary.txt").write_text(str(fake))
        result = self.python('with xrun.start("alone"):\n    pass\n'
                             'with xrun.start("alone"):\n    pass\n',
                             env=self.env(PYTHONPATH=str(package)))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr.count("warning:"), 1, result.stderr)
        self.assertIn("the xrun watcher cannot be started (xrun watch exited with code 3)",
                      result.stderr)
        self.assertEqual([self.meta(folder)["status"] for folder in self.runs("results/alone")],
                         ["done", "done"])

    def test_without_the_binary_a_killed_run_becomes_lost_when_its_heartbeat_is_old(self):
        package = self.dir / "package"
        shutil.copytree(Path(self.package) / "xrun", package / "xrun",
                        ignore=shutil.ignore_patterns("xrun_binary.txt", "__pycache__"))
        process = self.start_python(f'run = xrun.start("alone")\n{WAIT}',
                                    env=self.env(PYTHONPATH=str(package)))
        process.kill()
        process.communicate(timeout=60)
        folder = self.only_run("results/alone")
        meta_file = folder / "experiment_meta.json"
        meta = json.loads(meta_file.read_text())
        self.assertEqual(meta["status"], "running")
        self.assertEqual(self.shown_status(), "running")  # the heartbeat is recent
        meta["heartbeat"] -= 3600  # as an hour later
        meta_file.write_text(json.dumps(meta))
        self.assertEqual(self.shown_status(), "lost")


def _state(pid: int) -> str:
    """The state letter of process ``pid`` ("" when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return text[text.rindex(")") + 2]


if __name__ == "__main__":
    unittest.main()
