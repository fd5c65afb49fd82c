"""`xrun reproduce RUN`: a recorded run's archived code, again, with its parameters."""

import json
import unittest

from support import Workspace, experiment_source

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
        original = self.only_run("configs/results/strong")
        for name in ("base.py", "child.py", "mixin.py"):
            (self.dir / name).unlink()  # gone: only the archived copies are left
        self.run_ok("reproduce", "--path", "configs/results", original.name)
        again = self.runs("configs/results/strong")[-1]
        self.assertNotEqual(again, original)
        self.assertEqual(self.data(again), {"scaled": 1.0, "tag": "first"})
        self.assertEqual(self.data(again), self.data(original))
        self.assertEqual(self.meta(again)["name"], "strong")
        # A reproduction can be reproduced in turn, mixins and all.
        self.run_ok("reproduce", "--path", "configs/results", again.name)
        third = self.runs("configs/results/strong")[-1]
        self.assertEqual(self.data(third), self.data(original))
        self.assertEqual(self.meta(third)["reproduces"]["id"], again.name)

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

    def test_dry_run_and_help_create_nothing(self):
        self.write("exp.py", experiment_source("LR: float = 0.1\n", 'e["x"] = e.LR'))
        self.run_ok("run", "exp.py", "--LR", "0.7")
        original = self.only_run("results/exp")
        result = self.run_ok("reproduce", original.name, "--dry-run")
        self.assertIn("LR (float) = 0.7", result.stdout)
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
