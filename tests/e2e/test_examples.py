"""The examples the README walks through run as documented."""

import json
import shutil
import subprocess
import unittest

from support import SOURCE_DIR, Workspace


class Examples(Workspace):
    def run_example(self, name, *args):
        shutil.copy(SOURCE_DIR / "examples" / f"{name}.py", self.dir / f"{name}.py")
        return self.xrun("run", f"{name}.py", *args)

    def test_quickstart(self):
        result = self.run_example("quickstart", "--STEPS", "50")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("energy left:", result.stdout)  # the analysis ran
        run = self.only_run("results/quickstart")
        self.assertEqual(self.meta(run)["status"], "done")
        self.assertEqual(self.meta(run)["tracked"], ["position", "energy/kinetic"])
        self.assertIn("final", self.data(run))
        rows = (run / ".track" / "position.csv").read_text().splitlines()
        self.assertEqual(len(rows), 51)
        env = self.env(PYTHONPATH=self.xrun("python-path").stdout.strip())
        again = subprocess.run(["/usr/bin/python3", str(run / "analysis.py")],
                               capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("energy left:", again.stdout)

    def test_figures(self):
        result = self.run_example("figures", "--MAX_DEGREE", "3")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/figures")
        self.assertEqual((run / "rmse.png").read_bytes()[:4], b"\x89PNG")
        self.assertEqual(sorted(p.name for p in (run / ".track").glob("fit_*.png")),
                         ["fit_000.png", "fit_001.png", "fit_002.png"])
        data = self.data(run)
        self.assertEqual(len(data["coefficients"]["3"]), 4)
        self.assertIsInstance(data["best"]["rmse"], float)

    def test_train_script_as_plain_python_and_under_xrun_run(self):
        shutil.copy(SOURCE_DIR / "examples" / "train_script.py", self.dir / "train_script.py")
        env = self.env(PYTHONPATH=self.xrun("python-path").stdout.strip())
        plain = subprocess.run(["/usr/bin/python3", "train_script.py"], cwd=self.dir, env=env,
                               capture_output=True, text=True, timeout=120)
        self.assertEqual(plain.returncode, 0, plain.stderr)
        under = self.xrun("run", "train_script.py")
        self.assertEqual(under.returncode, 0, under.stderr)
        runs = self.runs("results/regression/sgd")
        self.assertEqual(len(runs), 2)
        for run in runs:
            self.assertEqual(self.meta(run)["status"], "done")
            summary = json.loads((run / "experiment_summary.json").read_text())
            self.assertEqual(summary["primary_metric"]["name"], "test/mse")
            self.assertLess(summary["primary_metric"]["best"], 0.02)
            self.assertLessEqual(summary["primary_metric"]["best"], summary["summary"]["test_mse"])
            lines = (run / ".track" / "test" / "mse.csv").read_text().splitlines()
            self.assertEqual(lines[0], "step,value,time,stage")
            self.assertEqual(len(lines), 41)
            self.assertTrue(lines[-1].endswith(",train"))
            self.assertIn("INFO trained 40 epochs", self.log(run))
            self.assertTrue((run / "images" / "index.jsonl").is_file())
            shown = self.xrun("archive", "show", str(run)).stdout
            self.assertRegex(shown, r"gradient +1 image +last: no step +images/gradient/")
        versions = sorted(p.name for run in runs for p in (run / "artifacts" / "weights").iterdir())
        self.assertEqual(versions, ["v1", "v2"])

    def test_composition_examples(self):
        for name in ["regression.py", "regression_l2.py", "summary_mixin.py",
                     "configs/l2_strong.yml", "configs/l2_strong_quick.yml"]:
            (self.dir / name).parent.mkdir(exist_ok=True)
            shutil.copy(SOURCE_DIR / "examples" / name, self.dir / name)
        child = self.xrun("run", "regression_l2.py")
        self.assertEqual(child.returncode, 0, child.stderr)
        meta = self.meta(self.only_run("results/regression_l2"))
        self.assertEqual(meta["parameters"]["LR"]["value"], 0.25)  # INHERIT: half the base's
        self.assertIn("L2 0.1:", child.stdout)  # the replaced report hook

        quick = self.xrun("run", "configs/l2_strong_quick.yml")
        self.assertEqual(quick.returncode, 0, quick.stderr)
        run = self.only_run("results/l2_strong_quick")  # the experiment's base path
        meta = self.meta(run)
        self.assertEqual(meta["parameters"]["EPOCHS"]["value"], 20)
        self.assertEqual(meta["parameters"]["PENALTY"]["value"], 1.0)
        self.assertIn("EPOCHS = 20", (run / "summary.txt").read_text())

        strong = self.xrun("run", "configs/l2_strong.yml", env=self.env(EPOCHS="30"))
        self.assertEqual(strong.returncode, 0, strong.stderr)
        run = self.only_run("results/l2_strong")
        self.assertEqual(self.meta(run)["parameters"]["EPOCHS"]["value"], 30)

    def test_failing(self):
        result = self.run_example("failing")
        self.assertEqual(result.returncode, 1)
        run = self.only_run("results/failing")
        meta = self.meta(run)
        self.assertEqual((meta["status"], meta["error_type"]), ("failed", "RuntimeError"))
        self.assertEqual(meta["error_message"], "diverged at step 5")
        self.assertEqual(self.data(run), {"last_step": 5})
        self.assertIn("RuntimeError: diverged at step 5", self.log(run))
        self.assertEqual(self.run_example("failing", "--FAIL_AT", "-1").returncode, 0)


if __name__ == "__main__":
    unittest.main()
