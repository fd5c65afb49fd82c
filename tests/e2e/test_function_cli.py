"""What the command line and the archive do for function runs (`xrun run mod.py:NAME`) before
Python is asked: bad words and flags refused with exit 2, and the lineage of function runs
(`archive show`'s inputs and consumers, `results.X`, parameters named like a root) over run
folders whose meta is written here as the supervisor writes a function run's."""

import json
import os
import subprocess
import textwrap
import unittest

from support import SOURCE_DIR, XRUN, Workspace, experiment_source

PREPARE_ID = "2026-12-01_17-02-44-120_ab12"
TRAIN_ID = "2026-12-01_17-10-05-301_cd34"
OTHER_ID = "2026-12-01_17-20-11-950_ef56"
DATASET_SHA = "c0ffee00" * 8


def function_meta(run_id, name, parameters, inputs=(), outputs=()):
    """The meta of a done function run of mod.py, with its `function` record."""
    return {
        "format": 1, "id": run_id, "name": name, "namespace": f"results/mod/{name}",
        "status": "done", "start_time": 1795440000, "end_time": 1795440030, "duration": 30.0,
        "heartbeat": 1795440030, "host": "node1", "pid": 100,
        "parameters": {key: {"name": key, "type": type(value).__name__, "value": value,
                             "source": "cli"} for key, value in parameters.items()},
        "function": {
            "name": name, "qualified_name": f"mod.{name}", "module": "/p/mod.py",
            "outputs": list(outputs), "cache_key": "ab" * 32,
            "key_parts": {"parameters": "01" * 32, "inputs": "02" * 32, "code": "03" * 32},
            "code": {"mod.py": "04" * 32},
            "inputs": list(inputs)}}


def run_input(name, run_id, output, sha256=DATASET_SHA):
    return {"name": name, "ref": f"run:{run_id}/outputs/{output}",
            "path": f"/p/results/mod/prepare/{run_id}/outputs/{output}.npy",
            "sha256": sha256, "size": 128, "run": run_id,
            "run_path": f"/p/results/mod/prepare/{run_id}", "output": output}


class CommandLine(Workspace):
    def setUp(self):
        super().setUp()
        self.write("exp.py", experiment_source("LR: float = 0.1\n", "pass"))

    def test_cache_and_rerun_are_for_function_runs(self):
        for flag in ("--cache", "--rerun"):
            for words in (["run", flag, "exp.py"], ["run", "exp.py", flag]):
                result = self.xrun(*words)
                self.assertUsageError(result, f"{flag} is for function runs (FILE.py:NAME)")
        self.assertUsageError(self.xrun("run", "exp.py", "--sweep", "LR=1,2", "--rerun"),
                              "--rerun is for function runs (FILE.py:NAME)")
        self.write("exp.yml", "extend: exp.py\n")
        self.assertUsageError(self.xrun("run", "exp.yml", "--cache"),
                              "--cache is for function runs (FILE.py:NAME)")
        self.assertNoRunFolder()

    def test_a_missing_module_is_named(self):
        result = self.xrun("run", "missing.py:train", "--lr", "0.1")
        self.assertUsageError(result, "experiment file missing.py does not exist")
        self.assertNotIn("missing.py:train", result.stderr)

    def test_a_function_name_that_is_no_identifier_is_named(self):
        result = self.xrun("run", "exp.py:1st")
        self.assertUsageError(result, "exp.py:1st: '1st' is not a function name")

    def test_a_config_extending_a_function_of_a_missing_module(self):
        self.write("train.yml", "extend: missing.py:train\n")
        result = self.xrun("run", "train.yml")
        self.assertUsageError(result, "train.yml:1:9: the extended file 'missing.py:train' "
                                      "does not exist")

    def test_the_experiment_process_is_told_the_function_and_its_flags(self):
        self.write("mod.py", textwrap.dedent("""\
            import json
            from xrun import _protocol
            given = _protocol.invocation()
            print("invocation", json.dumps([given[key] for key in
                                            ("mode", "function", "cache", "rerun")]))

            def train(lr: float = 0.1):
                return {"acc": 1 - lr}
            """))
        self.write("train.yml", "extend: mod.py:train\n")
        for words, told in [(["mod.py:train", "--cache", "--dry-run"],
                             ["dry-run", "train", True, False]),
                            (["mod.py:train", "--rerun", "--help"],
                             ["help", "train", None, True]),
                            (["mod.py:train", "--sweep", "lr=0.1,0.2", "--rerun", "--dry-run"],
                             ["plan", "train", None, True]),
                            (["mod.py", "--dry-run"], ["dry-run", "", None, False]),
                            (["train.yml", "--help"], ["help", "train", None, False])]:
            out = self.xrun("run", *words).stdout
            self.assertIn(f"invocation {json.dumps(told)}\n", out, words)

    def test_a_reproduction_runs_the_function_again(self):
        folder = self.dir / "results" / "mod" / "train" / TRAIN_ID
        folder.mkdir(parents=True)
        meta = function_meta(TRAIN_ID, "train", {"lr": 0.2})
        meta["working_directory"] = str(self.dir)
        (folder / "experiment_meta.json").write_text(json.dumps(meta))
        (folder / "experiment_code.py").write_text(textwrap.dedent("""\
            import json
            from xrun import _protocol
            given = _protocol.invocation()
            print("invocation", json.dumps([given[key] for key in
                                            ("function", "cache", "rerun")]))
            print("config", json.dumps(given["config"]["function"]))
            """))
        out = self.xrun("reproduce", TRAIN_ID, "--dry-run").stdout
        self.assertIn('invocation ["train", null, true]\nconfig "train"\n', out)
        self.assertUsageError(self.xrun("reproduce", TRAIN_ID, "--cache"),
                              "--cache is for xrun run: a reproduction always runs again")

    def test_completion_offers_a_functions_parameters(self):
        self.write("mod.py", "import xrun\n\n"
                             "@xrun.function(outputs=['model'])\n"
                             "def train(data: xrun.Input, lr: float = 0.01, *,\n"
                             "          model: str = 'mlp'):\n"
                             "    LR = 1\n")
        self.write("train.yml", "extend: mod.py:train\n")
        for file in ("mod.py:train", "train.yml"):
            out = self.xrun("__complete", "run", file, "--").stdout
            self.assertIn("--data\txrun.Input\n--lr\tfloat = 0.01\n--model\tstr = 'mlp'\n",
                          out)
            self.assertNotIn("--LR", out)
            self.assertNotIn("--__DEBUG__", out)
        self.write("mod.py", self.dir.joinpath("mod.py").read_text()
                   + "\ndef prepare(n: int = 10):\n    pass\n\ndef _helper():\n    pass\n")
        self.assertEqual(self.xrun("__complete", "run", "mod.py:").stdout,
                         "mod.py:train\t(data, lr, model)\nmod.py:prepare\t(n)\n")
        # bash splits the word at ':' (in COMP_WORDBREAKS); the script joins it again, and
        # offers what replaces the word bash is completing.
        self.assertEqual(self.bash_completes("mod.py", ":", "train", "--mo"), ["--model"])
        self.assertEqual(self.bash_completes("mod.py", ":", "tr"), ["train"])
        self.assertEqual(self.bash_completes("mod.py", ":"), [":prepare", ":train"])

    def bash_completes(self, *words):
        """What the bash script offers for `xrun run WORDS...` as bash splits them."""
        script = SOURCE_DIR / "completions" / "xrun.bash"
        program = (f"source '{script}'; COMP_WORDS=(xrun run {' '.join(words)}); "
                   f"COMP_CWORD={len(words) + 1}; _xrun; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        env = self.env(PATH=f"{os.path.dirname(XRUN)}:{os.environ['PATH']}")
        result = subprocess.run(["bash", "-c", program], cwd=self.dir, capture_output=True,
                                text=True, env=env, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        return sorted(result.stdout.split())

    def test_help_lists_the_function_flags(self):
        out = self.xrun("run", "--help").stdout
        self.assertIn("--cache", out)
        self.assertIn("Reuse a done run with the same cache key (function runs)", out)
        self.assertIn("Run even when a done run has the same cache key", out)


class Prepare(Workspace):
    """The "prepare" message's `function` and `meta_extra`, sent here by a module run whose
    experiment carries them as a function run's does."""

    def module(self, meta_extra):
        return experiment_source("LR: float = 0.1\n", "pass").replace(
            "experiment.run_if_main()",
            f"experiment.function_record = {{'name': 'train', 'outputs': ['model'], "
            f"'inputs': []}}\nexperiment.meta_extra = {meta_extra!r}\n"
            "experiment.run_if_main()")

    def test_the_function_record_and_meta_extra_go_into_the_meta(self):
        self.write("exp.py", self.module({"batch": {"name": "example"},
                                          "sweep": {"id": "s1", "index": 2}}))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        meta = self.meta(self.only_run("results/exp"))
        self.assertEqual(meta["function"], {"name": "train", "outputs": ["model"],
                                            "inputs": []})
        self.assertEqual((meta["batch"], meta["sweep"]),
                         ({"name": "example"}, {"id": "s1", "index": 2}))

    def test_other_meta_fields_are_refused(self):
        self.write("exp.py", self.module({"status": "done"}))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 74, result.stderr)
        self.assertIn('sets the meta field "status", which is the supervisor\'s', result.stderr)
        self.assertNoRunFolder()


class Lineage(Workspace):
    def setUp(self):
        super().setUp()
        self.prepare = self.make_run("prepare", PREPARE_ID, {"n": 100}, outputs=["dataset"])
        self.train = self.make_run(
            "train", TRAIN_ID, {"data": f"run:{PREPARE_ID}/outputs/dataset", "lr": 0.1},
            inputs=[run_input("data", PREPARE_ID, "dataset")], outputs=["model"],
            data={"results": {"acc": 0.93, "report": {"acc": 0.93}}})
        self.other = self.make_run(
            "train", OTHER_ID, {"data": "/elsewhere/data.npy", "lr": 0.01},
            inputs=[{"name": "data", "ref": "/elsewhere/data.npy", "path": "/elsewhere/data.npy",
                     "sha256": "99" * 32, "size": 5}],
            data={"results": {"acc": 0.5}})

    def make_run(self, name, run_id, parameters, inputs=(), outputs=(), data=None):
        folder = self.dir / "results" / "mod" / name / run_id
        folder.mkdir(parents=True)
        meta = function_meta(run_id, name, parameters, inputs, outputs)
        (folder / "experiment_meta.json").write_text(json.dumps(meta))
        if data is not None:
            (folder / "experiment_data.json").write_text(json.dumps(data))
        return folder

    def show(self, *args):
        result = self.xrun("archive", "show", *args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    def test_show_names_the_inputs_and_the_run_that_made_them(self):
        out = self.show(TRAIN_ID)
        self.assertIn(f"\ninputs\n  data  run:{PREPARE_ID}/outputs/dataset  sha256 c0ffee00c0ff"
                      f"  from mod/prepare/{PREPARE_ID}\n", out)
        self.assertNotIn("\nconsumers\n", out)
        self.assertIn("\n  data  /elsewhere/data.npy  sha256 999999999999\n", self.show(OTHER_ID))

    def test_show_names_the_runs_that_consume_the_outputs(self):
        out = self.show(PREPARE_ID)
        self.assertIn(f"\nconsumers\n  mod/train/{TRAIN_ID}  data <- dataset\n", out)
        self.assertNotIn("\ninputs\n", out)

    def test_show_json_has_inputs_and_consumers(self):
        shown = json.loads(self.show("--json", TRAIN_ID))
        self.assertEqual((shown["path"], shown["id"], shown["status"]),
                         (str(self.train), TRAIN_ID, "done"))
        self.assertEqual(shown["meta"]["function"]["qualified_name"], "mod.train")
        self.assertEqual(shown["data"]["results"]["acc"], 0.93)
        (data,) = shown["inputs"]
        self.assertEqual(data, dict(run_input("data", PREPARE_ID, "dataset"),
                                    listed=f"mod/prepare/{PREPARE_ID}"))
        self.assertEqual(shown["consumers"], [])
        produced = json.loads(self.show("--json", PREPARE_ID))
        self.assertEqual(produced["inputs"], [])
        self.assertEqual(produced["consumers"], [{
            "run": f"mod/train/{TRAIN_ID}", "id": TRAIN_ID, "path": str(self.train),
            "input": "data", "output": "dataset"}])

    def test_a_producer_outside_the_archive_is_not_named(self):
        out = self.show("--path", "results/mod/train", TRAIN_ID)
        self.assertIn(f"\n  data  run:{PREPARE_ID}/outputs/dataset  sha256 c0ffee00c0ff\n", out)

    def test_results_are_the_data_of_the_results(self):
        result = self.xrun("archive", "list", "--where", "results.acc > 0.9",
                           "--columns", "results.acc,data.results.report.acc")
        self.assertEqual(result.returncode, 0, result.stderr)
        (header, row) = result.stdout.splitlines()
        self.assertEqual(header.split()[-2:], ["results.acc", "data.results.report.acc"])
        self.assertIn(f"mod/train/{TRAIN_ID}", row)
        self.assertEqual(row.split()[-2:], ["0.93", "0.93"])

    def test_a_parameter_named_data_shadows_no_root(self):
        rows = json.loads(self.xrun(
            "archive", "list", "--json", "--where", "data.results.acc < 0.9",
            "--columns", "data,params.data,results").stdout)
        self.assertEqual([row["id"] for row in rows], [OTHER_ID])
        self.assertEqual(rows[0]["data"], {"results": {"acc": 0.5}})
        self.assertEqual(rows[0]["params.data"], "/elsewhere/data.npy")
        self.assertEqual(rows[0]["results"], {"acc": 0.5})
        rows = json.loads(self.xrun("archive", "list", "--json", "--where",
                                    'p.data ~ "*/outputs/dataset"').stdout)
        self.assertEqual([row["id"] for row in rows], [TRAIN_ID])

    def test_a_misspelt_result_gets_a_hint(self):
        result = self.xrun("archive", "list", "--where", "results.acx > 0.9")
        self.assertIn("no run has a value for results.acx (did you mean results.acc?)",
                      result.stderr)


if __name__ == "__main__":
    unittest.main()
