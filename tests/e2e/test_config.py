"""`xrun run config.yml`: YAML variations of an experiment, chains, environment, errors."""

import subprocess
import textwrap
import unittest

from support import Workspace

EXPERIMENT = '''
"""The experiment the configs vary."""
from xrun import Experiment, file_namespace, folder_path

# :param LR:
#     Learning rate.
LR: float = 0.1
EPOCHS: int = 2
MODEL: str = "mlp"
USE_GPU: bool = False
LAYERS: list[int] = [64, 32]
SEED: int | None = None

@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__), glob=globals())
def experiment(e):
    e["values"] = {"lr": e.LR, "epochs": e.EPOCHS, "model": e.MODEL, "gpu": e.USE_GPU,
                   "layers": e.LAYERS, "seed": e.SEED, "global_epochs": EPOCHS}
    e["order"] = e.apply_hook("order", default=[], trace=[])

experiment.run_if_main()
'''

MIXIN = '''
from xrun import ExperimentMixin
EXTRA: int = 3
mixin = ExperimentMixin(glob=globals())

@mixin.hook("order")
def order(e, trace):
    trace.append("mixin")
    return trace
'''


class Configs(Workspace):
    def setUp(self):
        super().setUp()
        self.write("exp.py", EXPERIMENT)
        self.write("mixin.py", MIXIN)

    def config(self, name, text):
        return self.write(name, textwrap.dedent(text).lstrip())

    def test_a_chain_yml_yml_py_with_provenance_and_copies(self):
        self.config("configs/base.yml", """
            extend: ../exp.py
            parameters:
              LR: 0.01
              EPOCHS: 5
            include: ../mixin.py
            """)
        self.config("configs/small.yml", """
            extend: base.yml
            description: A smaller model.
            parameters:
              EPOCHS: 8
              MODEL: tiny
              LAYERS: [16]
            """)
        result = self.xrun("run", "configs/small.yml", "--MODEL", "cli")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("configs/results/small")  # base_path: the config's folder
        self.assertEqual(self.data(run)["values"], {
            "lr": 0.01, "epochs": 8, "model": "cli", "gpu": False, "layers": [16],
            "seed": None, "global_epochs": 8})
        self.assertEqual(self.data(run)["order"], ["mixin"])
        meta = self.meta(run)
        self.assertEqual((meta["name"], meta["namespace"]), ("small", "results/small"))
        self.assertEqual(meta["description"], "A smaller model.")
        self.assertEqual(meta["config_path"], str(self.dir / "configs/small.yml"))
        self.assertEqual(meta["experiment_path"], str(self.dir / "exp.py"))
        parameters = meta["parameters"]
        self.assertEqual((parameters["LR"]["source"], parameters["LR"]["source_file"]),
                         ("config", str(self.dir / "configs/base.yml")))
        self.assertEqual((parameters["EPOCHS"]["source"], parameters["EPOCHS"]["source_file"]),
                         ("config", str(self.dir / "configs/small.yml")))
        self.assertEqual(parameters["MODEL"]["source"], "cli")
        self.assertEqual(parameters["USE_GPU"]["source"], "default")
        self.assertEqual(parameters["EXTRA"]["source"], "base")
        copies = sorted(d["copy"] for d in meta["dependencies"])
        self.assertEqual(copies, ["base.yml", "mixin.py", "small.yml"])
        self.assertEqual((run / "experiment_code.py").read_text(), EXPERIMENT)
        resolved = (run / "experiment_config.yml").read_text()
        self.assertIn("EPOCHS: 8", resolved)
        self.assertIn("namespace: results/small", resolved)
        self.assertEqual(self.runs("results/exp"), [])

    def test_name_namespace_and_base_path_keys(self):
        (self.dir / "out").mkdir()
        self.config("run.yml", """
            extend: exp.py
            name: renamed
            namespace: sweeps/lr
            base_path: out
            """)
        self.assertEqual(self.xrun("run", "run.yml").returncode, 0)
        run = self.only_run("out/sweeps/lr")
        self.assertEqual(self.meta(run)["name"], "renamed")

    def test_keys_set_by_an_extended_config_apply_unless_overridden(self):
        self.config("cfg/base.yml", "extend: ../exp.py\nname: family\nnamespace: runs/family\n")
        self.config("cfg/child.yml", "extend: base.yml\n")
        self.assertEqual(self.xrun("run", "cfg/child.yml").returncode, 0)
        self.assertEqual(self.meta(self.only_run("cfg/runs/family"))["name"], "family")

    def test_environment_substitution_is_typed_by_the_declaration(self):
        self.config("env.yml", """
            extend: exp.py
            parameters:
              EPOCHS: ${EPOCHS}
              LR: ${RATE:-0.5}
              MODEL: ${MODEL_NAME}
              USE_GPU: ${GPU:-yes}
              LAYERS: ["${WIDTH}", 8]
              SEED: ${SEED:-none}
            """)
        result = self.xrun("run", "env.yml",
                           env=self.env(EPOCHS="32", MODEL_NAME="123", WIDTH="4"))
        self.assertEqual(result.returncode, 0, result.stderr)
        values = self.data(self.only_run("results/env"))["values"]
        self.assertEqual(values, {"lr": 0.5, "epochs": 32, "model": "123", "gpu": True,
                                  "layers": [4, 8], "seed": None, "global_epochs": 32})

    def test_plain_words_are_converted_like_command_line_values(self):
        self.config("words.yml", """
            extend: exp.py
            parameters:
              USE_GPU: yes
              SEED: none
              MODEL: "42"
            """)
        result = self.xrun("run", "words.yml")
        self.assertEqual(result.returncode, 0, result.stderr)
        values = self.data(self.only_run("results/words"))["values"]
        self.assertEqual((values["gpu"], values["seed"], values["model"]), (True, None, "42"))

    def test_dry_run_shows_where_values_come_from(self):
        self.config("dry.yml", "extend: exp.py\nparameters:\n  LR: 0.5\n")
        result = self.xrun("run", "dry.yml", "--dry-run", "--EPOCHS", "4")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("LR (float) = 0.5    [config dry.yml]", result.stdout)
        self.assertIn("EPOCHS (int) = 4    [cli]", result.stdout)
        self.assertIn("MODEL (str) = 'mlp'    [default]", result.stdout)
        self.assertNoRunFolder()

    def test_the_archived_config_run_reloads(self):
        self.config("re.yml", "extend: exp.py\nparameters:\n  EPOCHS: 6\n")
        self.assertEqual(self.xrun("run", "re.yml").returncode, 0)
        run = self.only_run("results/re")
        env = self.env(PYTHONPATH=self.xrun("python-path").stdout.strip())
        loaded = subprocess.run(
            ["/usr/bin/python3", "-c",
             "import sys; from xrun import Experiment; e = Experiment.load(sys.argv[1]); "
             "print(e.EPOCHS, e['values']['epochs'])", str(run)],
            capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(loaded.returncode, 0, loaded.stderr)
        self.assertEqual(loaded.stdout.strip(), "6 6")


class ConfigErrors(Workspace):
    def setUp(self):
        super().setUp()
        self.write("exp.py", EXPERIMENT)

    def error(self, text, *fragments, args=(), env=None):
        path = self.write("bad.yml", textwrap.dedent(text).lstrip())
        result = self.xrun("run", "bad.yml", *args, env=env)
        self.assertUsageError(result, *fragments)
        self.assertNoRunFolder()
        return path

    def test_malformed_yaml(self):
        self.error("extend: exp.py\nparameters:\n  LR: [1, 2\n", "bad.yml:4:1: malformed YAML")

    def test_wrong_value_type(self):
        self.error("extend: exp.py\nparameters:\n  EPOCHS: 2.5\n",
                   "bad.yml:3:3: parameter EPOCHS (int) cannot be 2.5")
        self.error("extend: exp.py\nparameters:\n  LAYERS: [1, x]\n",
                   "bad.yml:3:3: parameter LAYERS (list[int])")
        self.error("extend: exp.py\nparameters:\n  USE_GPU: maybe\n",
                   "bad.yml:3:3: parameter USE_GPU (bool) cannot be 'maybe'")

    def test_unknown_parameter_with_did_you_mean(self):
        self.error("extend: exp.py\nparameters:\n  LR: 1.0\n  EPOCH: 3\n",
                   "bad.yml:4:3: the experiment has no parameter EPOCH; did you mean EPOCHS?")

    def test_missing_extend_target(self):
        self.error("name: x\nextend: nowhere.py\n",
                   "bad.yml:2:9: the extended file 'nowhere.py' does not exist")
        self.error("parameters: {}\n", "bad.yml:1:1: the config does not say which experiment")

    def test_extend_cycle(self):
        self.write("a.yml", "extend: b.yml\n")
        self.write("b.yml", "extend: a.yml\n")
        result = self.xrun("run", "a.yml")
        self.assertUsageError(result, "extend cycle: a.yml -> b.yml -> a.yml")

    def test_missing_environment_variable(self):
        self.error("extend: exp.py\nparameters:\n  MODEL: ${NOT_SET_ANYWHERE}\n",
                   "bad.yml:3:10: environment variable NOT_SET_ANYWHERE is not set",
                   "${NOT_SET_ANYWHERE:-value}")

    def test_unknown_top_level_key_warns_and_strict_refuses(self):
        self.write("warn.yml", "extend: exp.py\nparamters:\n  LR: 1.0\n")
        result = self.xrun("run", "warn.yml")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("xrun: warning: " + str(self.dir / "warn.yml") +
                      ":2: unknown key 'paramters' (did you mean 'parameters'?) (ignored)",
                      result.stderr)
        strict = self.xrun("run", "warn.yml", "--strict")
        self.assertUsageError(strict, "warn.yml:2:1: unknown key 'paramters'")

    def test_missing_mixin(self):
        self.error("extend: exp.py\ninclude: [gone.py]\n",
                   "bad.yml:2:11: the mixin 'gone.py' does not exist")

    def test_bad_cli_value_on_top_of_a_config(self):
        self.error("extend: exp.py\n", "parameter EPOCHS (int) cannot be 'x'",
                   args=("--EPOCHS", "x"))


if __name__ == "__main__":
    unittest.main()
