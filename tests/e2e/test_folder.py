"""What goes into the run folder besides the status: data, series, figures, git, analysis."""

import json
import subprocess
import unittest

from support import DECORATOR, Workspace, experiment_source, interrupt


class Data(Workspace):
    def test_the_run_hash_names_the_computation(self):
        self.write("base.py", experiment_source("LR: float = 0.1\nN: int = 2", "e['x'] = N"))
        self.write("child.py", "from xrun import Experiment, folder_path\nN = 3\n"
                   "experiment = Experiment.extend('base.py', folder_path(__file__), "
                   "'results/child', globals())\nexperiment.run_if_main()\n")
        hashes = []
        for args in (["--LR", "0.1"], ["--LR", "0.2"], ["--LR", "0.1", "--__PREFIX__", "p"]):
            self.assertEqual(self.xrun("run", "child.py", *args).returncode, 0)
            newest = max(self.runs("results/child"), key=lambda run: self.meta(run)["start_time"])
            meta = self.meta(newest)
            hashes.append(meta["run_hash"])
        self.assertEqual(len(hashes[0]), 64)
        self.assertNotEqual(hashes[0], hashes[1])
        self.assertEqual(hashes[0], hashes[2])  # where it goes is not what it computes
        inputs = meta["run_hash_inputs"]
        self.assertEqual(inputs["parameters"], ["LR", "N"])
        self.assertEqual([f["name"] for f in inputs["files"]], ["experiment_code.py", "base.py"])
        # Editing the base is a different computation.
        self.write("base.py", experiment_source("LR: float = 0.1\nN: int = 2", "e['x'] = N + 0"))
        self.assertEqual(self.xrun("run", "child.py", "--LR", "0.1").returncode, 0)
        newest = max(self.runs("results/child"), key=lambda run: self.meta(run)["start_time"])
        self.assertNotEqual(self.meta(newest)["run_hash"], hashes[0])

    def test_numpy_values_become_json_numbers_and_lists(self):
        self.write("exp.py", experiment_source("import numpy as np\n", """
            e["int64"] = np.int64(7)
            e["float32"] = np.float32(0.5)
            e["array"] = np.arange(3)
            e["matrix"] = np.ones((2, 2))
            e["bool"] = np.bool_(True)
            e["nan"] = float("nan")
            e["nested/deeper/value"] = 1
            e["_scratch"] = "not saved"
            e.track("loss", np.float64(0.25))
            e.track("loss", np.int32(1))
            e["read_back"] = e["nested/deeper/value"] + 1
            """))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/exp")
        self.assertEqual(self.data(run), {
            "int64": 7, "float32": 0.5, "array": [0, 1, 2], "matrix": [[1.0, 1.0], [1.0, 1.0]],
            "bool": True, "nan": None, "nested": {"deeper": {"value": 1}}, "read_back": 2})
        lines = (run / ".track" / "loss.csv").read_text().splitlines()[1:]
        self.assertEqual([(int(line.split(",")[0]), float(line.split(",")[1])) for line in lines],
                         [(0, 0.25), (1, 1.0)])

    def test_the_data_file_is_indented_in_background_and_final_saves(self):
        self.write("exp.py", experiment_source("import time\n", """
            e["metrics/acc"] = 0.5
            e["sizes"] = [1, 2]
            time.sleep(60)
            """))
        expected = {"metrics": {"acc": 0.5}, "sizes": [1, 2]}
        readable = json.dumps(expected, indent=2, sort_keys=True) + "\n"
        process = self.start("run", "exp.py")
        data = lambda: self.runs("results/exp")[0] / "experiment_data.json"
        self.wait_for(lambda: self.runs("results/exp") and data().exists(),
                      what="the background save")
        self.assertEqual(data().read_text(), readable)
        data().unlink()
        interrupt(process)
        process.communicate(timeout=30)
        self.assertEqual(data().read_text(), readable)

    def test_a_value_stored_once_is_on_disk_within_a_second_and_survives_sigkill(self):
        self.write("exp.py", experiment_source("import time\n", """
            e["result"] = 42
            e.track("train/loss", 0.5)
            time.sleep(60)
            """))
        process = self.start("run", "exp.py")
        self.wait_for(lambda: self.runs("results/exp") and
                      (self.runs("results/exp")[0] / "experiment_data.json").exists(),
                      timeout=5, what="the data file")
        child = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True,
                               text=True).stdout.split()
        subprocess.run(["kill", "-KILL", *child], check=True)
        process.communicate(timeout=30)
        run = self.only_run("results/exp")
        self.assertEqual(self.meta(run)["status"], "killed")
        self.assertEqual(self.data(run), {"result": 42})
        self.assertEqual(self.meta(run)["tracked"], ["train/loss"])  # found on disk

    def test_data_is_on_disk_while_the_run_goes_on(self):
        self.write("exp.py", experiment_source("import time\n", """
            e["step"] = 1
            time.sleep(1.2)
            e["step"] = 2
            print("saved", flush=True)
            time.sleep(60)
            """))
        process = self.start("run", "exp.py")
        self.wait_for(lambda: self.runs("results/exp") and
                      (self.runs("results/exp")[0] / "experiment_data.json").exists() and
                      self.data(self.runs("results/exp")[0]).get("step") == 2,
                      what="data saved during the run")
        interrupt(process)
        process.communicate(timeout=30)

    def test_nan_and_infinity_are_tracked(self):
        self.write("exp.py", experiment_source("import numpy as np\n", """
            e.track("loss", float("nan"))
            e.track("loss", np.float32("nan"))
            e.track("loss", float("inf"))
            e.track("loss", 1)
            """))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = (self.only_run("results/exp") / ".track/loss.csv").read_text().splitlines()
        self.assertEqual([line.split(",")[1] for line in lines[1:]], ["nan", "nan", "inf", "1"])

    def test_tracking_a_string_is_an_error_in_the_experiment(self):
        self.write("exp.py", experiment_source("", 'e.track("name", "text")'))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(self.meta(self.only_run("results/exp"))["error_type"], "TypeError")


class Figures(Workspace):
    def test_figures_are_committed_and_tracked_as_images(self):
        self.write("exp.py", experiment_source("import matplotlib\nmatplotlib.use('Agg')\n"
                                               "import matplotlib.pyplot as plt\n", """
            fig, ax = plt.subplots()
            ax.plot([1, 2, 3])
            e.commit_fig("plot.png", fig)
            e.track("frames", fig)
            e.track("frames", fig)
            """))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/exp")
        self.assertEqual((run / "plot.png").read_bytes()[:4], b"\x89PNG")
        self.assertTrue((run / ".track" / "frames_000.png").exists())
        self.assertTrue((run / ".track" / "frames_001.png").exists())
        self.assertEqual(self.meta(run)["tracked"], ["frames"])


class Git(Workspace):
    def git(self, *args):
        subprocess.run(["git", "-C", str(self.dir), *args], check=True, capture_output=True)

    def test_commit_branch_dirty_flag_and_diff_are_recorded(self):
        self.write("exp.py", experiment_source("LR = 1\n", "pass"))
        self.write(".gitignore", "results/\n.cache/\n")
        self.git("init", "-q", "-b", "trunk")
        self.git("-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
        self.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        clean = self.meta(self.only_run("results/exp"))["git"]
        self.assertEqual(clean["branch"], "trunk")
        self.assertEqual(len(clean["commit"]), 40)
        self.assertFalse(clean["dirty"])

        self.write("exp.py", experiment_source("LR = 2\n", "pass"))
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        run = self.runs("results/exp")[-1]
        dirty = self.meta(run)["git"]
        self.assertTrue(dirty["dirty"])
        self.assertEqual(dirty["diff_file"], "git_diff.patch")
        diff = (run / "git_diff.patch").read_text()
        self.assertIn("-LR = 1", diff)
        self.assertIn("+LR = 2", diff)

    def test_only_the_changes_of_the_runs_own_files_are_recorded_unless_asked(self):
        self.write("base.py", "from xrun import Experiment, file_namespace, folder_path\n"
                   "SCALE = 1\n" + DECORATOR + "\ndef experiment(e):\n    pass\n")
        self.write("exp.py", "from xrun import Experiment, folder_path\nLR = 1\n"
                   "experiment = Experiment.extend('base.py', base_path=folder_path(__file__), "
                   "namespace='results/exp', glob=globals())\nexperiment.run_if_main()\n")
        self.write("secrets/db.txt", "password=old\n")
        self.write(".gitignore", "results/\n.cache/\n")
        self.git("init", "-q", "-b", "trunk")
        self.git("-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
        self.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
        self.write("secrets/db.txt", "password=hunter2\n")
        self.write("exp.py", (self.dir / "exp.py").read_text().replace("LR = 1", "LR = 2"))
        self.write("base.py", (self.dir / "base.py").read_text().replace("SCALE = 1", "SCALE = 3"))
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        run = self.only_run("results/exp")
        git = self.meta(run)["git"]
        self.assertTrue(git["dirty"])  # the work tree, as git status says
        diff = (run / git["diff_file"]).read_text()
        self.assertIn("+LR = 2", diff)
        self.assertIn("+SCALE = 3", diff)
        self.assertNotIn("hunter2", diff)
        self.assertEqual((run / "git_diff.patch").stat().st_mode,
                         (run / "experiment_meta.json").stat().st_mode)
        # The whole work tree only when asked; nothing when asked so.
        self.assertEqual(self.xrun("run", "exp.py", env=self.env(XRUN_GIT_DIFF="all")).returncode,
                         0)
        self.assertIn("+password=hunter2", (self.runs("results/exp")[-1] /
                                            "git_diff.patch").read_text())
        self.assertEqual(self.xrun("run", "exp.py", env=self.env(XRUN_GIT_DIFF="none"))
                         .returncode, 0)
        last = self.runs("results/exp")[-1]
        self.assertFalse((last / "git_diff.patch").exists())
        self.assertTrue(self.meta(last)["git"]["dirty"])
        # Only the secret file changed: no patch at all.
        self.git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "second")
        self.write("secrets/db.txt", "password=again\n")
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        self.assertFalse((self.runs("results/exp")[-1] / "git_diff.patch").exists())
        self.assertUsageError(self.xrun("run", "exp.py", env=self.env(XRUN_GIT_DIFF="some")),
                              "XRUN_GIT_DIFF=some: expected code, all or none")
        self.assertEqual(len(self.runs("results/exp")), 4)

    def test_outside_a_work_tree_git_is_null(self):
        self.write("exp.py", experiment_source("", "pass"))
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        self.assertIsNone(self.meta(self.only_run("results/exp"))["git"])


class Analysis(Workspace):
    def test_analysis_runs_after_the_run_and_again_from_the_archive(self):
        self.write("exp.py", experiment_source("SCALE: int = 2\n", """
            e["values"] = [1, 2, 3]
            """, extra=""))
        source = (self.dir / "exp.py").read_text().replace("experiment.run_if_main()", (
            "@experiment.analysis\n"
            "def summarize(e):\n"
            "    total = sum(e['values']) * e.SCALE\n"
            "    print(f'analysis total={total}')\n"
            "    e.commit_raw('total.txt', str(total))\n\n"
            "experiment.run_if_main()"))
        self.write("exp.py", source)
        result = self.xrun("run", "exp.py", "--SCALE", "10")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("analysis total=60", result.stdout)
        run = self.only_run("results/exp")
        (run / "total.txt").unlink()

        env = self.env(PYTHONPATH=self.xrun("python-path").stdout.strip())
        again = subprocess.run(["/usr/bin/python3", str(run / "analysis.py")], cwd="/",
                               capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("analysis total=60", again.stdout)
        self.assertEqual((run / "total.txt").read_text(), "60")
        # Re-loading ran nothing and created no second run.
        self.assertEqual(len(self.runs("results/exp")), 1)

    def test_what_an_analysis_stores_is_saved_and_its_error_fails_the_run(self):
        self.write("ok.py", experiment_source("", "e['a'] = 1").replace(
            "experiment.run_if_main()",
            "@experiment.analysis\ndef a(e):\n    e['b'] = 2\n\nexperiment.run_if_main()"))
        self.assertEqual(self.xrun("run", "ok.py").returncode, 0)
        self.assertEqual(self.data(self.only_run("results/ok")), {"a": 1, "b": 2})
        self.write("bad.py", experiment_source("", "e['a'] = 1").replace(
            "experiment.run_if_main()",
            "@experiment.analysis\ndef a(e):\n    raise LookupError('no plot')\n\n"
            "experiment.run_if_main()"))
        self.assertEqual(self.xrun("run", "bad.py").returncode, 1)
        meta = self.meta(self.only_run("results/bad"))
        self.assertEqual((meta["status"], meta["error_type"]), ("failed", "LookupError"))

    def test_analyses_do_not_run_after_a_failure(self):
        self.write("exp.py", experiment_source("", "raise RuntimeError('x')").replace(
            "experiment.run_if_main()",
            "@experiment.analysis\ndef a(e):\n    print('ANALYSIS')\n\nexperiment.run_if_main()"))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 1)
        self.assertNotIn("ANALYSIS", result.stdout)


class Hooks(Workspace):
    def test_before_and_after_run_hooks_and_apply_hook(self):
        self.write("exp.py", experiment_source("", """
            e["custom"] = e.apply_hook("compute", default=-1, x=2)
            e["missing"] = e.apply_hook("nothing", default="fallback")
            """).replace("experiment.run_if_main()", (
            "@experiment.hook('before_run')\n"
            "def before(e):\n    print('BEFORE')\n\n"
            "@experiment.hook('after_run')\n"
            "def after(e):\n    print('AFTER')\n\n"
            "# :hook compute:\n#     Multiplies by ten.\n"
            "@experiment.hook('compute')\n"
            "def compute(e, x):\n    return x * 10\n\n"
            "experiment.run_if_main()")))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertLess(result.stdout.index("BEFORE"), result.stdout.index("AFTER"))
        run = self.only_run("results/exp")
        self.assertEqual(self.data(run), {"custom": 20, "missing": "fallback"})
        hooks = self.meta(run)["hooks"]
        self.assertEqual(sorted(hooks), ["after_run", "before_run", "compute"])
        self.assertEqual(hooks["compute"]["description"], "Multiplies by ten.")
        self.assertEqual(hooks["compute"]["count"], 1)


if __name__ == "__main__":
    unittest.main()
