"""The readers of recorded runs (`xrun._results`) on their own: series lines, paths kept
inside a run folder, and the status a run whose meta says `running` is shown with."""

import os
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "python" / "package"
sys.dont_write_bytecode = True  # the source tree gets no __pycache__
sys.path.insert(0, str(PACKAGE))

from xrun import _results  # noqa: E402
from xrun._results import _open_inside, _parse_series  # noqa: E402


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

    def test_damaged_lines_are_left_out_with_a_warning_and_fractional_steps_kept(self):
        with self.assertWarnsRegex(UserWarning, "x.csv: 1 line.* left out .*line 3"):
            columns = _parse_series(b"step,value,time\n0,1,2\none,2,3\n2.5,4,5\n3.0,6,7\n",
                                    "x.csv")
        self.assertEqual(columns["step"], [0, 2.5, 3])
        self.assertEqual(columns["value"], [1.0, 4.0, 6.0])


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


class _Native:
    """A stand-in for ``_xrun`` that answers run_is_lost as told and keeps what it was asked."""

    def __init__(self, lost: bool):
        self.lost = lost
        self.asked = []

    def run_is_lost(self, meta, now):
        self.asked.append((meta, now))
        return self.lost


class Status(unittest.TestCase):
    """The rule itself is C++ (core::is_lost: tests/unit/liveness_test.cpp); the package asks
    it through ``_xrun``, which these tests stand in for."""

    def shown(self, meta: dict, native) -> str:
        with mock.patch.object(_results, "_native", lambda: native):
            return _results._shown_status(meta, 1000.0)

    def test_an_ended_run_is_its_recorded_status_without_asking(self):
        native = _Native(lost=True)
        self.assertEqual(self.shown({"status": "failed"}, native), "failed")
        self.assertEqual(self.shown({}, native), "corrupt")
        self.assertEqual(self.shown({"status": 3}, native), "corrupt")
        self.assertEqual(native.asked, [])

    def test_a_running_run_is_what_the_native_rule_says(self):
        meta = {"status": "running", "host": "h", "pid": 7, "heartbeat": 900.0}
        lost, alive = _Native(lost=True), _Native(lost=False)
        self.assertEqual(self.shown(meta, lost), "lost")
        self.assertEqual(self.shown(meta, alive), "running")
        self.assertEqual(lost.asked, [(meta, 1000.0)])

    def test_without_the_native_module_a_running_run_shows_as_recorded(self):
        self.assertEqual(self.shown({"status": "running", "heartbeat": 0}, None), "running")


if __name__ == "__main__":
    unittest.main()
