"""Parameters: detection, declared types, command-line conversion, --help and --dry-run."""

import os
import subprocess
import unittest
from pathlib import Path

from support import Workspace, dry_run_table, experiment_source

PARAMETERS = '''
import os
from typing import Optional
from os import SEEK_SET

# :param LR:
#     The learning rate.
#     Smaller is slower.
LR: float = 0.01
# :param EPOCHS:
#     How many epochs.
EPOCHS: int = 3
MODEL: str = "resnet"
USE_GPU: bool = False
LAYERS: list[int] = [64, 32]
SHAPE: tuple = (1, 2)
OPTIONS: dict = {"momentum": 0.9}
SEED: Optional[int] = None
LIMIT: int | None = 5
ANYTHING = None
UNTYPED = 2.5
class MODULE_CLASS: pass
def HELPER(): pass
'''

BODY = '''
e["values"] = {name: repr(getattr(e, name)) for name in
               ["LR", "EPOCHS", "MODEL", "USE_GPU", "LAYERS", "SHAPE", "OPTIONS", "SEED",
                "LIMIT", "ANYTHING", "UNTYPED"]}
e["global_lr"] = LR
'''


class Parameters(Workspace):
    def setUp(self):
        super().setUp()
        self.write("exp.py", experiment_source(PARAMETERS, BODY))

    def values(self, *args):
        result = self.xrun("run", "exp.py", *args)
        self.assertEqual(result.returncode, 0, result.stderr)
        runs = self.runs("results/exp")
        return self.data(runs[-1])["values"], self.meta(runs[-1])

    def test_detection_and_declared_types(self):
        _, meta = self.values()
        parameters = meta["parameters"]
        self.assertEqual(list(parameters)[:11], ["LR", "EPOCHS", "MODEL", "USE_GPU", "LAYERS",
                                                  "SHAPE", "OPTIONS", "SEED", "LIMIT",
                                                  "ANYTHING", "UNTYPED"])
        for absent in ["SEEK_SET", "MODULE_CLASS", "HELPER", "Optional"]:
            self.assertNotIn(absent, parameters)
        self.assertIn("__DEBUG__", parameters)
        self.assertIn("__PREFIX__", parameters)
        self.assertEqual(parameters["LR"]["type"], "float")
        self.assertEqual(parameters["LAYERS"]["type"], "list[int]")
        self.assertEqual(parameters["SEED"]["type"], "Optional[int]")
        self.assertEqual(parameters["LIMIT"]["type"], "int | None")
        self.assertEqual(parameters["UNTYPED"]["type"], "float")
        self.assertEqual(parameters["LR"]["description"], "The learning rate. Smaller is slower.")
        self.assertEqual(parameters["EPOCHS"]["description"], "How many epochs.")

    def test_values_are_converted_by_declared_type(self):
        values, meta = self.values(
            "--LR", "1e-3", "--EPOCHS=7", "--MODEL", "vit", "--USE_GPU", "yes",
            "--LAYERS", "[1, 2, 3]", "--SHAPE", "[3, 4]", "--OPTIONS", "{'momentum': 0.5}",
            "--SEED", "42", "--LIMIT", "none", "--ANYTHING", "[1, 'a']", "--UNTYPED", "3")
        self.assertEqual(values, {
            "LR": "0.001", "EPOCHS": "7", "MODEL": "'vit'", "USE_GPU": "True",
            "LAYERS": "[1, 2, 3]", "SHAPE": "(3, 4)", "OPTIONS": "{'momentum': 0.5}",
            "SEED": "42", "LIMIT": "None", "ANYTHING": "[1, 'a']", "UNTYPED": "3.0"})
        self.assertEqual(meta["parameters"]["SHAPE"]["value"], [3, 4])
        self.assertEqual(meta["parameters"]["LIMIT"]["value"], None)
        self.assertEqual(meta["parameters"]["MODEL"]["source"], "cli")

    def test_the_module_global_sees_the_cli_value(self):
        result = self.xrun("run", "exp.py", "--LR", "0.5")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.data(self.only_run("results/exp"))["global_lr"], 0.5)

    def test_parameters_mapping_and_attribute_access_read_and_write(self):
        self.write("rw.py", experiment_source("LR: float = 0.1\n", """
            e["via_mapping"] = e.parameters["LR"]
            e.parameters["LR"] = 0.2
            e["after_mapping"] = [e.LR, LR_GLOBAL()]
            e.LR = 0.3
            e["after_attribute"] = [e.parameters["LR"], LR_GLOBAL()]
            e.log_parameters()
            try:
                e.NOT_A_PARAMETER
            except AttributeError as error:
                e["missing"] = str(error)
            """, extra="def LR_GLOBAL():\n    return LR\n"))
        result = self.xrun("run", "rw.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.data(self.only_run("results/rw")), {
            "via_mapping": 0.1, "after_mapping": [0.2, 0.2], "after_attribute": [0.3, 0.3],
            "missing": "experiment has no attribute or parameter 'NOT_A_PARAMETER'"})
        self.assertIn("LR (float) = 0.3", result.stdout)

    def test_strings_need_no_quotes_and_are_never_evaluated(self):
        values, _ = self.values("--MODEL", "__import__('os').getcwd()")
        self.assertEqual(values["MODEL"], repr("__import__('os').getcwd()"))
        values, _ = self.values("--ANYTHING", "__import__('os').getcwd()")
        self.assertEqual(values["ANYTHING"], repr("__import__('os').getcwd()"))

    def test_bool_spellings(self):
        for text, expected in [("true", "True"), ("0", "False"), ("off", "False"), ("YES", "True")]:
            values, _ = self.values("--USE_GPU", text)
            self.assertEqual(values["USE_GPU"], expected, text)
        values, _ = self.values("--USE_GPU")
        self.assertEqual(values["USE_GPU"], "True")

    def test_bad_values_are_usage_errors_naming_parameter_type_and_text(self):
        cases = [
            (["--EPOCHS", "3.5"], "parameter EPOCHS (int) cannot be '3.5'"),
            (["--LR", "fast"], "parameter LR (float) cannot be 'fast'"),
            (["--LR", "1e999"], "out of the range"),
            (["--USE_GPU", "maybe"], "parameter USE_GPU (bool) cannot be 'maybe'"),
            (["--LAYERS", "[1, 'x']"], "parameter LAYERS (list[int]) cannot be"),
            (["--LAYERS", "1, 2"], "parameter LAYERS (list[int]) cannot be '1, 2'"),
            (["--OPTIONS", "[1]"], "parameter OPTIONS (dict)"),
            (["--SEED", "abc"], "parameter SEED (Optional[int]) cannot be 'abc'"),
            (["--EPOCHS"], "parameter EPOCHS (int) needs a value"),
            (["stray"], "unexpected argument 'stray'"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                self.assertUsageError(self.xrun("run", "exp.py", *args), message)
        self.assertNoRunFolder()

    def test_types_are_named_with_their_article(self):
        self.assertUsageError(self.xrun("run", "exp.py", "--OPTIONS", "[1]"),
                              "cannot be '[1]': not a dict")
        self.write("c.yml", "extend: exp.py\nparameters:\n  EPOCHS: [1]\n")
        result = self.xrun("run", "c.yml")
        self.assertUsageError(result, "c.yml:3:3: parameter EPOCHS (int) cannot be [1]: not an int")
        self.assertNotIn("a int", result.stderr)
        self.assertNoRunFolder()

    def test_values_nested_too_deeply_are_refused_whatever_their_way_in(self):
        deep = "[" * 30000 + "]" * 30000
        ways = [("run", "exp.py", "--dry-run", "--OPTIONS", deep),
                ("run", "exp.py", "--LAYERS", deep),
                ("run", "exp.py", f"--LAYERS={'[' * 101}{']' * 101}"),
                ("run", "exp.py", "--sweep", f"LAYERS={deep},[1]")]
        for args in ways:
            with self.subTest(args=args[2][:20]):
                result = self.xrun(*args)
                self.assertUsageError(result, "nested more than 100 levels deep")
                self.assertRegex(result.stderr, r"parameter (OPTIONS|LAYERS)")
                self.assertIn("… (", result.stderr)  # the value echoed is cut short
                self.assertLess(len(result.stderr), 2000)
        self.assertNoRunFolder()
        # 100 levels are fine.
        result = self.xrun("run", "exp.py", "--dry-run", "--SHAPE", "[" * 100 + "]" * 100)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_a_long_value_is_cut_short_in_the_message(self):
        result = self.xrun("run", "exp.py", "--EPOCHS", "9" * 10 + "x" * 100000)
        self.assertUsageError(result, "parameter EPOCHS (int) cannot be '9999999999xxx",
                              "… (100010 characters)': not an integer")
        self.assertLess(len(result.stderr), 1000)
        result = self.xrun("run", "exp.py", "--" + "N" * 50000, "1")
        self.assertUsageError(result, "… (50000 characters)")
        self.assertLess(len(result.stderr), 1000)

    def test_dry_run_is_an_aligned_table(self):
        result = self.xrun("run", "exp.py", "--dry-run", "--MODEL", "vit")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.startswith("NAME "), result.stdout)
        rows = dry_run_table(result.stdout)  # raises unless each column lines up
        self.assertEqual(rows["MODEL"], ("str", "'vit'", "cli"))
        self.assertEqual(rows["LAYERS"], ("list[int]", "[64, 32]", "default"))
        self.assertEqual(rows["SEED"], ("Optional[int]", "None", "default"))

    def test_a_parameter_given_twice_warns_and_takes_the_last(self):
        result = self.xrun("run", "exp.py", "--EPOCHS", "1", "--LR=0.5", "--EPOCHS=2")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr.count("xrun: warning:"), 1, result.stderr)
        self.assertIn("xrun: warning: --EPOCHS given twice; using 2", result.stderr)
        meta = self.meta(self.only_run("results/exp"))
        self.assertEqual(meta["parameters"]["EPOCHS"]["value"], 2)
        # In a sweep: once, not once a variation.
        result = self.xrun("run", "exp.py", "--sweep", "LR=0.1,0.2", "--MODEL", "a",
                           "--MODEL", "b", "-j", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr.count("--MODEL given twice; using b"), 1, result.stderr)

    def test_values_that_are_not_utf8_are_refused(self):
        result = subprocess.run([os.environ["XRUN_BIN"], "run", "exp.py", "--MODEL",
                                 b"caf\xe9"], cwd=self.dir, capture_output=True, text=True,
                                env=self.env())
        self.assertUsageError(result, "'caf\\xe9' (the value of --MODEL) is not UTF-8 text")
        self.assertNotIn("internal error", result.stderr)
        self.assertNoRunFolder()

    def test_unknown_parameter_gets_did_you_mean(self):
        result = self.xrun("run", "exp.py", "--EPOCH", "3")
        self.assertUsageError(result, "exp.py has no parameter EPOCH", "did you mean --EPOCHS?")
        result = self.xrun("run", "exp.py", "--epochs", "3")  # a difference of case only
        self.assertUsageError(result, "exp.py has no parameter epochs", "did you mean --EPOCHS?")
        result = self.xrun("run", "exp.py", "--OPT", "{}")  # a name cut short
        self.assertUsageError(result, "exp.py has no parameter OPT", "did you mean --OPTIONS?")
        self.assertNoRunFolder()

    def test_help_lists_parameters_without_creating_a_run(self):
        result = self.xrun("run", "exp.py", "--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("--LR (float), default: 0.01", result.stdout)
        self.assertIn("The learning rate. Smaller is slower.", result.stdout)
        self.assertIn("--LAYERS (list[int]), default: [64, 32]", result.stdout)
        self.assertIn("--__DEBUG__ (bool)", result.stdout)
        self.assertNoRunFolder()

    def test_dry_run_prints_resolved_typed_values_and_sources(self):
        result = self.xrun("run", "exp.py", "--dry-run", "--EPOCHS", "9")
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = dry_run_table(result.stdout)
        self.assertEqual(rows["EPOCHS"], ("int", "9", "cli"))
        self.assertEqual(rows["LR"], ("float", "0.01", "default"))
        self.assertNoRunFolder()
        self.assertUsageError(self.xrun("run", "exp.py", "--dry-run", "--EPOCHS", "x"),
                              "cannot be 'x'")


class PostponedAnnotations(Workspace):
    def test_from_future_import_annotations(self):
        self.write("fut.py", "from __future__ import annotations\n" + experiment_source(
            "LR: float = 0.1\nLAYERS: list[int] = [1]\n", "e['v'] = [e.LR, e.LAYERS]"))
        result = self.xrun("run", "fut.py", "--LR", "0.5", "--LAYERS", "[2, 3]")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.data(self.only_run("results/fut")), {"v": [0.5, [2, 3]]})
        self.assertUsageError(self.xrun("run", "fut.py", "--LR", "x"),
                              "parameter LR (float) cannot be 'x'")


class TypingParameters(Workspace):
    def test_literal_and_path_from_the_command_line_and_a_config(self):
        self.write("lit.py", experiment_source(
            "from pathlib import Path\nfrom typing import Literal, Optional\n"
            "KIND: Literal['mlp', 'cnn'] = 'mlp'\nLEVEL: Literal[1, 2] = 1\n"
            "DATA: Optional[Path] = None\n",
            "e['v'] = [e.KIND, e.LEVEL, str(e.DATA)]"))
        result = self.xrun("run", "lit.py", "--KIND", "cnn", "--LEVEL", "2", "--DATA", "a/b")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.data(self.runs("results/lit")[-1]), {"v": ["cnn", 2, "a/b"]})
        self.assertUsageError(self.xrun("run", "lit.py", "--KIND", "rnn"),
                              "cannot be 'rnn': expected one of 'mlp', 'cnn'")
        self.write("lit.yml", "extend: lit.py\nparameters:\n  KIND: cnn\n  DATA: c/d\n")
        result = self.xrun("run", "lit.yml")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.data(self.runs("results/lit")[-1]), {"v": ["cnn", 1, "c/d"]})
        self.write("bad.yml", "extend: lit.py\nparameters:\n  KIND: rnn\n")
        self.assertUsageError(self.xrun("run", "bad.yml"), "bad.yml:3:3", "KIND")


class SpecialParameters(Workspace):
    def test_debug_runs_into_one_replaced_folder(self):
        self.write("exp.py", experiment_source("import time\n", "e['t'] = time.time()"))
        self.assertEqual(self.xrun("run", "exp.py", "--__DEBUG__", "true").returncode, 0)
        first = self.data(self.dir / "results/exp/debug")["t"]
        (self.dir / "results/exp/debug/extra.txt").write_text("stale")
        self.assertEqual(self.xrun("run", "exp.py", "--__DEBUG__", "true").returncode, 0)
        self.assertEqual([p.name for p in self.runs("results/exp")], ["debug"])
        self.assertNotEqual(self.data(self.dir / "results/exp/debug")["t"], first)
        self.assertFalse((self.dir / "results/exp/debug/extra.txt").exists())
        self.assertEqual(self.meta(self.dir / "results/exp/debug")["id"], "debug")

    def test_a_live_debug_run_is_not_replaced(self):
        self.write("exp.py", experiment_source("", "import time\nprint('up', flush=True)\n"
                                                   "time.sleep(60)"))
        first = self.start("run", "exp.py", "--__DEBUG__", "true")
        self.wait_for(lambda: (self.dir / "results/exp/debug/experiment_out.log").exists() and
                      "up" in (self.dir / "results/exp/debug/experiment_out.log").read_text(),
                      what="the first debug run")
        second = self.xrun("run", "exp.py", "--__DEBUG__", "true")
        self.assertUsageError(second, "a debug run is still running")
        self.assertEqual(self.meta(self.dir / "results/exp/debug")["status"], "running")
        first.send_signal(2)
        first.communicate(timeout=30)

    def test_debug_declared_in_the_module(self):
        self.write("exp.py", experiment_source("__DEBUG__ = True\n", "pass"))
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        self.assertEqual([p.name for p in self.runs("results/exp")], ["debug"])

    def test_prefix_names_the_folder(self):
        self.write("exp.py", experiment_source("", "pass"))
        self.assertEqual(self.xrun("run", "exp.py", "--__PREFIX__", "baseline").returncode, 0)
        self.assertTrue(self.only_run("results/exp").name.startswith("baseline__"))
        self.assertUsageError(self.xrun("run", "exp.py", "--__PREFIX__", "a/b"), "__PREFIX__")
        self.write("other.py", experiment_source("", "pass"))
        self.assertUsageError(self.xrun("run", "other.py", "--__PREFIX__", "a/b"), "__PREFIX__")
        self.assertFalse((self.dir / "results" / "other").exists())  # not even its namespace


class BadInput(Workspace):
    def test_missing_file(self):
        self.assertUsageError(self.xrun("run", "nope.py"), "nope.py does not exist")
        self.assertUsageError(self.xrun("run", "nope.py", "--help"), "nope.py does not exist")

    def test_not_a_python_module(self):
        self.write("notes.txt", "hello")
        self.assertUsageError(self.xrun("run", "notes.txt"),
                              "notes.txt is neither a Python module (.py) nor a config (.yml)")

    def test_syntax_error_names_file_line_and_column(self):
        self.write("exp.py", "from xrun import Experiment\nX = 1\nif True\n    pass\n")
        self.assertUsageError(self.xrun("run", "exp.py"), "cannot load exp.py:3:",
                              "SyntaxError")
        self.assertNoRunFolder()

    def test_error_while_importing_names_the_line(self):
        self.write("exp.py", "from xrun import Experiment\nimport not_a_module_anywhere\n")
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 2)
        self.assertIn("xrun: error: cannot load exp.py:2: ModuleNotFoundError", result.stderr)
        self.assertNoRunFolder()

    def test_any_error_while_importing_names_the_module_and_line(self):
        self.write("helper.py", "def fail():\n    raise ValueError('inside the helper')\n")
        self.write("exp.py", "from xrun import Experiment\nimport helper\nX = 1\nhelper.fail()\n")
        result = self.xrun("run", "exp.py")
        self.assertUsageError(result, "cannot load exp.py:4: ValueError: inside the helper "
                                      f"(raised at {self.dir / 'helper.py'}:2)")
        # An exception that cannot even say what it is.
        self.write("exp.py", "from xrun import Experiment\nclass Odd(Exception):\n"
                   "    def __str__(self):\n        raise RuntimeError('no text')\n"
                   "raise Odd()\n")
        result = self.xrun("run", "exp.py")
        self.assertUsageError(result, "cannot load exp.py:5: Odd: (its message cannot be shown)")
        self.assertEqual(result.stderr.count("Traceback"), 1, result.stderr)
        self.assertNotIn("internal error", result.stderr)
        self.assertNoRunFolder()

    def test_a_module_that_is_not_utf8_is_refused_as_python3_refuses_it(self):
        source = experiment_source("MODEL: str = 'x'\n", "e['model'] = e.MODEL")
        (self.dir / "exp.py").write_bytes(b"# caf\xe9: a Latin-1 comment\n" + source.encode())
        result = self.xrun("run", "exp.py")
        self.assertUsageError(result, "cannot load exp.py:1:6: SyntaxError: Non-UTF-8 code "
                                      "starting with '\\xe9', but no encoding declared")
        plain = subprocess.run(["/usr/bin/python3", "exp.py"], cwd=self.dir,
                               capture_output=True, text=True, env=self.env())
        self.assertIn("SyntaxError: Non-UTF-8 code starting with '\\xe9'", plain.stderr)
        self.write("c.yml", "extend: exp.py\n")  # imported for a config: the same
        self.assertUsageError(self.xrun("run", "c.yml"), "exp.py:1:6: SyntaxError: Non-UTF-8")
        self.assertNoRunFolder()
        # Declared, it is Latin-1, as for python3.
        (self.dir / "exp.py").write_bytes(b"# -*- coding: latin-1 -*-\n"
                                          + source.replace("'x'", "'caf\xe9'").encode("latin-1"))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.data(self.only_run("results/exp"))["model"], "café")

    def test_a_module_name_that_is_not_utf8_is_refused(self):
        name = b"m\xff.py"
        (self.dir / os.fsdecode(name)).write_text(experiment_source("N: int = 1\n", "pass"))
        result = subprocess.run([os.environ["XRUN_BIN"], "run", name], cwd=self.dir,
                                capture_output=True, text=True, env=self.env())
        self.assertUsageError(result, "m\\xff.py is not UTF-8")
        self.assertNotIn("internal error", result.stderr)
        self.assertNoRunFolder()

    def test_module_without_experiment(self):
        self.write("exp.py", "X = 1\n")
        self.assertUsageError(self.xrun("run", "exp.py"), "exp.py defines no experiment")
        self.assertNoRunFolder()

    def test_experiment_without_function(self):
        self.write("exp.py", "from xrun import Experiment\n"
                   "e = Experiment(base_path='.', namespace='results/x', glob=globals())\n"
                   "e.run_if_main()\n")
        self.assertUsageError(self.xrun("run", "exp.py"), "decorates no function")
        self.assertNoRunFolder()

    def test_base_path_that_does_not_exist(self):
        self.write("exp.py", "from xrun import Experiment\n"
                   "@Experiment(base_path='/no/such/folder', namespace='results/x', "
                   "glob=globals())\ndef main(e): pass\nmain.run_if_main()\n")
        self.assertUsageError(self.xrun("run", "exp.py"), "/no/such/folder")
        self.assertNoRunFolder()

    def test_namespace_escaping_the_base_path(self):
        self.write("exp.py", "from xrun import Experiment, folder_path\n"
                   "@Experiment(base_path=folder_path(__file__), namespace='../outside', "
                   "glob=globals())\ndef main(e): pass\nmain.run_if_main()\n")
        self.assertUsageError(self.xrun("run", "exp.py"), "namespace '../outside'")
        self.assertNoRunFolder()


class PlainPython(Workspace):
    def test_python3_exp_py_gives_the_same_run_folder(self):
        self.write("exp.py", experiment_source("LR: float = 0.01\n", "e['lr'] = e.LR"))
        package = self.xrun("python-path").stdout.strip()
        env = self.env(PYTHONPATH=package, PATH="/usr/bin:/bin")
        result = subprocess.run(["/usr/bin/python3", "exp.py", "--LR", "0.5"], cwd=self.dir,
                                capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/exp")
        meta = self.meta(run)
        self.assertEqual(meta["status"], "done")
        self.assertEqual(meta["parameters"]["LR"]["value"], 0.5)
        self.assertEqual(meta["command_line"][1:], ["run", "exp.py", "--LR", "0.5"])
        self.assertEqual(self.data(run), {"lr": 0.5})
        self.assertTrue((run / "experiment_code.py").exists())

    def test_another_python3_is_told_which_python_runs_the_experiment(self):
        self.write("exp.py", experiment_source("LR: float = 0.01\n", "e['lr'] = e.LR"))
        env = self.env(PYTHONPATH=self.xrun("python-path").stdout.strip())
        # A venv's python (not activated) has other packages than xrun's own Python; so has a
        # python3 of another build (pyenv's, here).
        venv = self.dir / "venv"
        pyenv = sorted(Path("/root/.pyenv/versions").glob("3.*/bin/python3"),
                       key=lambda path: [int(part) for part in path.parts[-3].split(".")])
        others = [str(venv / "bin" / "python")] + [str(path) for path in pyenv[-1:]]
        if subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)],
                          capture_output=True).returncode != 0:
            others.pop(0)
        if not others:
            self.skipTest("no other python3 here")
        for python in others:
            with self.subTest(python=python):
                for args in [["--LR", "0.5"], ["--sweep", "LR=0.1,0.2"], ["--dry-run"]]:
                    result = subprocess.run([python, "exp.py", *args], cwd=self.dir, env=env,
                                            capture_output=True, text=True, timeout=120)
                    self.assertEqual(result.returncode, 0, result.stderr)
                    self.assertEqual(result.stderr.count("xrun: warning:"), 1, result.stderr)
                    self.assertIn(f"xrun: warning: exp.py was started with {python} (Python ",
                                  result.stderr)
                    self.assertIn("but xrun runs experiments in its own Python, /usr/bin/python3",
                                  result.stderr)
        self.assertIn("xrun: warning: exp.py was started with",
                      self.log(self.runs("results/exp")[0]))
        # Its own Python says nothing.
        result = subprocess.run(["/usr/bin/python3", "exp.py"], cwd=self.dir, env=env,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("warning", result.stderr)

    def test_python3_bad_value_is_the_same_usage_error(self):
        self.write("exp.py", experiment_source("LR: float = 0.01\n", "pass"))
        env = self.env(PYTHONPATH=self.xrun("python-path").stdout.strip())
        result = subprocess.run(["/usr/bin/python3", "exp.py", "--LR", "x"], cwd=self.dir,
                                capture_output=True, text=True, env=env, timeout=60)
        self.assertUsageError(result, "parameter LR (float) cannot be 'x'")


class VirtualEnv(Workspace):
    def test_an_active_venv_is_used(self):
        venv = self.dir / "venv"
        created = subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip",
                                  "--system-site-packages", str(venv)], capture_output=True)
        if created.returncode != 0:
            self.skipTest("python3-venv is not installed")
        self.write("exp.py", experiment_source("", """
            import sys, subprocess
            e["executable"] = sys.executable
            e["prefix"] = sys.prefix
            e["child_prefix"] = subprocess.run([sys.executable, "-c",
                "import sys; print(sys.prefix)"], capture_output=True, text=True).stdout.strip()
            """))
        result = self.xrun("run", "exp.py", env=self.env(VIRTUAL_ENV=str(venv)))
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/exp")
        data = self.data(run)
        self.assertEqual(data["executable"], str(venv / "bin" / "python"))
        self.assertEqual(data["prefix"], str(venv))
        self.assertEqual(data["child_prefix"], str(venv))
        self.assertEqual(self.meta(run)["python_executable"], str(venv / "bin" / "python"))


if __name__ == "__main__":
    unittest.main()
