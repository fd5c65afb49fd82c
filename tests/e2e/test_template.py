"""`xrun template ...`: every generated file runs as generated."""

import subprocess
import unittest

from support import Workspace


class Template(Workspace):
    def make(self, *args):
        result = self.xrun("template", *args)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("wrote ", result.stdout)
        return result

    def run_done(self, *args):
        result = self.xrun("run", *args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def test_experiment_runs_as_generated(self):
        self.make("experiment", "train")
        self.run_done("train.py")
        run = self.only_run("results/train")
        self.assertEqual(self.meta(run)["status"], "done")
        self.assertAlmostEqual(self.data(run)["fit"]["slope"], 3.0, delta=0.2)
        self.assertEqual(self.meta(run)["tracked"], ["loss"])
        help_text = self.xrun("run", "train.py", "--help").stdout
        self.assertIn("Learning rate of the gradient descent", help_text)

    def test_extend_lists_the_base_parameters_and_runs(self):
        self.make("experiment", "train")
        self.make("extend", "train_long", "--from", "train.py")
        source = (self.dir / "train_long.py").read_text()
        for name in ("SEED", "EPOCHS", "LR", "NOISE"):
            self.assertIn(f"{name}: ", source)
        self.assertIn("# :param LR:\n#     Learning rate of the gradient descent.", source)
        self.run_done("train_long.py", "--EPOCHS", "50")
        run = self.only_run("results/train_long")
        parameters = self.meta(run)["parameters"]
        self.assertEqual(parameters["EPOCHS"]["value"], 50)
        self.assertEqual(parameters["LR"]["value"], 0.2)  # inherited from the base
        # From another folder: the base is found relative to the new file.
        self.make("extend", "child", "--from", "train.py", "--dir", "sub")
        self.run_done("sub/child.py")

    def test_config_has_every_parameter_and_runs(self):
        self.write("exp.py", '''
from xrun import Experiment, file_namespace, folder_path
# :param NAME:
#     A label.
NAME: str = "it's 'quoted'"
MODEL: str = "mlp"
SIZES: list[int] = [8, 8]
RATE = 1e-3
ON: bool = True

@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__), glob=globals())
def experiment(e):
    e["seen"] = [e.NAME, e.MODEL, e.SIZES, e.RATE, e.ON]

experiment.run_if_main()
''')
        self.make("config", "variant", "--from", "exp.py", "--dir", "configs")
        text = (self.dir / "configs" / "variant.yml").read_text()
        self.assertIn('extend: "../exp.py"', text)
        self.assertIn('  MODEL: "mlp"', text)
        self.assertIn("  RATE: 1e-3", text)
        self.assertIn("  ON: true", text)
        self.assertIn("# str: A label.", text)
        self.assertIn("# SIZES: [8, 8]", text)  # not a plain value: left to the module
        self.assertIn("# base_path: .                      # default: the experiment's", text)
        self.run_done("configs/variant.yml")
        # Beside the experiment's own runs, where `archive list` from here finds it.
        run = self.only_run("results/variant")
        self.assertEqual(self.data(run)["seen"], ["it's 'quoted'", "mlp", [8, 8], 0.001, True])
        self.assertFalse((self.dir / "configs" / "results").exists())
        self.assertIn(run.name, self.xrun("archive", "list").stdout)

    def test_bases_needing_imports_dollars_and_odd_paths(self):
        self.write("odd dir/base #1.py", '''
from pathlib import Path
from typing import Literal, Optional
from xrun import Experiment, file_namespace, folder_path
KIND: Literal["mlp", "cnn"] = "mlp"
DATA: Optional[Path] = None
PATTERN: str = "${run}_out $$5"
SIZE: int = 4

@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__), glob=globals())
def experiment(e):
    e["seen"] = [e.KIND, e.PATTERN, e.SIZE]

experiment.run_if_main()
''')
        self.make("extend", "child", "--from", "odd dir/base #1.py")
        source = (self.dir / "child.py").read_text()
        self.assertIn("KIND = INHERIT", source)  # its annotation needs the base's imports
        self.assertIn("SIZE: int = INHERIT", source)
        self.run_done("child.py")
        self.assertEqual(self.data(self.only_run("results/child"))["seen"],
                         ["mlp", "${run}_out $$5", 4])
        self.make("config", "variant", "--from", "odd dir/base #1.py")
        self.run_done("variant.yml")
        self.assertEqual(self.data(self.only_run("odd dir/results/variant"))["seen"],
                         ["mlp", "${run}_out $$5", 4])

    def test_mixin_is_included_and_runs(self):
        self.make("experiment", "train")
        self.make("mixin", "dump_parameters")
        self.run_done("train.py", "--__INCLUDE__", "dump_parameters.py")
        run = self.only_run("results/train")
        self.assertIn("LR", (run / "dump_parameters.json").read_text())

    def test_analysis_of_a_run(self):
        self.make("experiment", "train")
        self.run_done("train.py", "--EPOCHS", "30")
        run = self.only_run("results/train")
        self.write(str(run / ".track" / "train" / "acc.csv"),
                   "step,value,time\n0,0.5,1.0\n1,0.75,2.0\n")  # a nested series
        self.make("analysis", run.name[-4:])
        script = self.dir / f"analysis_{run.name[-4:]}.py"
        env = self.env(PYTHONPATH=self.xrun("python-path").stdout.strip())
        result = subprocess.run(["/usr/bin/python3", str(script)], cwd=self.dir, env=env,
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("loss: 30 values", result.stdout)
        self.assertIn("train/acc: 2 values, last 0.75", result.stdout)
        self.assertTrue((self.dir / f"analysis_{run.name[-4:]}_train_acc.png").is_file())
        self.assertIn("LR = 0.2", " ".join(result.stdout.split()))
        png = self.dir / f"analysis_{run.name[-4:]}_loss.png"
        self.assertEqual(png.read_bytes()[:4], b"\x89PNG")

    def test_refusals(self):
        self.make("experiment", "train")
        before = (self.dir / "train.py").read_text()
        self.write("train.py", "# edited by hand\n" + before)
        self.assertUsageError(self.xrun("template", "experiment", "train"),
                              "train.py exists already; nothing was written")
        self.assertTrue((self.dir / "train.py").read_text().startswith("# edited by hand"))
        self.make("experiment", "train", "--force")
        self.assertEqual((self.dir / "train.py").read_text(), before)
        for name in ("2fast", "my-exp", "class", "a.b", "random", "xrun"):
            with self.subTest(name=name):
                self.assertUsageError(self.xrun("template", "experiment", name), name)
        self.assertUsageError(self.xrun("template", "extend", "child"), "--from")
        self.assertUsageError(self.xrun("template", "extend", "train", "--from", "train.py",
                                        "--force"), "would replace the file it starts from")
        self.assertTrue((self.dir / "train.py").exists())
        self.make("mixin", "_private")
        self.assertIn("PRIVATE_FILE: str", (self.dir / "_private.py").read_text())
        self.assertUsageError(self.xrun("template", "config", "c", "--from", "missing.py"),
                              "missing.py is not a Python module")
        self.assertUsageError(self.xrun("template", "analysis", "some-run"),
                              "results is not an archive folder")
        self.run_done("train.py", "--EPOCHS", "1")
        self.assertUsageError(self.xrun("template", "analysis", "no-such-run"),
                              "no run 'no-such-run'")
        self.assertUsageError(self.xrun("template", "notebook", "x"), "template")


if __name__ == "__main__":
    unittest.main()
