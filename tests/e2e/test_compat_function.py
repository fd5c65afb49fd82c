"""The compatibility modules of function runs, on the built xrun from plain python3:
batchpy's quickstart (function_compat_examples/bp_quickstart.py, as its document has it with
only the import line changed) on xrun.compat.batchpy, its results read again without the run
class, and digitalhub's python runtime examples (dh_main.py: the document's functions, with
the import of `handler` changed; dh_run.py: its run form) on xrun.compat.digitalhub."""

import json
import re
import shutil
import subprocess
import textwrap
import unittest
from pathlib import Path

from support import Workspace

PYTHON = "/usr/bin/python3"
EXAMPLES = Path(__file__).resolve().parent / "function_compat_examples"


def importable(module: str) -> bool:
    return subprocess.run([PYTHON, "-c", f"import {module}"], capture_output=True).returncode == 0


needs_numpy = unittest.skipUnless(importable("numpy"), "numpy is not importable by python3")
needs_pandas = unittest.skipUnless(importable("pandas"), "pandas is not importable by python3")


class Compat(Workspace):
    def setUp(self):
        super().setUp()
        self.package = self.python_package()
        for example in EXAMPLES.glob("*.py"):
            shutil.copy(example, self.dir / example.name)

    def python(self, script: str, expect_ok: bool = True):
        result = subprocess.run([PYTHON, script], cwd=self.dir, capture_output=True, text=True,
                                timeout=180, env=self.env(PYTHONPATH=self.package))
        if expect_ok:
            self.assertEqual(result.returncode, 0, result.stderr)
        return result


@needs_numpy
class Batchpy(Compat):
    def test_the_quickstart_runs_each_computation_once(self):
        out = self.python("bp_quickstart.py").stdout
        # run() prints its parameters: the 61 rows, then the one added before the second call.
        computed = re.findall(r"^\{'A': .*'operator': <built-in function (\w+)>\}$", out, re.M)
        self.assertEqual(len(computed), 1 + 62)  # print(batch.run[0].parameters) is one
        self.assertIn("{'A': 8, 'B': [1, 2, 3], 'operator': <built-in function min>}", out)
        lines = out.splitlines()
        self.assertRegex(lines[1], r"^[0-9a-f]{40}$")  # run[0].id
        self.assertEqual(lines[2:7], ["0", "False", "None", "None", "None"])
        self.assertIn("{'val': 80}", lines)  # run[0].result: 10 * max([3, 2, 4, 3, 8])
        self.assertIn("[2, 4, 6]", lines)  # A <= 3, B=[2, 5, 8], operator=min
        self.assertIn("[" + ", ".join(["True"] * 61 + ["False"]) + "]", lines)
        runs = self.runs("_res/example")
        self.assertEqual(len(runs), 62)
        ids = set()
        for run in runs:
            meta = self.meta(run)
            self.assertEqual(meta["status"], "done")
            ids.add(meta["sweep"]["key"])
            self.assertEqual(meta["function"]["name"], "example_run")
        self.assertEqual(len(ids), 62)
        saved = subprocess.run([PYTHON, "-c", "import numpy, json; print(json.dumps("
                                "numpy.load('_res/example_ids.npy').tolist()))"],
                               cwd=self.dir, capture_output=True, text=True, check=True)
        self.assertEqual(set(json.loads(saved.stdout)), ids)

        # The whole quickstart again: every computation is on record, none runs.
        out = self.python("bp_quickstart.py").stdout
        self.assertEqual(len(re.findall(r"^\{'A': ", out, re.M)), 1)
        self.assertEqual(len(self.runs("_res/example")), 62)

    def test_result_runs_need_neither_the_class_nor_its_code(self):
        self.python("bp_quickstart.py")
        self.write("plot.py", textwrap.dedent("""\
            import json
            import numpy as np
            import xrun.compat.batchpy as batchpy

            batch = batchpy.Batch("example")
            batch.add_resultrun(np.load("_res/example_ids.npy"))
            print(json.dumps([run.result["val"] for run in batch.run[:3]]))
            print(json.dumps([run.index for run in batch.get_runs_with(A=10)]))
            try:
                batch.add_resultrun(["0" * 40])
            except batchpy.UsageError as error:
                print(error)
            """))
        (self.dir / "bp_quickstart.py").unlink()
        lines = self.python("plot.py").stdout.splitlines()
        self.assertEqual(json.loads(lines[0]), [80, 2, 8])  # 10*max, 1*min, 1*max of [2,5,8]
        self.assertEqual(json.loads(lines[1]), [0])
        self.assertEqual(lines[2], f"batch example: no done run with id {'0' * 40} in "
                                   f"{self.dir / '_res' / 'example'}")

    def test_ids_by_generate_id_and_results_in_memory_without_saveresult(self):
        self.write("custom.py", textwrap.dedent("""\
            import json
            import xrun.compat.batchpy as batchpy

            class Square(batchpy.Run):
                def run(self, x=1):
                    open("calls.txt", "a").write(f"{x}\\n")
                    return {"y": x * x}

                def generate_id(self, parameters):
                    return f"square-{parameters['x']}"

            batch = batchpy.Batch("squares")
            batch.add_factorial_runs(Square, {"x": [1, 2, 3]})
            batch.add_run(Square, {"x": 2})
            batch()
            print(json.dumps([[run.id, run.result, run.done] for run in batch.run]))
            memory = batchpy.Batch("memory", saveresult=False)
            memory.add_run(Square, {"x": 5})
            memory()
            print(json.dumps([memory.run[0].result, memory.run[0].done]))
            """))
        lines = self.python("custom.py").stdout.splitlines()
        self.assertEqual(json.loads(lines[-2]), [["square-1", {"y": 1}, True],
                                                 ["square-2", {"y": 4}, True],
                                                 ["square-3", {"y": 9}, True],
                                                 ["square-2", {"y": 4}, True]])
        self.assertEqual(json.loads(lines[-1]), [{"y": 25}, True])
        self.assertEqual((self.dir / "calls.txt").read_text().split(), ["1", "2", "3", "5"])
        self.assertEqual(len(self.runs("_res/squares")), 3)
        self.assertFalse((self.dir / "_res" / "memory").exists())

    def test_a_row_of_something_else_than_a_run_class_is_refused(self):
        self.write("bad.py", "import xrun.compat.batchpy as batchpy\n"
                             "def f(a=1):\n    return {'a': a}\n"
                             "batchpy.Batch('b').add_run(f, {'a': 2})\n")
        result = self.python("bad.py", expect_ok=False)
        self.assertIn("batch b: runs are made of a batchpy.Run subclass", result.stderr)
        self.assertFalse((self.dir / "_res").exists())


@needs_pandas
class Digitalhub(Compat):
    def setUp(self):
        super().setUp()
        self.write("data.csv", "a,b\n1,2\n3,4\n")

    def test_the_examples_run_here_as_xrun_runs(self):
        lines = self.python("dh_run.py").stdout.splitlines()
        self.assertEqual(lines[0], "func2 COMPLETED hello world {'result': 'hello world'}")
        self.assertEqual(lines[1], "func1 {'return': 'hello world'}")
        _, logger_run, artifact = lines[2].split()
        self.assertEqual(Path(artifact).read_text(), "a,b\n1,2\n3,4\n")
        self.assertEqual(lines[3], "func5 {'rows': 2, 'param1': 'some value'}")
        self.assertRegex(lines[4], r"^func run:\S+/outputs/data \['data'\] some value$")
        self.assertEqual(lines[5], "chained [[4, 8], [12, 16]]")
        listing = self.xrun("archive", "list", "--path", "results", "--json")
        names = sorted(run["path"].split("/")[-3] + "/" + run["path"].split("/")[-2]
                       for run in json.loads(listing.stdout))
        self.assertEqual(names, ["my-project/doubler"] * 2 + [
            "my-project/logger", "my-project/plain", "my-project/python-function",
            "my-project/reader"])
        logger = self.dir / "results" / "my-project" / "logger" / logger_run
        self.assertEqual(json.loads((logger / "artifacts.json").read_text())
                         ["artifacts"][0]["name"], "example")
        reader = next((self.dir / "results" / "my-project" / "reader").iterdir())
        (data,) = self.meta(reader)["function"]["inputs"]
        self.assertEqual((data["name"], data["ref"], data["artifact"]),
                         ("di", "example:latest", "example:latest"))

    def test_a_bare_handler_names_a_dict_by_its_keys_and_stays_callable(self):
        self.write("bare.py", textwrap.dedent("""\
            from xrun.compat.digitalhub import handler

            @handler
            def stats(n: int = 2):
                return {"double": n * 2, "name": "stats"}
            """))
        self.write("use.py", textwrap.dedent("""\
            import xrun.compat.digitalhub as dh
            from bare import stats
            function = dh.new_function(project="p", name="stats", kind="python",
                                       code_src="bare.py", handler="stats")
            run = function.run(action="job", parameters={"n": 5})
            print(stats(1), run.results(), run.result("double"), run.status.state)
            """))
        self.assertEqual(self.python("use.py").stdout.strip(),
                         "{'double': 2, 'name': 'stats'} {'double': 10, 'name': 'stats'} 10 "
                         "COMPLETED")

    def test_what_needs_the_platform_is_refused_by_name(self):
        cases = {
            'function.run(action="serve")': "action='serve'",
            'function.run(action="build", instructions=["apt-get install -y git"])':
                "action='build'",
            'function.run(action="job", node_selector=[{"a": "b"}], resources={})':
                "the task settings node_selector, resources",
            'project.new_function(name="f4", kind="python", code_src="dh_main.py", '
            'handler="func4").run(action="job")': "func4's arguments context and events",
            'project.new_function(name="f", kind="python", code_src="dh_main.py", '
            'handler="func1", init_function="init")': "function f: init_function",
            'function.run(action="job", local_execution=True).invoke(method="POST")':
                "run.invoke()",
        }
        for line, named in cases.items():
            with self.subTest(line):
                self.write("remote.py", textwrap.dedent(f"""\
                    import xrun.compat.digitalhub as dh
                    project = dh.get_or_create_project("p")
                    function = project.new_function(name="f", kind="python",
                                                    code_src="dh_main.py", handler="func2")
                    {line}
                    """))
                result = self.python("remote.py", expect_ok=False)
                self.assertIn(f"NotImplementedError: {named}", result.stderr)
                self.assertIn("this is the digitalhub platform's; xrun.compat.digitalhub runs "
                              "functions on this machine only", result.stderr)

    def test_bad_functions_and_inputs_are_named(self):
        cases = {
            'project.new_function(name="f", kind="container", code_src="dh_main.py", '
            'handler="func1")': "function f: kind 'container' is not one",
            'project.new_function(name="f", kind="python", code_src="git+https://x/y", '
            'handler="func1")': "code_src is a local .py file",
            'project.new_function(name="f", kind="python", code_src="dh_main.py", '
            'handler="nope").run()': "dh_main.py has no function nope",
            'project.new_function(name="f", kind="python", code_src="dh_main.py", '
            'handler="func5").run(inputs={"di": "missing.csv"}, parameters={"param1": "x"})':
                "input di: missing.csv does not exist",
            'project.log_artifact(name="a", kind="artifact", source_path="data.csv")':
                "log_artifact('a'): artifacts are recorded by the run that makes them",
        }
        for line, message in cases.items():
            with self.subTest(line):
                self.write("bad.py", "import xrun.compat.digitalhub as dh\n"
                                     "project = dh.get_or_create_project('p')\n" + line + "\n")
                result = self.python("bad.py", expect_ok=False)
                self.assertIn(message, result.stderr)
                self.assertFalse((self.dir / "results" / "p").exists())
