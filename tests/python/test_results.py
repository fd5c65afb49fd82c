"""The readers of recorded runs (`xrun._results`) on their own: series lines, paths kept
inside a run folder, and the status a run whose meta says `running` is shown with."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "python" / "package"
sys.dont_write_bytecode = True  # the source tree gets no __pycache__
sys.path.insert(0, str(PACKAGE))

from xrun._results import _open_inside, _parse_series, _shown_status  # noqa: E402


class Series(unittest.TestCase):
    def test_points_with_stages_nan_inf_and_a_cut_last_line(self):
        text = b"step,value,time,stage\n0,0.5,10.0,train\n1,nan,11.0,\n2,-inf,12.0,val\n3,0.2,1"
        columns = _parse_series(text, "loss.csv")
        self.assertEqual(columns["step"], [0, 1, 2])
        self.assertEqual(columns["value"][0], 0.5)
        self.assertNotEqual(columns["value"][1], columns["value"][1])  # nan
        self.assertEqual(columns["value"][2], float("-inf"))
        self.assertEqual(columns["stage"], ["train", "", "val"])

    def test_three_columns_of_older_runs_have_no_stage(self):
        columns = _parse_series(b"step,value,time\n4,1.5,3.0\n", "old.csv")
        self.assertEqual((columns["step"], columns["stage"]), ([4], [""]))

    def test_what_is_not_a_series_is_named(self):
        with self.assertRaisesRegex(ValueError, "x.csv is not a series file"):
            _parse_series(b"a,b\n1,2\n", "x.csv")
        with self.assertRaisesRegex(ValueError, "x.csv, line 3: 'one,2,3' is not a step"):
            _parse_series(b"step,value,time\n0,1,2\none,2,3\n", "x.csv")


class InsideTheFolder(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.run_folder = Path(self.dir.name) / "run"
        (self.run_folder / "sub").mkdir(parents=True)
        (self.run_folder / "sub" / "file.txt").write_text("inside")
        (Path(self.dir.name) / "outside.txt").write_text("outside")

    def read(self, relative: str) -> str:
        fd = _open_inside(str(self.run_folder), relative, "test")
        with os.fdopen(fd) as file:
            return file.read()

    def test_a_file_inside_reads(self):
        self.assertEqual(self.read("sub/file.txt"), "inside")

    def test_links_and_paths_that_leave_are_refused(self):
        os.symlink("../outside.txt", self.run_folder / "link.txt")
        os.symlink("..", self.run_folder / "up")
        os.symlink("file.txt", self.run_folder / "sub" / "near.txt")
        for relative in ("link.txt", "up/outside.txt", "sub/near.txt"):
            with self.assertRaisesRegex(ValueError, "is a symbolic link", msg=relative):
                self.read(relative)
        for relative in ("../outside.txt", "/etc/passwd", "sub//file.txt", "", "a\0b"):
            with self.assertRaisesRegex(ValueError, "not a relative path inside", msg=relative):
                self.read(relative)

    def test_a_missing_file_and_a_fifo(self):
        with self.assertRaises(FileNotFoundError):
            self.read("sub/none.txt")
        os.mkfifo(self.run_folder / "pipe")
        with self.assertRaisesRegex(ValueError, "is not a regular file"):
            self.read("pipe")  # and without blocking on it


class Status(unittest.TestCase):
    def meta(self, **fields):
        meta = {"status": "running", "host": socket.gethostname(), "pid": 0,
                "start_time": time.time() - 10, "heartbeat": time.time()}
        meta.update(fields)
        return meta

    def test_an_ended_run_is_its_recorded_status(self):
        self.assertEqual(_shown_status({"status": "failed"}, time.time()), "failed")
        self.assertEqual(_shown_status({}, time.time()), "corrupt")

    def test_on_another_host_the_heartbeat_tells(self):
        now = time.time()
        self.assertEqual(_shown_status(self.meta(host="elsewhere", pid=1, heartbeat=now - 5),
                                       now), "running")
        self.assertEqual(_shown_status(self.meta(host="elsewhere", pid=1, heartbeat=now - 61),
                                       now), "lost")

    def test_here_a_dead_or_foreign_supervisor_is_lost_whatever_the_heartbeat(self):
        ended = subprocess.Popen(["true"])
        ended.wait()
        self.assertEqual(_shown_status(self.meta(pid=ended.pid), time.time()), "lost")
        # A live process that is not xrun (this one: python3) holds the pid.
        self.assertEqual(_shown_status(self.meta(pid=os.getppid()), time.time()), "lost")

    def test_here_a_live_xrun_keeps_its_run_running_however_old_the_heartbeat(self):
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        # A copy of sleep, named as xrun's programs are (/proc shows the program's own name).
        program = Path(folder.name) / "xrun"
        program.write_bytes(Path("/bin/sleep").read_bytes())
        program.chmod(0o755)
        supervisor = subprocess.Popen([str(program), "30"])
        self.addCleanup(supervisor.wait)
        self.addCleanup(supervisor.kill)
        # The run starts after its supervisor, which then writes no heartbeat (suspended).
        meta = self.meta(pid=supervisor.pid, start_time=time.time() + 1,
                         heartbeat=time.time() - 3600)
        self.assertEqual(_shown_status(meta, time.time()), "running")
        # Started after the run began: the pid was used again, the supervisor is gone.
        meta["start_time"] = time.time() - 3600
        self.assertEqual(_shown_status(meta, time.time()), "lost")


if __name__ == "__main__":
    unittest.main()
