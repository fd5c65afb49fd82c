"""Experiments built on each other: Experiment.extend, hooks across the chain, mixins, INHERIT."""

import subprocess
import textwrap
import unittest

from support import Workspace

BASE = '''
"""The base experiment."""
from xrun import Experiment, file_namespace, folder_path

# :param LR:
#     Learning rate.
LR: float = 0.1
EPOCHS: int = 2
VALUE: int = 10

@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__), glob=globals())
def experiment(e):
    e["values"] = {"lr": e.LR, "epochs": e.EPOCHS, "value": e.VALUE, "global_lr": LR}
    e["prepared"] = e.apply_hook("prepare", default="nobody")
    e["order"] = e.apply_hook("order", default=[], trace=[])

@experiment.hook("prepare")
def prepare(e):
    return "base"

@experiment.hook("order", replace=False)
def order_base(e, trace):
    trace.append("base")
    return trace

experiment.run_if_main()
'''

MIXIN = '''
from xrun import ExperimentMixin
# :param LOG_EVERY:
#     Log every this many steps.
LOG_EVERY: int = 5
LR: float = 99.0
mixin = ExperimentMixin(glob=globals())

@mixin.hook("order")
def order_mixin(e, trace):
    trace.append("mixin")
    return trace
'''

CHILD = '''
"""The child experiment."""
from xrun import Experiment, INHERIT, file_namespace, folder_path

LR: float = 0.01
VALUE = INHERIT(lambda v: v * 3)

experiment = Experiment.extend("base.py", base_path=folder_path(__file__),
                               namespace=file_namespace(__file__), glob=globals())
{include}

@experiment.hook("prepare", replace=True)
def prepare(e):
    return "child"

@experiment.hook("order", replace=False)
def order_child(e, trace):
    trace.append("child")
    return trace

experiment.run_if_main()
'''


class Extend(Workspace):
    def setUp(self):
        super().setUp()
        self.write("base.py", BASE)
        self.write("mixin.py", MIXIN)

    def child(self, include="", name="child.py"):
        self.write(name, CHILD.replace("{include}", include))

    def test_child_overrides_parameters_and_hooks_and_records_its_own_namespace(self):
        self.child()
        result = self.xrun("run", "child.py", "--EPOCHS", "4")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/child")
        self.assertEqual(self.data(run), {
            "values": {"lr": 0.01, "epochs": 4, "value": 30, "global_lr": 0.01},
            "prepared": "child", "order": ["base", "child"]})
        meta = self.meta(run)
        self.assertEqual((meta["name"], meta["namespace"]), ("child", "results/child"))
        self.assertEqual(meta["base_path"], str(self.dir))
        self.assertEqual(meta["description"], "The child experiment.")
        parameters = meta["parameters"]
        self.assertEqual(parameters["LR"]["source"], "default")
        self.assertEqual(parameters["LR"]["source_file"], str(self.dir / "child.py"))
        self.assertEqual(parameters["LR"]["description"], "Learning rate.")
        self.assertEqual(parameters["EPOCHS"]["source"], "cli")
        self.assertEqual(parameters["VALUE"]["source"], "default")
        self.assertEqual(parameters["VALUE"]["value"], 30)
        self.assertEqual(parameters["VALUE"]["type"], "int")
        self.assertEqual([d["copy"] for d in meta["dependencies"]], ["base.py"])
        self.assertEqual((run / "base.py").read_text(), (self.dir / "base.py").read_text())
        self.assertEqual(self.runs("results/base"), [])

    def test_diff_shows_a_change_in_the_base_the_runs_were_built_on(self):
        self.child()
        self.assertEqual(self.xrun("run", "child.py").returncode, 0)
        base = (self.dir / "base.py").read_text()
        self.write("base.py", base + "\n# tuned later\n")
        self.assertEqual(self.xrun("run", "child.py").returncode, 0)
        first, second = self.runs("results/child")
        out = self.xrun("archive", "diff", first.name, second.name).stdout
        self.assertRegex(out, r"\ncode\n  base\.py\n(    [-+] .*\n)*    \+ +\d+: # tuned later\n")
        self.assertNotIn("experiment_code.py", out)  # the child itself did not change

    def test_a_parameter_only_the_base_defines_comes_from_the_base(self):
        self.child()
        self.xrun("run", "child.py")
        parameters = self.meta(self.only_run("results/child"))["parameters"]
        self.assertEqual(parameters["EPOCHS"]["source"], "base")
        self.assertEqual(parameters["EPOCHS"]["source_file"], str(self.dir / "base.py"))

    def test_three_levels(self):
        self.child()
        self.write("grandchild.py", textwrap.dedent('''
            from xrun import Experiment, INHERIT, file_namespace, folder_path
            EPOCHS: int = 7
            LR = INHERIT(lambda v: v / 10)
            experiment = Experiment.extend("child.py", base_path=folder_path(__file__),
                                           namespace=file_namespace(__file__), glob=globals())

            @experiment.hook("order", replace=False)
            def order_grandchild(e, trace):
                trace.append("grandchild")
                return trace

            experiment.run_if_main()
            '''))
        result = self.xrun("run", "grandchild.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/grandchild")
        data = self.data(run)
        self.assertEqual(data["values"]["epochs"], 7)
        self.assertAlmostEqual(data["values"]["lr"], 0.001)
        self.assertEqual(data["order"], ["base", "child", "grandchild"])
        self.assertEqual([d["copy"] for d in self.meta(run)["dependencies"]],
                         ["base.py", "child.py"])

    def test_a_middle_module_may_set_parameters_after_its_extend_call(self):
        self.write("middle.py", textwrap.dedent('''
            from xrun import Experiment, file_namespace, folder_path
            experiment = Experiment.extend("base.py", base_path=folder_path(__file__),
                                           namespace=file_namespace(__file__), glob=globals())
            EPOCHS: int = 9
            experiment.run_if_main()
            '''))
        self.write("top.py", textwrap.dedent('''
            from xrun import Experiment, file_namespace, folder_path
            experiment = Experiment.extend("middle.py", base_path=folder_path(__file__),
                                           namespace=file_namespace(__file__), glob=globals())
            experiment.run_if_main()
            '''))
        result = self.xrun("run", "top.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.data(self.only_run("results/top"))["values"]["epochs"], 9)

    def test_the_base_alone_still_runs_as_itself(self):
        result = self.xrun("run", "base.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.data(self.only_run("results/base"))["prepared"], "base")

    def test_the_archived_child_reloads_with_its_base_copy(self):
        self.child()
        self.assertEqual(self.xrun("run", "child.py").returncode, 0)
        run = self.only_run("results/child")
        (self.dir / "base.py").unlink()  # the archive must not need the original
        env = self.env(PYTHONPATH=self.xrun("python-path").stdout.strip())
        script = ("from xrun import Experiment; import sys\n"
                  "e = Experiment.load(sys.argv[1])\n"
                  "print(e.LR, e.VALUE, e['prepared'], [f.__name__ for f in e.hooks['order']])")
        loaded = subprocess.run(["/usr/bin/python3", "-c", script, str(run)], cwd="/",
                                capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(loaded.returncode, 0, loaded.stderr)
        self.assertEqual(loaded.stdout.split("\n")[0],
                         "0.01 30 child ['order_base', 'order_child']")

    def test_missing_base_is_a_usage_error_naming_both_places(self):
        self.write("orphan.py", CHILD.replace('"base.py"', '"nope.py"').replace("{include}", ""))
        result = self.xrun("run", "orphan.py")
        self.assertUsageError(result, "orphan.py: the base experiment 'nope.py' does not exist")
        self.assertNoRunFolder()

    def test_a_base_that_raises_while_imported_is_named_with_its_line(self):
        self.write("base.py", "LR = 0.1\n\nraise ValueError('broken base')\n")
        self.child()
        result = self.xrun("run", "child.py")
        lines = CHILD.split("\n")
        line = next(index for index, text in enumerate(lines) if "Experiment.extend(" in text)
        self.assertUsageError(result, f"cannot load child.py:{line + 1}: ValueError: broken base "
                                      f"(raised at {self.dir / 'base.py'}:3)")
        self.write("c.yml", "extend: child.py\n")  # the same through a config
        self.assertUsageError(self.xrun("run", "c.yml"), "ValueError: broken base (raised at ")
        self.assertNoRunFolder()

    def test_inherit_without_a_base_is_a_usage_error(self):
        self.write("lonely.py", textwrap.dedent('''
            from xrun import Experiment, INHERIT, file_namespace, folder_path
            VALUE = INHERIT
            @Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__),
                        glob=globals())
            def main(e):
                pass
            main.run_if_main()
            '''))
        self.assertUsageError(self.xrun("run", "lonely.py"), "VALUE = INHERIT needs a base")
        self.assertNoRunFolder()

    def test_a_hook_that_raises_fails_the_run(self):
        self.write("bad.py", CHILD.replace('    return "child"', '    raise KeyError("hook")')
                   .replace("{include}", ""))
        result = self.xrun("run", "bad.py")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(self.meta(self.only_run("results/bad"))["error_type"], "KeyError")


class Mixins(Extend):
    def check_mixin_run(self, run):
        data = self.data(run)
        self.assertEqual(data["order"], ["base", "mixin", "child"])
        self.assertEqual(data["values"]["lr"], 0.01)  # the experiment's own value wins
        meta = self.meta(run)
        self.assertEqual(meta["parameters"]["LOG_EVERY"]["value"], 5)
        self.assertEqual(meta["parameters"]["LOG_EVERY"]["description"],
                         "Log every this many steps.")
        self.assertIn("mixin.py", [d["copy"] for d in meta["dependencies"]])
        self.assertEqual((run / "mixin.py").read_text(), (self.dir / "mixin.py").read_text())

    def test_include_in_python(self):
        self.child('experiment.include("mixin.py")')
        result = self.xrun("run", "child.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.check_mixin_run(self.only_run("results/child"))

    def test_include_parameter_on_the_command_line(self):
        self.child()
        result = self.xrun("run", "child.py", "--__INCLUDE__", "mixin.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.check_mixin_run(self.only_run("results/child"))

    def test_include_parameter_as_a_list_and_comma_separated(self):
        self.write("other.py", "from xrun import ExperimentMixin\nOTHER: int = 1\n"
                   "mixin = ExperimentMixin(glob=globals())\n")
        self.child()
        for value in ['["mixin.py", "other.py"]', "mixin.py, other.py"]:
            with self.subTest(value=value):
                result = self.xrun("run", "child.py", "--__INCLUDE__", value)
                self.assertEqual(result.returncode, 0, result.stderr)
                run = self.runs("results/child")[-1]
                self.check_mixin_run(run)
                self.assertEqual(self.meta(run)["parameters"]["OTHER"]["value"], 1)

    def test_include_parameter_in_the_module(self):
        self.child('__INCLUDE__ = "mixin.py"')
        # Declared after extend(): still picked up, as the run resolves its includes.
        source = (self.dir / "child.py").read_text()
        self.write("child.py", source)
        result = self.xrun("run", "child.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.check_mixin_run(self.only_run("results/child"))

    def test_a_mixin_parameter_given_with_the_include_on_the_command_line(self):
        self.write("reader.py", MIXIN + "\n@mixin.hook('after_run', replace=False)\n"
                   "def seen(e):\n    e['seen'] = LOG_EVERY\n")
        self.child()
        result = self.xrun("run", "child.py", "--__INCLUDE__", "reader.py", "--LOG_EVERY", "3")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/child")
        self.assertEqual(self.meta(run)["parameters"]["LOG_EVERY"]["value"], 3)
        self.assertEqual(self.data(run)["seen"], 3)  # the mixin's global follows the value

    def test_a_file_that_is_not_a_mixin(self):
        self.child()
        self.assertUsageError(self.xrun("run", "child.py", "--__INCLUDE__", "base.py"),
                              "is not a mixin")
        self.assertUsageError(self.xrun("run", "child.py", "--__INCLUDE__", "gone.py"),
                              "the mixin 'gone.py' does not exist")
        self.assertNoRunFolder()


if __name__ == "__main__":
    unittest.main()
