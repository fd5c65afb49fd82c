"""What archive commands trust of a run folder: no symbolic link is followed, only regular files
are read, within size and nesting bounds; an index file that is not xrun's is left alone."""

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import tarfile
import time
import unittest

from support import XRUN, Workspace, experiment_source

INDEX = ".xrun-index.sqlite"
SECRET = "SECRET-7f3a9c"

# Every command that reads runs, with what it needs to name a run.
COMMANDS = [
    ("list",), ("list", "--where", "data.token == 1", "--columns", "data.token"),
    ("overview",), ("du",), ("reconcile",), ("show", "{run}"), ("tail", "{run}"),
    ("diff", "{run}", "{other}"), ("compress", "--all", "-o", "all.tar.gz"),
]


class Trust(Workspace):
    def setUp(self):
        super().setUp()
        self.write("exp.py", experiment_source("LR: float = 0.1\n", """
            e.track("loss", 0.5)
            e["metrics/acc"] = 0.75
            print("the end")
            """))
        for lr in ("0.1", "0.2"):
            self.assertEqual(self.xrun("run", "exp.py", "--LR", lr).returncode, 0)
        self.run_folder, self.other = self.runs("results/exp")
        self.secrets = self.dir / "secrets"
        self.secrets.mkdir()
        (self.secrets / "token.json").write_text(json.dumps({"token": SECRET}))
        (self.secrets / "shadow").write_text(f"root:{SECRET}:19000::::::\n")
        for name in ("token.json", "shadow"):
            os.chmod(self.secrets / name, 0o600)

    def replace(self, name, target, run=None):
        """Puts a symbolic link to `target` in the place of the run file `name`."""
        path = (run or self.run_folder) / name
        path.unlink()
        os.symlink(target, path)

    def fifo(self, name, run=None):
        path = (run or self.run_folder) / name
        path.unlink()
        os.mkfifo(path)

    def every_command(self, *, skip=()):
        """Runs each archive command on the archive; none may hang, crash or leak."""
        results = {}
        for command in COMMANDS:
            if command[0] in skip:
                continue
            args = [arg.format(run=self.run_folder.name, other=self.other.name)
                    for arg in command]
            (self.dir / "all.tar.gz").unlink(missing_ok=True)
            # A bound, not a timing: a FIFO or /dev/zero read would never finish.
            result = self.xrun("archive", *args, timeout=60)
            self.assertGreaterEqual(result.returncode, 0, f"{args}: killed by a signal")
            self.assertNotIn(SECRET, result.stdout + result.stderr, args)
            self.assertNotIn("Traceback", result.stderr)
            results.setdefault(command[0], result)
        return results

    def row(self, run):
        rows = json.loads(self.xrun("archive", "list", "--json").stdout)
        return next(row for row in rows if row["path"].endswith(run.name))

    def test_links_in_a_run_folder_are_never_followed(self):
        self.replace("experiment_data.json", self.secrets / "token.json")
        self.replace("experiment_out.log", self.secrets / "shadow")
        self.replace("experiment_code.py", self.secrets / "shadow")
        self.replace(".track/loss.csv", self.secrets / "shadow")
        results = self.every_command()
        row = self.row(self.run_folder)
        self.assertEqual(row["status"], "corrupt")
        self.assertIn("experiment_data.json is a symbolic link, which archive commands never "
                      "follow", row["problem"])
        self.assertIn("experiment_data.json is a symbolic link", results["list"].stderr)
        self.assertNotIn(SECRET.encode(), (self.dir / "results" / INDEX).read_bytes())
        self.assertIn("corrupt", results["show"].stdout.splitlines()[0])
        self.assertIn("(experiment_data.json is a symbolic link", results["show"].stdout)
        self.assertIn("loss  (", results["show"].stdout)
        self.assertIn("experiment_out.log (symbolic link)", results["show"].stdout)
        self.assertUsageError(results["tail"], "experiment_out.log is a symbolic link")
        self.assertIn("experiment_code.py: in - it is a symbolic link", results["diff"].stdout)
        self.assertIn("is a symbolic link", results["diff"].stderr)
        # compress keeps a link as a link: what it points to is not packed.
        self.xrun("archive", "compress", "--all", "-o", "all.tar.gz")
        with tarfile.open(self.dir / "all.tar.gz") as packed:
            links = {member.name.rsplit("/", 1)[-1]: member for member in packed
                     if member.issym()}
            self.assertEqual(sorted(links), ["experiment_code.py", "experiment_data.json",
                                             "experiment_out.log", "loss.csv"])
            for member in packed:
                if member.isfile():
                    self.assertNotIn(SECRET.encode(), packed.extractfile(member).read())

    def test_a_link_that_stays_inside_the_run_folder_is_not_followed_either(self):
        shutil.copy(self.run_folder / "experiment_data.json", self.run_folder / "copy.json")
        self.replace("experiment_data.json", "copy.json")
        row = self.row(self.run_folder)
        self.assertEqual(row["status"], "corrupt")
        self.assertIn("experiment_data.json is a symbolic link", row["problem"])
        # Mended, the run is itself again.
        (self.run_folder / "experiment_data.json").unlink()
        shutil.copy(self.run_folder / "copy.json", self.run_folder / "experiment_data.json")
        self.assertEqual(self.row(self.run_folder)["status"], "done")

    def test_a_meta_that_is_a_link_or_not_a_file_makes_a_corrupt_run(self):
        made = {}
        for name, make in [
            ("linked", lambda meta: os.symlink(self.other / "experiment_meta.json", meta)),
            ("dangling", lambda meta: os.symlink(self.dir / "gone.json", meta)),
            ("fifo", os.mkfifo),
            ("zero", lambda meta: os.symlink("/dev/zero", meta)),
            ("folder", os.mkdir),
        ]:
            folder = self.dir / "results" / "exp" / name
            folder.mkdir()
            make(folder / "experiment_meta.json")
            made[name] = folder
        results = self.every_command()
        rows = {row["path"].rsplit("/", 1)[1]: row
                for row in json.loads(self.xrun("archive", "list", "--json").stdout)}
        for name in made:
            self.assertEqual(rows[name]["status"], "corrupt", name)
        self.assertIn("linked/experiment_meta.json is a symbolic link", rows["linked"]["problem"])
        self.assertIn("dangling/experiment_meta.json is a symbolic link",
                      rows["dangling"]["problem"])
        self.assertIn("fifo/experiment_meta.json is a FIFO, not a regular file",
                      rows["fifo"]["problem"])
        self.assertIn("zero/experiment_meta.json is a symbolic link", rows["zero"]["problem"])
        self.assertIn("folder/experiment_meta.json is a folder", rows["folder"]["problem"])
        self.assertIn("5 corrupt", results["overview"].stdout)
        for name in made:
            result = self.xrun("archive", "show", str(made[name]), timeout=60)
            self.assertUsageError(result, f"{name}/experiment_meta.json is")
            self.assertUsageError(self.xrun("reproduce", str(made[name]), "--dry-run",
                                            timeout=60), f"{name}/experiment_meta.json is")

    def test_fifos_and_endless_files_as_data_or_log_are_not_read(self):
        self.fifo("experiment_data.json")
        self.fifo("experiment_out.log")
        self.fifo("experiment_data.json", self.other)
        self.replace("experiment_out.log", "/dev/zero", self.other)
        results = self.every_command()
        self.assertEqual(self.row(self.run_folder)["status"], "corrupt")
        self.assertIn("experiment_data.json is a FIFO, not a regular file",
                      self.row(self.run_folder)["problem"])
        self.assertUsageError(results["tail"], "experiment_out.log is a FIFO, not a regular file")
        for follow in ([], ["-f"]):
            self.assertUsageError(self.xrun("archive", "tail", *follow, self.other.name,
                                            timeout=60), "experiment_out.log is a symbolic link")
        # An endless data file behind a link is not read either: the run is corrupt.
        self.replace("experiment_data.json", "/dev/zero", self.other)
        for args in (["--where", "data.metrics.acc > 0"], []):
            result = self.xrun("archive", "list", *args, timeout=60)
            self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"{self.other.name}/experiment_data.json is a symbolic link", result.stderr)

    def test_reproduce_runs_only_the_runs_own_files(self):
        (self.secrets / "evil.py").write_text(f'print("{SECRET}")\n')
        self.replace("experiment_code.py", self.secrets / "evil.py")
        result = self.xrun("reproduce", self.run_folder.name, timeout=60)
        self.assertUsageError(result, "experiment_code.py is a symbolic link")
        self.assertNotIn(SECRET, result.stdout + result.stderr)
        os.mkfifo(self.other / "experiment_config.yml")  # would block a reader
        result = self.xrun("reproduce", self.other.name, "--dry-run", timeout=60)
        self.assertUsageError(result, "experiment_config.yml is a FIFO, not a regular file")
        self.assertEqual(len(self.runs("results/exp")), 2)  # nothing ran

    def test_json_nested_beyond_any_need_makes_a_corrupt_run_not_a_crash(self):
        deep = "[" * 100000 + "]" * 100000
        (self.run_folder / "experiment_meta.json").write_text(
            '{"status": "done", "x": ' + deep + "}")
        results = self.every_command(skip=("show", "tail", "diff"))
        row = self.row(self.run_folder)
        self.assertEqual(row["status"], "corrupt")
        self.assertIn("corrupt run metadata (nested deeper than 1000 levels)", row["problem"])
        for command in (["show", self.run_folder.name], ["tail", self.run_folder.name],
                        ["diff", self.run_folder.name, self.other.name]):
            result = self.xrun("archive", *command)
            self.assertGreaterEqual(result.returncode, 0, command)
        self.assertUsageError(self.xrun("archive", "show", str(self.run_folder)),
                              "nested deeper than 1000 levels")
        self.assertUsageError(self.xrun("reproduce", str(self.run_folder), "--dry-run"),
                              "nested deeper than 1000 levels")
        self.assertIn("1 corrupt", results["overview"].stdout)

    def test_deep_data_is_left_out_with_a_word_not_a_crash(self):
        # Small enough for the index (20,000 levels), and too large for it (100,000).
        for folder, levels in [(self.run_folder, 20000), (self.other, 100000)]:
            (folder / "experiment_data.json").write_text(
                '{"metrics": {"acc": 0.75}, "x": ' + "[" * levels + "]" * levels + "}")
        for where in ("data.metrics.acc > 0", "data.x == 1", "data.x.y == 1"):
            result = self.xrun("archive", "list", "--where", where, "--columns", "data.x")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("experiment_data.json is nested deeper than 1000 levels; its data "
                          "values are left out", result.stderr)
        show = self.xrun("archive", "show", self.run_folder.name)
        self.assertEqual(show.returncode, 0, show.stderr)
        self.assertIn("data\n  (experiment_data.json is nested deeper than 1000 levels)", show.stdout)
        diff = self.xrun("archive", "diff", self.run_folder.name, self.other.name)
        self.assertEqual(diff.returncode, 0, diff.stderr)
        self.assertIn("nested deeper than 1000 levels", diff.stderr)

    def test_deep_json_in_the_index_is_not_a_crash(self):
        past = time.time() - 3600  # settled files: the rows below are trusted as they are
        for path in (self.dir / "results").rglob("*"):
            os.utime(path, (past, past), follow_symlinks=False)
        self.assertEqual(self.xrun("archive", "index").returncode, 0)
        deep = "[" * 100000 + "]" * 100000
        with sqlite3.connect(self.dir / "results" / INDEX) as db:
            db.execute("UPDATE entries SET parameters = ?, data = ?",
                       ('{"LR": ' + deep + "}", '{"acc": ' + deep + "}"))
        for args in (["--where", "LR == 1"], ["--columns", "LR,data.acc"],
                     ["--where", "data.acc.x == 1"], ["--json", "--sort", "LR"]):
            result = self.xrun("archive", "list", *args)
            self.assertEqual(result.returncode, 0, (args, result.stderr))


class ForeignIndex(Workspace):
    """A file in the index's place that is not xrun's index is used for nothing."""

    def setUp(self):
        super().setUp()
        self.write("exp.py", experiment_source("LR: float = 0.1\n", 'e["acc"] = 0.5'))
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        self.index = self.dir / "results" / INDEX
        self.other = self.dir / "notes.sqlite"
        with sqlite3.connect(self.other) as db:
            db.execute("CREATE TABLE notes (text TEXT)")
            db.execute("INSERT INTO notes VALUES ('keep me')")

    def tables(self, path):
        with sqlite3.connect(path) as db:
            return sorted(name for (name,) in db.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table'"))

    def check_left_alone(self, why):
        for command in (["list"], ["list", "--where", "data.acc > 0"], ["index"],
                        ["index", "--rebuild"]):
            result = self.xrun("archive", *command)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stderr.count("xrun: warning:"), 1, result.stderr)
            self.assertIn(f"{INDEX} {why}, not xrun's index: it is left as it is, and the run "
                          "folders are read without an index (move it away", result.stderr)
            if command[0] == "list":
                self.assertEqual(len(result.stdout.splitlines()), 2)  # the run is listed
        self.assertIn("no index could be kept", result.stdout)

    def test_a_linked_index_is_refused(self):
        os.symlink(self.other, self.index)
        self.check_left_alone("is a symbolic link")
        self.assertTrue(self.index.is_symlink())
        self.assertEqual(self.tables(self.other), ["notes"])

    def test_another_programs_database_is_refused(self):
        shutil.copy(self.other, self.index)
        self.check_left_alone("is an SQLite database that holds table notes, which is not xrun's")
        self.assertEqual(self.tables(self.index), ["notes"])
        with sqlite3.connect(self.index) as db:
            db.execute("DROP TABLE notes")
            db.execute("PRAGMA application_id = 1234")
        self.check_left_alone("is another program's SQLite database")
        self.assertEqual(self.tables(self.index), [])
        with sqlite3.connect(self.index) as db:
            db.execute("PRAGMA application_id = 0")
            db.execute("PRAGMA user_version = 41")  # no version of xrun's index
        self.check_left_alone("is another program's SQLite database")
        self.assertEqual(self.tables(self.index), [])

    def test_an_index_with_tables_added_is_refused_and_one_moved_away_is_made_anew(self):
        self.assertEqual(self.xrun("archive", "index").returncode, 0)
        self.assertEqual(self.tables(self.index), ["entries"])
        with sqlite3.connect(self.index) as db:
            self.assertEqual(db.execute("PRAGMA application_id").fetchone()[0], 0x7872756E)
            db.execute("CREATE TABLE extra (x)")
        self.check_left_alone("is an SQLite database that holds table extra, which is not xrun's")
        self.index.unlink()
        result = self.xrun("archive", "list")
        self.assertEqual(result.stderr, "")
        self.assertEqual(self.tables(self.index), ["entries"])


class Modes(Workspace):
    def test_the_index_and_a_sweeps_lock_honour_the_umask(self):
        self.write("exp.py", experiment_source("LR: float = 0.1\n", "pass"))

        def group_writable():
            os.umask(0o002)

        def run(*args):
            return subprocess.run([XRUN, *args], cwd=self.dir, env=self.env(),
                                  capture_output=True, text=True, timeout=120,
                                  preexec_fn=group_writable)

        self.assertEqual(run("run", "exp.py", "--sweep", "LR=0.1,0.2").returncode, 0)
        self.assertEqual(run("archive", "list").returncode, 0)
        mode = stat.S_IMODE((self.dir / "results" / INDEX).stat().st_mode)
        lock = next((self.dir / "results" / "exp" / ".sweeps").glob("*/lock"))
        run_file = next((self.dir / "results" / "exp").glob("*/experiment_meta.json"))
        self.assertEqual(stat.S_IMODE(run_file.stat().st_mode), 0o664)
        self.assertEqual(mode, 0o664)
        self.assertEqual(stat.S_IMODE(lock.stat().st_mode), 0o664)


if __name__ == "__main__":
    unittest.main()
