"""`xrun run config.yml`: YAML variations of an experiment, chains, environment, errors."""

import os
import subprocess
import textwrap
import unittest

from support import Workspace, dry_run_table

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
        run = self.only_run("results/small")  # base_path: the experiment's
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
        self.assertIn("MODEL: cli", resolved)  # what ran: the command line's value
        self.assertIn(f"base_path: {self.dir}\n", resolved)
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
        self.assertEqual(self.meta(self.only_run("runs/family"))["name"], "family")

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

    def test_defaults_may_nest_variables_as_in_a_shell(self):
        self.config("nest.yml", """
            extend: exp.py
            parameters:
              MODEL: ${A:-${B:-fallback}}
              EPOCHS: ${A:-${C}}
              LR: ${RATE:-${NOT_NEEDED}}
            """)
        result = self.xrun("run", "nest.yml", env=self.env(C="7", RATE="0.25"))
        self.assertEqual(result.returncode, 0, result.stderr)
        values = self.data(self.only_run("results/nest"))["values"]
        self.assertEqual((values["model"], values["epochs"], values["lr"]), ("fallback", 7, 0.25))
        self.write("nest.yml", 'extend: exp.py\nparameters:\n  MODEL: "$${x}-${A:-$$}"\n')
        self.assertIn("'${x}-$'", self.xrun("run", "nest.yml", "--dry-run").stdout)
        self.write("nest.yml", "extend: exp.py\nparameters:\n  MODEL: ${A:-${B}}\n")
        self.assertUsageError(self.xrun("run", "nest.yml", "--dry-run"),
                              "nest.yml:3:10: environment variable B is not set")
        self.write("nest.yml", "extend: exp.py\nparameters:\n  MODEL: ${A:-${B}\n")
        self.assertUsageError(self.xrun("run", "nest.yml"), "nest.yml:3:10: unterminated '${'")
        self.assertEqual(len(self.runs("results/nest")), 1)

    def test_a_command_line_value_stands_in_for_an_unset_variable(self):
        self.config("seed.yml", "extend: exp.py\nparameters:\n  SEED: ${S}\n  EPOCHS: 4\n")
        result = self.xrun("run", "seed.yml", "--SEED", "3")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/seed")
        self.assertEqual(self.data(run)["values"]["seed"], 3)
        self.assertEqual(self.meta(run)["parameters"]["SEED"]["source"], "cli")
        # A sweep gives it too, for each variation.
        result = self.xrun("run", "seed.yml", "--sweep", "SEED=1,2", "-j", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(self.runs("results/seed")), 3)
        # A config extending this one gives it as well.
        self.config("child.yml", "extend: seed.yml\nparameters:\n  SEED: 5\n")
        self.assertEqual(self.xrun("run", "child.yml").returncode, 0)
        self.assertEqual(self.data(self.only_run("results/child"))["values"]["seed"], 5)
        # Nothing gives it: the error, with the ways out.
        result = self.xrun("run", "seed.yml")
        self.assertUsageError(result, "seed.yml:3:9: environment variable S is not set",
                              "${S:-value}", "--SEED")
        self.assertUsageError(self.xrun("run", "seed.yml", "--dry-run"), "variable S is not set")
        self.assertEqual(len(self.runs("results/seed")), 3)

    def test_runs_go_where_the_experiments_runs_go_unless_base_path_says(self):
        self.config("configs/fast.yml", "extend: ../exp.py\nparameters:\n  EPOCHS: 1\n")
        result = self.xrun("run", "configs/fast.yml")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/fast")  # beside results/exp, not under configs/
        self.assertFalse((self.dir / "configs" / "results").exists())
        self.assertEqual(self.meta(run)["base_path"], str(self.dir))
        listed = self.xrun("archive", "list")
        self.assertIn(run.name, listed.stdout)
        # An explicit base_path still wins, relative to the config.
        (self.dir / "configs" / "out").mkdir()
        self.config("configs/here.yml", "extend: ../exp.py\nbase_path: out\n")
        self.assertEqual(self.xrun("run", "configs/here.yml").returncode, 0)
        self.only_run("configs/out/results/here")
        resolved = (self.only_run("configs/out/results/here") / "experiment_config.yml")
        self.assertIn(f"base_path: {self.dir / 'configs' / 'out'}\n", resolved.read_text())

    def test_the_recorded_config_holds_what_ran(self):
        self.config("rec.yml", "extend: exp.py\nparameters:\n  LR: 0.3\n  EPOCHS: 5\n")
        result = self.xrun("run", "rec.yml", "--EPOCHS", "7", "--MODEL", "cnn", "--LR=0.1")
        self.assertEqual(result.returncode, 0, result.stderr)
        recorded = (self.only_run("results/rec") / "experiment_config.yml").read_text()
        self.assertIn("resolved by xrun from rec.yml and the command line", recorded)
        self.assertIn("LR: 0.1\n", recorded)
        self.assertIn("EPOCHS: 7\n", recorded)  # the command line's, not the config's 5
        self.assertIn("MODEL: cnn\n", recorded)
        self.config("rec.yml", "extend: exp.py\nparameters:\n  LR: 0.3\n")
        self.assertEqual(self.xrun("run", "rec.yml").returncode, 0)
        recorded = (self.runs("results/rec")[-1] / "experiment_config.yml").read_text()
        self.assertIn("LR: 0.3\n", recorded)  # the shortest form, as Python writes it
        self.assertNotIn("0.2999", recorded)

    def test_aliases_work_within_bounds(self):
        self.config("alias.yml", """
            extend: exp.py
            parameters:
              LAYERS: &widths [16, 8]
              MODEL: !!str 123
              EPOCHS: !!int "4"
            sweep:
              zip:
                LAYERS: [*widths, [4]]
            """)
        result = self.xrun("run", "alias.yml", "--dry-run")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("[16,8]", result.stdout)
        result = self.xrun("run", "alias.yml", "--sweep", "LR=0.1", "-j", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        values = [self.data(run)["values"] for run in self.runs("results/alias")]
        self.assertEqual(sorted(v["layers"] for v in values), [[4], [16, 8]])
        self.assertEqual({(v["model"], v["epochs"]) for v in values}, {("123", 4)})

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
        rows = dry_run_table(result.stdout)
        self.assertEqual(rows["LR"], ("float", "0.5", "config dry.yml"))
        self.assertEqual(rows["EPOCHS"], ("int", "4", "cli"))
        self.assertEqual(rows["MODEL"], ("str", "'mlp'", "default"))
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
        self.write("bad.yml", textwrap.dedent(text).lstrip())
        result = self.xrun("run", "bad.yml", *args, env=env)
        self.assertUsageError(result, *fragments)
        self.assertNotIn("internal error", result.stderr)
        self.assertNoRunFolder()
        return result

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

    def test_a_config_that_is_not_utf8(self):
        path = self.dir / "bad.yml"
        path.write_bytes(b"extend: exp.py\ndescription: caf\xe9\n")
        result = self.xrun("run", "bad.yml")
        self.assertUsageError(result, "bad.yml:2:17: the config is not UTF-8")
        self.assertNotIn("internal error", result.stderr)
        # Nor a value from the environment.
        self.write("env.yml", "extend: exp.py\nparameters:\n  MODEL: ${NAME}\n")
        result = self.xrun("run", "env.yml", env=self.env(NAME=os.fsdecode(b"caf\xe9")))
        self.assertUsageError(result, "env.yml:3:10: environment variable NAME is not UTF-8")
        self.assertNotIn("internal error", result.stderr)
        self.assertNoRunFolder()

    def test_a_nul_character_is_refused(self):
        self.error('extend: exp.py\nparameters:\n  MODEL: "a\\0b"\n',
                   "bad.yml:3:10: a NUL character in a value")
        (self.dir / "raw.yml").write_bytes(b"extend: exp.py\nparameters:\n  MODEL: a\0b\n")
        result = self.xrun("run", "raw.yml")
        self.assertUsageError(result, "raw.yml:3:11: a NUL character")
        self.assertNoRunFolder()

    def test_a_key_given_twice_is_refused_at_every_level(self):
        self.error("extend: exp.py\nparameters:\n  LR: 0.1\n  EPOCHS: 2\n  LR: 0.2\n",
                   "bad.yml:5:3: duplicate key 'LR' (first at line 3)")
        self.write("other.py", EXPERIMENT)
        self.error("extend: exp.py\nname: x\nextend: other.py\n",
                   "bad.yml:3:1: duplicate key 'extend' (first at line 1)")
        self.error("extend: exp.py\nparameters:\n  LAYERS: {a: 1, b: 2, a: 3}\n",
                   "bad.yml:3:24: duplicate key 'a' (first at line 3)")
        self.error("extend: exp.py\nplugins:\n  notify: {file: a, file: b}\n",
                   "duplicate key 'file'")
        self.error("extend: exp.py\nsweep:\n  grid:\n    LR: [1]\n  grid:\n    EPOCHS: [1]\n",
                   "bad.yml:5:3: duplicate key 'grid' (first at line 3)")

    def test_an_unknown_tag_is_refused(self):
        self.error("extend: exp.py\nparameters:\n  EPOCHS: !foo 3\n",
                   "bad.yml:3:11: unknown YAML tag '!foo'", "!!str, !!int")
        self.error("extend: exp.py\nparameters:\n  EPOCHS: !!int three\n",
                   "bad.yml:3:11: 'three' is not an int (its tag is !!int)")

    def test_values_nested_too_deeply(self):
        self.error("extend: exp.py\nparameters:\n  LAYERS: " + "[" * 600 + "]" * 600 + "\n",
                   "bad.yml:3:", "nested too deeply")
        self.error("extend: exp.py\nparameters:\n  LAYERS: " + "[" * 150 + "]" * 150 + "\n",
                   "bad.yml:3:", "a value nested more than 100 levels deep")
        result = self.error("extend: exp.py\nparameters:\n  LAYERS: ${DEEP}\n",
                            "bad.yml:3:3: parameter LAYERS", "nested more than 100 levels deep",
                            env=self.env(DEEP="[" * 30000 + "]" * 30000))
        self.assertLess(len(result.stderr), 2000)

    def test_an_alias_bomb_is_refused_quickly_with_a_short_message(self):
        # A few hundred bytes that expand to 9**7 (4.8 million) texts.
        lines = ["extend: exp.py", "bombs:", '  a: &a ["lol","lol","lol","lol","lol","lol",'
                 '"lol","lol","lol"]']
        for level, previous in zip("bcdefg", "abcdef"):
            lines.append(f"  {level}: &{level} [{','.join(['*' + previous] * 9)}]")
        lines += ["parameters:", "  LAYERS: *g"]
        text = "\n".join(lines) + "\n"
        result = self.error(text, "bad.yml:11:3: the config's values expand to more than "
                                  "100000 YAML nodes (an alias counts each time it is used)")
        self.assertLess(len(result.stderr), 1000)

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
