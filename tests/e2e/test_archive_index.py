"""The archive index: listings stay true to the run folders whatever happens to them."""

import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time
import unittest

from support import XRUN, Workspace

INDEX = ".xrun-index.sqlite"


def meta(i, status="done", lr=0.1):
    return {"format": 1, "id": f"run{i:03}", "name": "exp", "namespace": "results/exp",
            "status": status, "start_time": 1795440000 + i, "end_time": 1795440030 + i,
            "duration": 30.0, "heartbeat": 1795440030 + i, "host": "node1", "pid": 100 + i,
            "parameters": {"LR": {"name": "LR", "type": "float", "value": lr,
                                  "source": "cli"}}}


class ArchiveIndex(Workspace):
    def setUp(self):
        super().setUp()
        for i in range(20):
            self.make_run(i)

    def folder(self, i, namespace="exp"):
        return self.dir / "results" / namespace / f"run{i:03}"

    def make_run(self, i, namespace="exp", **fields):
        """A run folder, its files written by rename as xrun writes them."""
        folder = self.folder(i, namespace)
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in [("experiment_meta.json", meta(i, **fields)),
                              ("experiment_data.json", {"acc": i / 100})]:
            temporary = folder / f".{name}.tmp"
            temporary.write_text(json.dumps(content))
            os.replace(temporary, folder / name)
        return folder

    def rows(self, *args):
        result = self.xrun("archive", "list", "--json", *args)
        self.assertEqual(result.returncode, 0, result.stderr)
        return {row["id"]: row for row in json.loads(result.stdout)}

    def age_files(self):
        """Dates every file and folder back, as for an archive written a while ago: a time
        within two seconds of a scan is never trusted, so this makes the index's shortcut
        (unchanged time and size) actually taken."""
        past = time.time() - 3600
        for path in [self.dir / "results", *(self.dir / "results").rglob("*")]:
            if path.name != INDEX:
                os.utime(path, (past, past))

    def test_index_is_kept_beside_the_runs_and_is_safe_to_delete(self):
        first = self.rows("--columns", "data.acc")
        self.assertTrue((self.dir / "results" / INDEX).is_file())
        self.assertEqual(len(first), 20)
        (self.dir / "results" / INDEX).unlink()
        self.assertEqual(self.rows("--columns", "data.acc"), first)
        self.assertTrue((self.dir / "results" / INDEX).is_file())

    def test_index_command_reports_what_it_read(self):
        self.age_files()
        result = self.xrun("archive", "index")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("20 runs", result.stdout)
        self.assertIn("20 read from their folders", result.stdout)
        result = self.xrun("archive", "index")
        self.assertIn("0 read from their folders", result.stdout)
        os.utime(self.folder(3) / "experiment_meta.json")
        result = self.xrun("archive", "index")
        self.assertIn("1 read from their folders", result.stdout)
        result = self.xrun("archive", "index", "--rebuild")
        self.assertIn("20 read from their folders", result.stdout)
        self.assertIn(INDEX, result.stdout)
        result = self.xrun("archive", "index", "--path", "nowhere")
        self.assertUsageError(result, "nowhere is not an archive folder")

    def test_edits_in_place_and_by_rename_are_seen(self):
        self.age_files()
        self.rows()
        self.assertEqual(self.xrun("archive", "index").stdout.split(";")[1].split()[0], "0")
        # In place (the time and size of the file change, the folder's do not).
        (self.folder(1) / "experiment_meta.json").write_text(
            json.dumps(meta(1, status="failed", lr=0.5)))
        # By rename, as xrun and most editors write.
        replacement = self.folder(2) / "new.json"
        replacement.write_text(json.dumps(meta(2, lr=0.25)))
        os.replace(replacement, self.folder(2) / "experiment_meta.json")
        # Data rewritten in place.
        (self.folder(3) / "experiment_data.json").write_text(json.dumps({"acc": 0.99}))
        rows = self.rows("--columns", "data.acc")
        self.assertEqual(rows["run001"]["status"], "failed")
        self.assertEqual(rows["run001"]["parameters"]["LR"], 0.5)
        self.assertEqual(rows["run002"]["parameters"]["LR"], 0.25)
        self.assertEqual(rows["run003"]["data.acc"], 0.99)
        result = self.xrun("archive", "list", "--where", "data.acc > 0.5")
        self.assertEqual(len(result.stdout.splitlines()), 2, result.stdout)

    def test_added_removed_and_damaged_runs(self):
        self.age_files()
        self.rows()
        shutil.rmtree(self.folder(0))
        self.make_run(50)
        self.make_run(70, namespace="nested/deeper")
        (self.folder(4) / "experiment_meta.json").write_text('{"status": ')
        rows = self.rows()
        self.assertNotIn("run000", rows)
        self.assertIn("run050", rows)
        self.assertEqual(len(rows), 21)  # 20 - 1 + 1 + the nested one; run004 has no id now
        self.assertIn("nested/deeper/run070", rows["run070"]["path"])
        listing = self.xrun("archive", "list")
        self.assertIn("corrupt", listing.stdout)
        self.assertIn("run004/experiment_meta.json:1:", listing.stderr)
        # A run folder whose meta is removed is a run no more.
        (self.folder(5) / "experiment_meta.json").unlink()
        self.assertNotIn("run005", self.rows())

    def test_folder_that_becomes_a_run(self):
        """A run folder exists for a moment before its meta is written."""
        pending = self.dir / "results" / "exp" / "pending"
        pending.mkdir()
        self.age_files()
        self.assertEqual(len(self.rows()), 20)
        temporary = pending / ".meta.tmp"
        temporary.write_text(json.dumps(dict(meta(99), id="pending")))
        os.replace(temporary, pending / "experiment_meta.json")
        for _ in range(3):  # its parent folder is unchanged: the index must know it now
            self.assertIn("pending", self.rows())

    def test_large_unreadable_and_hidden_things(self):
        big = {"acc": 0.5, "curve": list(range(20000))}  # beyond what the index keeps
        (self.folder(1) / "experiment_data.json").write_text(json.dumps(big))
        data = self.folder(2) / "experiment_data.json"
        data.unlink()
        data.mkdir()  # cannot be read as a file
        hidden = self.dir / "results" / ".hidden" / "run900"
        hidden.mkdir(parents=True)
        shutil.copy(self.folder(3) / "experiment_meta.json", hidden)
        (self.folder(4) / ".track").mkdir()
        shutil.copy(self.folder(4) / "experiment_meta.json", self.folder(4) / ".track")
        os.symlink(self.folder(5), self.dir / "results" / "exp" / "linked")
        for _ in range(2):
            result = self.xrun("archive", "list", "--json", "--columns", "data.acc")
            self.assertEqual(result.returncode, 0, result.stderr)
            rows = json.loads(result.stdout)
            self.assertEqual(len(rows), 20)  # nothing hidden, nothing twice
            by_path = {row["path"].rsplit("/", 1)[1]: row for row in rows}
            self.assertEqual(by_path["run001"]["data.acc"], 0.5)
            # Not a file: never read, and the run is corrupt.
            self.assertEqual(by_path["run002"]["status"], "corrupt")
            self.assertIn("run002/experiment_data.json is a folder, not a regular file",
                          by_path["run002"]["problem"])
        result = self.xrun("archive", "list", "--where", "data.acc >= 0.5")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(result.stdout.splitlines()), 2)

    def test_index_locked_by_another_process_is_left_alone(self):
        self.rows()
        index = self.dir / "results" / INDEX
        inode = index.stat().st_ino
        holder = sqlite3.connect(index, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            self.make_run(60)
            started = time.monotonic()
            rows = self.rows()
            self.assertIn("run060", rows)
            self.assertEqual(len(rows), 21)
            self.assertLess(time.monotonic() - started, 30)
        finally:
            holder.execute("COMMIT")  # the lock holder's work is not disturbed
            holder.close()
        self.assertEqual(index.stat().st_ino, inode)
        with sqlite3.connect(index) as db:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        self.assertIn("run060", self.rows())

    def test_unreadable_folder_is_kept_for_those_who_can_read_it(self):
        if os.geteuid() != 0:
            self.skipTest("needs a second user: run as the superuser")
        import pwd
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user 'nobody'")
        self.make_run(70, namespace="private")
        os.chmod(self.dir, 0o755)
        for path in [self.dir / "results", *(self.dir / "results").rglob("*")]:
            os.chmod(path, 0o777 if path.is_dir() else 0o666)
        self.age_files()
        self.assertEqual(len(self.rows()), 21)
        os.chmod(self.dir / "results" / INDEX, 0o666)  # an index every user keeps up to date
        os.chmod(self.dir / "results" / "private", 0o700)

        def as_nobody():
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)

        # A copy the other user can reach (the build folder may be private to this one).
        binary = shutil.copy(XRUN, self.dir / "xrun")
        result = subprocess.run([binary, "archive", "list", "--json"], cwd=self.dir,
                                capture_output=True, text=True, env=self.env(),
                                preexec_fn=as_nobody)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(json.loads(result.stdout)), 20)
        os.chmod(self.dir / "results" / "private", 0o777)
        self.assertIn("run070", self.rows())  # still known to the index's other readers

    def test_damaged_index_is_replaced(self):
        expected = self.rows()
        (self.dir / "results" / INDEX).write_bytes(b"not a database at all" * 100)
        result = self.xrun("archive", "list", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")
        self.assertEqual({row["id"]: row for row in json.loads(result.stdout)}, expected)
        with sqlite3.connect(self.dir / "results" / INDEX) as db:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")

    def test_index_truncated_under_a_listing_never_kills_it(self):
        # A large index (data in it), so a listing is still reading it when it shrinks.
        for i in range(20, 1500):
            self.make_run(i)
        for run in (self.dir / "results" / "exp").iterdir():
            (run / "experiment_data.json").write_text(json.dumps({"blob": "x" * 4000}))
        self.age_files()
        self.assertEqual(len(self.rows("--where", "data.blob != ''")), 1500)
        whole = (self.dir / "results" / INDEX).read_bytes()
        for round_ in range(12):
            (self.dir / "results" / INDEX).write_bytes(whole)
            listing = self.start("archive", "list", "--json", "--where", "data.blob != ''")
            time.sleep(0.01 * round_)
            os.truncate(self.dir / "results" / INDEX, len(whole) // 3)
            stdout, stderr = listing.communicate(timeout=60)
            # Read from a short file, the index is damaged and replaced: the answer is whole.
            self.assertEqual(listing.returncode, 0, stderr)
            self.assertEqual(len(json.loads(stdout)), 1500)

    def test_read_only_archive_is_listed_without_an_index(self):
        if os.geteuid() == 0:
            self.skipTest("permissions do not bind the superuser")
        os.chmod(self.dir / "results", 0o555)
        self.addCleanup(os.chmod, self.dir / "results", 0o755)
        self.assertEqual(len(self.rows()), 20)
        self.assertFalse((self.dir / "results" / INDEX).exists())

    def test_concurrent_writers_never_corrupt_it(self):
        """Runs are created, rewritten and finished while listings run; every listing
        succeeds, and the index agrees with a rebuild at the end."""
        stop = threading.Event()
        problems = []

        def writer(offset):
            i = 0
            while not stop.is_set():
                number = 100 + offset * 1000 + i % 40
                self.make_run(number, status="running")
                self.make_run(number, lr=i / 7)
                i += 1

        def lister():
            while not stop.is_set():
                result = self.xrun("archive", "list", "--json", "--columns", "data.acc")
                if result.returncode != 0 or result.stderr:
                    problems.append(result.stderr)
                else:
                    json.loads(result.stdout)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
        threads += [threading.Thread(target=lister) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(4)
        stop.set()
        for thread in threads:
            thread.join()
        self.assertEqual(problems, [])
        with sqlite3.connect(self.dir / "results" / INDEX) as db:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        time.sleep(2.1)  # past the window in which times are not trusted
        warm = self.rows("--columns", "data.acc")
        (self.dir / "results" / INDEX).unlink()
        self.assertEqual(self.rows("--columns", "data.acc"), warm)
        self.assertEqual(len(warm), 20 + 2 * 40)


if __name__ == "__main__":
    unittest.main()
