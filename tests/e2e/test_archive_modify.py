"""`xrun archive modify`: parameter values and meta fields of recorded runs."""

import json
import unittest

from support import Workspace, experiment_source


class ArchiveModify(Workspace):
    def setUp(self):
        super().setUp()
        self.write("exp.py", experiment_source(
            'from typing import Literal, Optional\n\nLR: float = 0.1\nEPOCHS: int = 3\n'
            'MODEL: str = "mlp"\nDROPOUT: Optional[float] = None\nWD: float | None = None\n'
            'KIND: Literal["a", "b"] = "a"\n',
            'e["acc"] = 1 - e.LR'))
        for lr in ("0.1", "0.5"):
            result = self.xrun("run", "exp.py", "--LR", lr)
            self.assertEqual(result.returncode, 0, result.stderr)
        self.first, self.second = self.runs("results/exp")
        self.before = [(run / "experiment_meta.json").read_text()
                       for run in self.runs("results/exp")]

    def assertUnchanged(self):
        self.assertEqual([(run / "experiment_meta.json").read_text()
                          for run in self.runs("results/exp")], self.before)

    def test_sets_parameters_and_fields_and_records_the_change(self):
        result = self.xrun("archive", "modify", "--where", "LR < 0.3", "--set", "LR=0.25",
                           "--set", "EPOCHS=7", "--set", "MODEL=123", "--set", "DROPOUT=0.5",
                           "--set", "meta.description=after the fix", "--set", "meta.note=ok")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('LR: 0.1 -> 0.25', result.stdout)
        self.assertIn('MODEL: "mlp" -> "123"', result.stdout)
        self.assertIn("changed 1 run", result.stdout)
        meta = self.meta(self.first)
        self.assertEqual(meta["parameters"]["LR"]["value"], 0.25)
        self.assertEqual(meta["parameters"]["EPOCHS"]["value"], 7)
        self.assertEqual(meta["parameters"]["MODEL"]["value"], "123")  # str stays a string
        self.assertEqual(meta["parameters"]["DROPOUT"]["value"], 0.5)
        self.assertEqual(meta["description"], "after the fix")
        self.assertEqual(meta["note"], "ok")
        record = meta["modifications"][-1]
        self.assertEqual(record["changes"]["LR"], {"from": 0.1, "to": 0.25})
        self.assertEqual(record["changes"]["meta.note"], {"from": None, "to": "ok"})
        self.assertEqual(self.meta(self.second)["parameters"]["LR"]["value"], 0.5)
        listing = self.xrun("archive", "list", "--where", "LR == 0.25", "--columns", "EPOCHS")
        self.assertEqual(listing.stdout.splitlines()[1].split()[-1], "7")
        # The run's status, times and the rest of the record are untouched.
        self.assertEqual(meta["status"], "done")
        # A second change is added to the record, and setting the same value changes nothing.
        self.xrun("archive", "modify", "--all", "--set", "meta.status=failed")
        self.assertEqual(len(self.meta(self.first)["modifications"]), 2)
        result = self.xrun("archive", "modify", "--all", "--set", "meta.status=failed")
        self.assertIn("changed 0 runs", result.stdout)

    def test_dry_run_writes_nothing(self):
        result = self.xrun("archive", "modify", "--all", "--set", "LR=0.2", "--dry-run")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.count("LR: "), 2)
        self.assertIn("would change 2 runs (dry run: nothing was written)", result.stdout)
        self.assertUnchanged()

    def test_bad_assignments_change_nothing(self):
        cases = [
            (["--set", "EPOCHS=abc"], "does not fit the type int of parameter EPOCHS"),
            (["--set", "LR=inf"], "does not fit the type float"),
            (["--set", "LR=nan"], "does not fit the type float"),
            (["--set", "WD=abc"], "of parameter WD"),
            (["--set", "DROPOUT=abc"], "of parameter DROPOUT"),
            (["--set", "LR=0.2", "--set", "MODEL_X=1"], "has no parameter MODEL_X"),
            (["--set", "meta.start_time=3"], "meta.start_time records what happened"),
            (["--set", "meta.error_type=None"], "meta.error_type records what happened"),
            (["--set", "meta.sweep=1"], "meta.sweep records what happened"),
            (["--set", "meta.reproduces=1"], "meta.reproduces records what happened"),
            (["--set", "meta.status=running"], "'running' is not a run status"),
            (["--set", "LR"], "--set 'LR' is not NAME=VALUE"),
            (["--set", "data.acc=1"], "'data.acc' is not a parameter or meta field name"),
            ([], "modify needs at least one --set"),
            (["--add-tag", "a,b"], "--add-tag 'a,b': a tag has no commas"),
            (["--add-tag", ""], "--add-tag '': a tag cannot be empty"),
            (["--set", "meta.tags=[1]"], "--set 'meta.tags=[1]': a tag is a string, not 1"),
            (["--set", "meta.tags=ok, x" + "y" * 70], "a tag has at most 64 characters"),
            (["--set", "meta.note=\a"], "a note has no control characters"),
            (["--set", "meta.description=" + "[" * 5000 + "]" * 5000],
             "the value nests deeper than 100 levels"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                self.assertUsageError(self.xrun("archive", "modify", "--all", *args), message)
        self.assertUsageError(self.xrun("archive", "modify", "--set", "LR=1"),
                              "modify needs runs (ids or folders), --where EXPR or --all")
        self.assertUsageError(self.xrun("archive", "modify", "--where", "LR > 9", "--set",
                                        "LR=1"), "no runs match")
        self.assertUnchanged()

    def test_tags_and_note_of_runs_named_by_id(self):
        result = self.xrun("archive", "modify", self.first.name[-10:], "--add-tag", "baseline",
                           "--add-tag", "fixed", "--add-tag", "baseline")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn('meta.tags: null -> ["baseline","fixed"]', result.stdout)
        self.assertNotIn("tags", self.meta(self.second))
        record = self.meta(self.first)["modifications"][-1]
        self.assertEqual(record["changes"]["meta.tags"], {"from": None, "to": ["baseline", "fixed"]})
        result = self.xrun("archive", "modify", "--all", "--remove-tag", "fixed", "--add-tag", "v2")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.meta(self.first)["tags"], ["baseline", "v2"])
        self.assertEqual(self.meta(self.second)["tags"], ["v2"])
        found = self.xrun("archive", "list", "--where", 'tags == ["baseline", "v2"]').stdout
        self.assertEqual(len(found.splitlines()), 2)
        self.assertIn(self.first.name, found)
        # --set replaces the list (JSON, or tags separated by commas); empty takes it away.
        self.xrun("archive", "modify", self.second, "--set", "meta.tags=a, b",
                  "--set", "meta.note=checked by hand")
        self.assertEqual(self.meta(self.second)["tags"], ["a", "b"])
        self.assertEqual(self.meta(self.second)["note"], "checked by hand")
        shown = self.xrun("archive", "show", self.second.name).stdout
        self.assertIn("  tags        a, b\n  note        checked by hand\n", shown)
        self.xrun("archive", "modify", self.second, "--set", "meta.tags=", "--set", "meta.note=")
        meta = self.meta(self.second)
        self.assertNotIn("tags", meta)
        self.assertNotIn("note", meta)
        self.assertEqual(meta["modifications"][-1]["changes"]["meta.note"],
                         {"from": "checked by hand", "to": None})
        result = self.xrun("archive", "modify", self.second, "--remove-tag", "nothing")
        self.assertIn("changed 0 runs", result.stdout)
        self.assertUsageError(self.xrun("archive", "modify", self.first.name, "--all",
                                        "--add-tag", "x"), "give runs, or --where EXPR")

    def test_optional_and_unchecked_types(self):
        result = self.xrun("archive", "modify", "--where", "LR < 0.3", "--set", "WD=None",
                           "--set", "DROPOUT=null", "--set", "EPOCHS=4")
        self.assertEqual(result.returncode, 0, result.stderr)
        result = self.xrun("archive", "modify", "--where", "LR < 0.3", "--set", "WD=0.01",
                           "--set", "KIND=c")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("the type of KIND", result.stderr)  # said, not silently trusted
        meta = self.meta(self.first)
        self.assertEqual(meta["parameters"]["WD"]["value"], 0.01)
        self.assertEqual(meta["parameters"]["KIND"]["value"], "c")
        self.assertEqual(meta["parameters"]["EPOCHS"]["value"], 4)

    def test_running_run_is_refused(self):
        meta = self.meta(self.second)
        meta["status"] = "running"
        (self.second / "experiment_meta.json").write_text(json.dumps(meta))
        result = self.xrun("archive", "modify", "--all", "--set", "LR=0.3")
        self.assertUsageError(result, "is recorded as running (its supervisor may be alive or "
                              "lost); nothing was changed")
        self.assertNotIn("modifications", self.meta(self.first))


if __name__ == "__main__":
    unittest.main()
