"""The pure parts of batches under plain python3: get_runs_with's conditions, which values a
sweep row can hold for `xrun sweep resume`, and batchpy's ids."""

import sys
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.dont_write_bytecode = True  # the source tree gets no __pycache__
sys.path.insert(0, str(ROOT / "src" / "python" / "package"))

from xrun._batch import _is_literal, _meets, _shown_value  # noqa: E402 - after the path is set
from xrun._compat_batchpy import Run  # noqa: E402


class Conditions(unittest.TestCase):
    def test_each_suffix(self):
        row = {"lr": 0.1, "layers": [2, 5, 8], "name": "a"}
        self.assertTrue(_meets(row, "lr", "", 0.1))
        self.assertTrue(_meets(row, "lr", "eq", 0.1))
        self.assertTrue(_meets(row, "lr", "ne", 0.2))
        self.assertTrue(_meets(row, "lr", "lt", 0.2))
        self.assertTrue(_meets(row, "lr", "le", 0.1))
        self.assertFalse(_meets(row, "lr", "gt", 0.1))
        self.assertTrue(_meets(row, "lr", "ge", 0.1))
        self.assertTrue(_meets(row, "lr", "in", [0.3, 0.1]))

    def test_a_list_is_membership_unless_the_value_is_a_list(self):
        row = {"lr": 0.1, "layers": [2, 5, 8]}
        self.assertTrue(_meets(row, "lr", "", [0.1, 0.2]))
        self.assertTrue(_meets(row, "layers", "", [2, 5, 8]))
        self.assertFalse(_meets(row, "layers", "", [2, 5]))
        self.assertTrue(_meets(row, "layers", "in", [[2, 5, 8], [1]]))

    def test_a_missing_or_incomparable_value_does_not_meet(self):
        self.assertFalse(_meets({"lr": 0.1}, "epochs", "", 10))
        self.assertFalse(_meets({"lr": None}, "lr", "lt", 0.5))


class Literals(unittest.TestCase):
    def test_which_values_a_manifest_row_can_hold(self):
        for value in (1, 0.5, "x", None, True, [1, [2]], {"a": [1.5]}, (1, 2)):
            self.assertTrue(_is_literal(value), value)
        for value in (max, float("nan"), float("inf"), {1: 2}, object(), {"a": max}):
            self.assertFalse(_is_literal(value), value)

    def test_a_function_is_shown_by_its_name(self):
        self.assertEqual(_shown_value(max), "max")
        self.assertEqual(_shown_value((1, 2)), [1, 2])


class BatchpyIds(unittest.TestCase):
    def test_the_id_is_a_stable_hash_of_names_and_values(self):
        ident = Run.generate_id(None, {"A": 1, "B": [2, 5, 8], "operator": max})
        self.assertRegex(ident, r"^[0-9a-f]{40}$")
        self.assertEqual(ident, Run.generate_id(None, {"operator": max, "B": [2, 5, 8], "A": 1}))
        self.assertNotEqual(ident, Run.generate_id(None, {"A": 1, "B": [2, 5, 8],
                                                          "operator": min}))
        self.assertNotEqual(Run.generate_id(None, {"A": 1}), Run.generate_id(None, {"A": 1.0}))
        self.assertNotEqual(Run.generate_id(None, {"A": 1}), Run.generate_id(None, {"B": 1}))


if __name__ == "__main__":
    unittest.main()
