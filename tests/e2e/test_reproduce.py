"""`xrun reproduce RUN`: a recorded run's archived code, again, with its parameters."""

import json
import shutil
import subprocess
import unittest
from pathlib import Path

from support import XRUN, Workspace, dry_run_table, experiment_source

BASE = '''
from xrun import Experiment, file_namespace, folder_path
SCALE: int = 2
@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__), glob=globals())
def experiment(e):
    e["scaled"] = e.SCALE * e.LR
experiment.run_if_main()
'''

CHILD = '''
from xrun import Experiment, file_namespace, folder_path
LR: float = 0.1
experiment = Experiment.extend("base.py", base_path=folder_path(__file__),
                               namespace=file_namespace(__file__), glob=globals())
experiment.run_if_main()
'''

MIXIN = '''
from xrun import ExperimentMixin
TAG: str = "mixed"
mixin = ExperimentMixin(glob=globals())
@mixin.hook("after_run")
def after_run(e):
    e["tag"] = e.TAG
'''


class Reproduce(Workspace):
    def run_ok(self, *args):
        result = self.xrun(*args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def test_it_runs_in_the_folder_the_run_ran_in(self):
        # A relative path among the parameters means what it meant when the run ran.
        project = self.dir / "project"
        (project / "data").mkdir(parents=True)
        (project / "data" / "train.txt").write_text("42\n")
        self.write("project/exp.py", experiment_source(
            'from pathlib import Path\nDATA: Path = Path("data/train.txt")\n',
            'import os\ne["value"] = int(e.DATA.read_text())\ne["cwd"] = os.getcwd()'))
        result = subprocess.run([XRUN, "run", "exp.py"], cwd=project, env=self.env(),
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        original = self.only_run("project/results/exp")
        # From elsewhere, by its path: the new run runs in project/ again, and says so.
        result = self.run_ok("reproduce", original)
        self.assertIn(f"in {project}, the folder it ran in", result.stderr)
        again = self.runs("project/results/exp")[1]
        self.assertEqual(self.data(again)["value"], 42)
        self.assertEqual(self.data(again)["cwd"], str(project))
        self.assertEqual(self.meta(again)["working_directory"], str(project))
        # A folder that is gone: the current one, with a warning naming it.
        moved = self.dir / "moved"
        project.rename(moved)
        (self.dir / "data").mkdir()
        (self.dir / "data" / "train.txt").write_text("7\n")
        result = self.run_ok("reproduce", moved / "results" / "exp" / original.name)
        self.assertIn(f"ran in {project}, which is gone", result.stderr)
        third = self.runs("moved/results/exp")[2]
        self.assertEqual(self.data(third)["value"], 7)
        self.assertEqual(self.data(third)["cwd"], str(self.dir))

    def test_archived_code_and_parameters_make_a_new_run(self):
        self.write("exp.py", experiment_source(
            "LR: float = 0.1\nSEED: int = 1\n",
            'import random\nrandom.seed(e.SEED)\ne["draw"] = random.random() * e.LR'))
        self.run_ok("run", "exp.py", "--LR", "0.3", "--SEED", "5")
        original = self.only_run("results/exp")
        # The module changes afterwards; the reproduction must not notice.
        self.write("exp.py", experiment_source("LR: float = 9.0\nSEED: int = 1\n",
                                               'e["draw"] = -1'))
        result = self.run_ok("reproduce", original.name)
        self.assertIn(f"reproducing results/exp/{original.name}", result.stderr)
        runs = self.runs("results/exp")
        self.assertEqual(len(runs), 2)
        again = runs[1]
        meta = self.meta(again)
        self.assertEqual(meta["reproduces"]["id"], original.name)
        self.assertEqual(meta["reproduces"]["run"], str(original))
        self.assertEqual(meta["parameters"]["LR"]["value"], 0.3)
        self.assertEqual(meta["parameters"]["SEED"]["value"], 5)
        self.assertEqual(self.data(again)["draw"], self.data(original)["draw"])
        self.assertEqual((again / "experiment_code.py").read_text(),
                         (original / "experiment_code.py").read_text())
        # A parameter given after the run replaces its recorded value.
        self.run_ok("reproduce", str(original), "--SEED", "6")
        newest = self.runs("results/exp")[-1]
        self.assertEqual(self.meta(newest)["parameters"]["SEED"]["source"], "cli")
        self.assertEqual(self.meta(newest)["parameters"]["LR"]["value"], 0.3)
        self.assertNotEqual(self.data(newest)["draw"], self.data(original)["draw"])

    def test_bases_and_mixins_come_from_the_run_folder(self):
        self.write("base.py", BASE)
        self.write("child.py", CHILD)
        self.write("mixin.py", MIXIN)
        self.write("configs/strong.yml", "extend: ../child.py\nparameters:\n  LR: 0.5\n"
                   "include: ../mixin.py\n")
        self.run_ok("run", "configs/strong.yml", "--TAG", "first")
        original = self.only_run("results/strong")  # the experiment's base path
        for name in ("base.py", "child.py", "mixin.py"):
            (self.dir / name).unlink()  # gone: only the archived copies are left
        self.run_ok("reproduce", "--path", "results", original.name)
        again = self.runs("results/strong")[-1]
        self.assertNotEqual(again, original)
        self.assertEqual(self.data(again), {"scaled": 1.0, "tag": "first"})
        self.assertEqual(self.data(again), self.data(original))
        self.assertEqual(self.meta(again)["name"], "strong")
        # A reproduction can be reproduced in turn, mixins and all.
        self.run_ok("reproduce", "--path", "results", again.name)
        third = self.runs("results/strong")[-1]
        self.assertEqual(self.data(third), self.data(original))
        self.assertEqual(self.meta(third)["reproduces"]["id"], again.name)

    def test_reading_a_run_folder_never_writes_into_it(self):
        env = self.env()
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # so that Python would write bytecode
        self.write("base.py", BASE)
        self.write("child.py", CHILD)
        self.write("mixin.py", MIXIN)
        self.write("strong.yml", "extend: child.py\nparameters:\n  LR: 0.5\ninclude: mixin.py\n")
        # The modules xrun loads itself get no bytecode, as the script python3 runs: not when
        # a config run is refused, nor when it runs.
        self.assertUsageError(self.xrun("run", "strong.yml", "--LR", "x", env=env), "LR")
        self.assertEqual(self.xrun("run", "strong.yml", env=env).returncode, 0)
        self.assertFalse((self.dir / "__pycache__").exists())
        original = self.only_run("results/strong")
        files = sorted(original.rglob("*"))
        self.assertEqual(self.xrun("reproduce", str(original), env=env).returncode, 0)
        self.assertUsageError(self.xrun("reproduce", str(original), "--LR", "x", env=env), "LR")
        self.assertEqual(self.xrun("reproduce", str(original), "--dry-run", env=env).returncode, 0)
        env["PYTHONPATH"] = self.xrun("python-path").stdout.strip()
        analysis = subprocess.run(["/usr/bin/python3", str(original / "analysis.py")], env=env,
                                  cwd=self.dir, capture_output=True, text=True, timeout=60)
        self.assertEqual(analysis.returncode, 0, analysis.stderr)
        self.assertEqual(sorted(original.rglob("*")), files)
        for run in self.runs("results/strong"):
            self.assertEqual(list(run.rglob("__pycache__")), [], run)

    def test_values_changed_after_the_run_are_not_what_ran(self):
        self.write("exp.py", experiment_source("LR: float = 0.1\n", 'e["x"] = e.LR'))
        self.run_ok("run", "exp.py", "--LR", "0.3")
        original = self.only_run("results/exp")
        self.run_ok("archive", "modify", "--all", "--set", "LR=0.9")
        self.run_ok("archive", "modify", "--all", "--set", "LR=0.7")
        result = self.run_ok("reproduce", original.name)
        self.assertIn("LR was changed after the run", result.stderr)
        again = self.runs("results/exp")[-1]
        self.assertEqual(self.data(again), {"x": 0.3})
        self.run_ok("reproduce", original.name, "--LR", "0.7")
        self.assertEqual(self.data(self.runs("results/exp")[-1]), {"x": 0.7})

    def test_the_new_run_lands_beside_a_moved_archive(self):
        self.write("project/exp.py", experiment_source("LR: float = 0.1\n", 'e["x"] = e.LR'))
        self.run_ok("run", "project/exp.py", "--LR", "0.3")
        original = self.only_run("project/results/exp")
        # Extracted elsewhere while the original archive is still there.
        shutil.copytree(self.dir / "project" / "results", self.dir / "copy" / "results")
        copied = self.dir / "copy" / "results" / "exp" / original.name
        result = self.run_ok("reproduce", copied)
        self.assertNotIn("warning", result.stderr)
        self.assertEqual(self.runs("project/results/exp"), [original])
        again = self.runs("copy/results/exp")[-1]
        self.assertNotEqual(again.name, original.name)
        self.assertEqual(self.data(again), {"x": 0.3})
        meta = self.meta(again)
        self.assertEqual(Path(meta["base_path"]).resolve(), (self.dir / "copy").resolve())
        self.assertEqual(meta["namespace"], "results/exp")
        self.assertEqual(meta["reproduces"]["run"], str(copied))
        # The original base path gone: found by id under --path, still beside it.
        shutil.move(self.dir / "project", self.dir / "renamed")
        result = self.run_ok("reproduce", "--path", "renamed/results", original.name)
        self.assertNotIn("not an existing folder", result.stderr)
        self.assertFalse((self.dir / "project").exists())
        runs = self.runs("renamed/results/exp")
        self.assertEqual(len(runs), 2)
        self.assertEqual(self.data(runs[-1]), {"x": 0.3})
        self.assertEqual(Path(self.meta(runs[-1])["base_path"]).resolve(),
                         (self.dir / "renamed").resolve())
        # A relative folder given with a trailing slash is the same folder.
        self.run_ok("reproduce", f"renamed/results/exp/{original.name}/")
        self.assertEqual(len(self.runs("renamed/results/exp")), 3)

    def test_a_run_folder_moved_out_of_its_archive_falls_back(self):
        self.write("project/exp.py", experiment_source("LR: float = 0.1\n", 'e["x"] = e.LR'))
        self.run_ok("run", "project/exp.py", "--LR", "0.3")
        original = self.only_run("project/results/exp")
        # Not laid out as <base>/results/exp/<id>: the recorded base path, while it exists ...
        loose = self.dir / "inbox" / original.name
        shutil.copytree(original, loose)
        result = self.run_ok("reproduce", loose)
        self.assertIn(f"xrun: warning: run {loose} is not in a folder <base>/results/exp; its "
                      "recorded base path is there, so the new run goes to "
                      f"{self.dir / 'project' / 'results' / 'exp'}", result.stderr)
        self.assertEqual(len(self.runs("project/results/exp")), 2)
        self.assertEqual(self.data(self.runs("project/results/exp")[-1]), {"x": 0.3})
        # ... else the folder that holds the run.
        shutil.rmtree(self.dir / "project")
        result = self.run_ok("reproduce", loose)
        self.assertIn("is gone, so the new run goes to "
                      f"{self.dir / 'inbox' / 'results' / 'exp'}", result.stderr)
        again = self.only_run("inbox/results/exp")
        self.assertEqual(self.data(again), {"x": 0.3})
        self.assertFalse((self.dir / "project").exists())

    def test_values_json_cannot_hold_are_given_back_exactly(self):
        self.write("exp.py", experiment_source(
            "E: float = float('nan')\nF: float = -float('inf')\nG: int = 2**70\n"
            "H: float | None = float('inf')\nN: int = -2**64 - 1\n",
            'e["values"] = [repr(e.E), repr(e.F), repr(e.G), repr(e.H), repr(e.N)]'))
        self.run_ok("run", "exp.py")
        original = self.only_run("results/exp")
        recorded = self.meta(original)["parameters"]
        self.assertEqual(recorded["E"]["exact"], "nan")
        self.assertEqual(recorded["G"]["exact"], str(2**70))
        expected = ["nan", "-inf", str(2**70), "inf", str(-2**64 - 1)]
        self.assertEqual(self.data(original)["values"], expected)
        result = self.run_ok("reproduce", original.name, "--dry-run")
        rows = dry_run_table(result.stdout)
        self.assertEqual(rows["E"][:2], ("float", "nan"))
        self.assertEqual(rows["G"][:2], ("int", str(2**70)))
        self.assertEqual(self.runs("results/exp"), [original])
        result = self.run_ok("reproduce", original.name)
        self.assertNotIn("cannot be", result.stderr)
        again = self.runs("results/exp")[-1]
        self.assertEqual(self.data(again)["values"], expected)
        self.assertEqual(self.meta(again)["parameters"]["G"]["exact"], str(2**70))
        self.assertEqual(self.meta(again)["run_hash"], self.meta(original)["run_hash"])
        # A value given on the command line replaces the exact one.
        self.run_ok("reproduce", original.name, "--E", "1.0", "--G=3")
        newest = self.runs("results/exp")[-1]
        self.assertEqual(self.data(newest)["values"], ["1.0", "-inf", "3", "inf",
                                                       str(-2**64 - 1)])
        self.assertEqual(self.meta(newest)["parameters"]["E"]["source"], "cli")
        self.assertEqual(len(self.runs("results/exp")), 3)

    def test_containers_holding_nan_and_big_ints_are_given_back_exactly(self):
        self.write("exp.py", experiment_source(
            "L: list[float] = [float('nan'), 1.0, -float('inf')]\n"
            "B: list[int] = [2**70, 1]\nD: dict[str, float] = {'a': float('inf')}\n",
            'e["values"] = [repr(e.L), repr(e.B), repr(e.D)]'))
        self.run_ok("run", "exp.py")
        original = self.only_run("results/exp")
        expected = ["[nan, 1.0, -inf]", f"[{2**70}, 1]", "{'a': inf}"]
        self.assertEqual(self.data(original)["values"], expected)
        self.run_ok("reproduce", original.name)
        again = self.runs("results/exp")[-1]
        self.assertEqual(self.data(again)["values"], expected)
        self.assertEqual(self.meta(again)["run_hash"], self.meta(original)["run_hash"])
        # The same values are taken on the command line.
        self.run_ok("run", "exp.py", "--L", "[nan, 2.0]", "--B", f"[{2**70 + 1}]")
        self.assertEqual(self.data(self.runs("results/exp")[-1])["values"][:2],
                         ["[nan, 2.0]", f"[{2**70 + 1}]"])

    def test_a_nan_changed_by_modify_is_shown_changed_and_reproduced_as_it_ran(self):
        self.write("exp.py", experiment_source("E: float = float('nan')\n",
                                               'e["E"] = repr(e.E)'))
        self.run_ok("run", "exp.py")
        original = self.only_run("results/exp")
        listed = self.xrun("archive", "list", "--columns", "E").stdout
        self.assertEqual(listed.splitlines()[1].split()[-1], "nan")
        self.assertRegex(self.xrun("archive", "show", original.name).stdout, r"E +float += nan ")
        self.run_ok("archive", "modify", "--all", "--set", "E=1.5")
        meta = self.meta(original)
        self.assertNotIn("exact", meta["parameters"]["E"])
        self.assertEqual(meta["modifications"][0]["changes"]["E"]["from_exact"], "nan")
        self.assertRegex(self.xrun("archive", "show", original.name).stdout, r"E +float += 1.5 ")
        result = self.run_ok("reproduce", original.name)
        self.assertIn("E was changed after the run (to 1.5); reproducing with nan", result.stderr)
        self.assertEqual(self.data(self.runs("results/exp")[-1]), {"E": "nan"})

    def test_a_recorded_value_that_does_not_fit_names_the_meta(self):
        self.write("exp.py", experiment_source("LR: float = 0.1\n", 'e["x"] = e.LR'))
        self.run_ok("run", "exp.py")
        original = self.only_run("results/exp")
        meta = self.meta(original)
        meta["parameters"]["LR"]["value"] = None  # by hand: not a float
        (original / "experiment_meta.json").write_text(json.dumps(meta))
        result = self.xrun("reproduce", original.name)
        self.assertUsageError(result, f"{original}/experiment_meta.json: parameter LR (float) "
                              "cannot be None")
        self.assertNotIn("experiment_meta.json:1:1", result.stderr)
        self.assertEqual(self.runs("results/exp"), [original])
        # A value given on the command line is taken instead.
        self.run_ok("reproduce", original.name, "--LR", "0.5")
        self.assertEqual(self.data(self.runs("results/exp")[-1]), {"x": 0.5})

    def test_dry_run_and_help_create_nothing(self):
        self.write("exp.py", experiment_source("LR: float = 0.1\n", 'e["x"] = e.LR'))
        self.run_ok("run", "exp.py", "--LR", "0.7")
        original = self.only_run("results/exp")
        result = self.run_ok("reproduce", original.name, "--dry-run")
        self.assertEqual(dry_run_table(result.stdout)["LR"][:2], ("float", "0.7"))
        result = self.run_ok("reproduce", original.name, "--help")
        self.assertIn("LR", result.stdout)
        self.assertEqual(self.runs("results/exp"), [original])

    def test_bad_input_is_refused_and_creates_nothing(self):
        self.write("exp.py", experiment_source("LR: float = 0.1\n", 'e["x"] = e.LR'))
        self.run_ok("run", "exp.py")
        original = self.only_run("results/exp")
        self.assertUsageError(self.xrun("reproduce", original.name, "--LR", "abc"), "LR")
        self.assertUsageError(self.xrun("reproduce", "no-such-run"), "no run 'no-such-run'")
        self.assertUsageError(self.xrun("reproduce"), "reproduce needs a run")
        bare = self.dir / "results" / "other" / "handmade"
        bare.mkdir(parents=True)
        (bare / "experiment_meta.json").write_text(json.dumps({"status": "done"}))
        self.assertUsageError(self.xrun("reproduce", str(bare)), "has no code snapshot")
        self.assertEqual(self.runs("results/exp"), [original])


if __name__ == "__main__":
    unittest.main()
