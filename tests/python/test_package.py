"""The `xrun` Python package on its own, under plain python3 (without xrun's native module): its
modules import in one direction, only the protocol module talks to the C++ side, and the
conversion of command-line text to declared types."""

import ast
import sys
import typing
import unittest
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "python" / "package"
sys.dont_write_bytecode = True  # the source tree gets no __pycache__
sys.path.insert(0, str(PACKAGE))

from xrun import UsageError  # noqa: E402 - after the path is set
from xrun._params import Parameter, _apply_arguments, _convert  # noqa: E402

# Each module may import only those before it.
LAYERS = ["_common", "_jsonio", "_params", "_loading", "_protocol", "_tracking", "_heartbeat",
          "_standalone", "_plugins", "_compose", "_runner", "_experiment", "_content", "_assets",
          "_sdk", "_results", "_function", "_batch", "_compat_runicorn", "_compat_expman",
          "_compat_batchpy", "_compat_digitalhub", "compat", "_entry"]


def package_imports(path: Path) -> set:
    """The modules of the package that the module at ``path`` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module)
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xrun"):
            found.add(node.module.partition(".")[2] or "__init__")
        elif isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[2] for alias in node.names
                         if alias.name.startswith("xrun."))
    return found


class Layout(unittest.TestCase):
    def test_every_module_is_in_a_layer_and_says_what_it_holds(self):
        modules = sorted(path.stem for path in (PACKAGE / "xrun").glob("*.py"))
        self.assertEqual(modules, sorted(["__init__", *LAYERS]))
        for name in modules:
            tree = ast.parse((PACKAGE / "xrun" / f"{name}.py").read_text(encoding="utf-8"))
            self.assertTrue(ast.get_docstring(tree), f"{name}.py has no docstring")

    def test_modules_import_only_the_layers_below_them(self):
        for index, name in enumerate(LAYERS):
            imported = package_imports(PACKAGE / "xrun" / f"{name}.py")
            self.assertLessEqual(imported, set(LAYERS[:index]), f"{name}.py")
        self.assertNotIn("_entry", package_imports(PACKAGE / "xrun" / "__init__.py"))

    def test_only_the_protocol_module_exchanges_messages(self):
        for path in (PACKAGE / "xrun").glob("*.py"):
            if path.stem == "_protocol":
                continue
            text = path.read_text(encoding="utf-8")
            for call in ("_xrun.request", "_xrun.notify", "_xrun.invocation"):
                self.assertNotIn(call, text, path.name)

    def test_the_public_classes_are_xruns(self):
        import xrun

        for name in xrun.__all__:
            value = getattr(xrun, name)
            if isinstance(value, type):
                self.assertEqual(value.__module__, "xrun", name)


class Conversion(unittest.TestCase):
    def test_text_becomes_the_declared_type(self):
        self.assertEqual(_convert("3", int, 0), 3)
        self.assertEqual(_convert("0.5", float, 0.0), 0.5)
        self.assertIs(_convert("yes", bool, False), True)
        self.assertEqual(_convert("[1, 2]", list[int], []), [1, 2])
        self.assertEqual(_convert("(1, 'a')", tuple[int, str], ()), (1, "a"))
        self.assertIsNone(_convert("none", typing.Optional[int], 1))
        self.assertEqual(_convert("abc", None, "x"), "abc")
        self.assertEqual(_convert("cnn", typing.Literal["mlp", "cnn"], "mlp"), "cnn")

    def test_text_that_does_not_fit_is_refused(self):
        for text, tp in [("x", int), ("maybe", bool), ("[1, 'a']", list[int]),
                         ("__import__('os')", list), ("1e999", float)]:
            with self.assertRaises(ValueError, msg=text):
                _convert(text, tp, None)

    def test_arguments_set_values_and_name_the_parameter_when_wrong(self):
        parameters = {"LR": Parameter("LR", 0.1, float), "DEBUG": Parameter("DEBUG", False)}
        _apply_arguments(parameters, ["--LR=0.5", "--DEBUG"], "exp.py")
        self.assertEqual((parameters["LR"].value, parameters["LR"].source), (0.5, "cli"))
        self.assertIs(parameters["DEBUG"].value, True)
        with self.assertRaisesRegex(UsageError, "exp.py has no parameter lr; did you mean --LR"):
            _apply_arguments(parameters, ["--lr", "1"], "exp.py")
        with self.assertRaisesRegex(UsageError, r"parameter LR \(float\) cannot be 'x'"):
            _apply_arguments(parameters, ["--LR", "x"], "exp.py")


if __name__ == "__main__":
    unittest.main()
