"""`xrun archive compress` and `extract`: round trips, selection, removal, hostile archives."""

import filecmp
import io
import os
import subprocess
import tarfile
import unittest
import zipfile

from support import XRUN, Workspace, experiment_source


def same_tree(a, b):
    """Whether two folders hold the same files, leaving out the archive index (derived)."""
    comparison = filecmp.dircmp(a, b, ignore=[".xrun-index.sqlite", ".xrun-index.sqlite-journal"])
    if comparison.left_only or comparison.right_only or comparison.diff_files or \
            comparison.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, comparison.common_files, shallow=False)
    return not mismatch and not errors and all(
        same_tree(a / name, b / name) for name in comparison.common_dirs)


class Pack(Workspace):
    def setUp(self):
        super().setUp()
        self.write("exp.py", experiment_source("LR: float = 0.1\n", """
            import os
            for step in range(20):
                e.track("loss", 1.0 / (step + 1))
            e["lr"] = e.LR
            e.commit_raw("blob.bin", os.urandom(200000).hex())
            """))
        for lr in ["0.1", "0.01"]:
            self.assertEqual(self.xrun("run", "exp.py", "--LR", lr).returncode, 0)

    def test_round_trip_is_byte_identical_in_every_format(self):
        for name in ["all.tar.zst", "all.tar.gz", "all.zip"]:
            with self.subTest(format=name):
                result = self.xrun("archive", "compress", "--all", "-o", name)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("2 runs", result.stdout)
                restored = self.dir / f"restored-{name}"
                result = self.xrun("archive", "extract", name, "--path", restored)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertTrue(same_tree(self.dir / "results", restored / "results"))

    def test_the_viewers_series_summaries_are_left_out(self):
        run = next((self.dir / "results").glob("exp/*"))
        (run / ".track" / "loss.csv.m4").write_bytes(b"derived")
        result = self.xrun("archive", "compress", "--all", "-o", "all.tar.gz")
        self.assertEqual(result.returncode, 0, result.stderr)
        with tarfile.open(self.dir / "all.tar.gz") as archive:
            names = archive.getnames()
        self.assertTrue(any(name.endswith("/.track/loss.csv") for name in names), names)
        self.assertFalse(any(name.endswith(".m4") for name in names), names)

    def test_names_beyond_ascii_round_trip_in_every_format(self):
        self.write("ex pé.py", (self.dir / "exp.py").read_text())
        self.assertEqual(self.xrun("run", "ex pé.py").returncode, 0)
        run = self.only_run("results/ex pé")
        (run / "rü.txt").write_text("ü")
        env = dict(self.env(), LC_ALL="C", LANG="C")

        def round_trip(name):
            result = self.xrun("archive", "compress", "--where", 'name == "ex pé"', "-o", name,
                               env=env)
            self.assertEqual(result.returncode, 0, result.stderr)
            restored = self.dir / f"restored-{name}"
            result = self.xrun("archive", "extract", name, "--path", restored, env=env)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertTrue(same_tree(self.dir / "results" / "ex pé",
                                      restored / "results" / "ex pé"))

        round_trip("u.zip")
        os.mkdir(os.path.join(os.fsencode(run), b"raw\xff\xfe"))  # not UTF-8 at all
        for name in ["u.tar.zst", "u.tar.gz"]:  # tar keeps such a name as its bytes
            with self.subTest(format=name):
                round_trip(name)
        result = subprocess.run([XRUN, "archive", "compress", "--all", "-o", "raw.zip"],
                                cwd=self.dir, env=env, capture_output=True)  # bytes: the name
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"raw\xff\xfe: its name is not UTF-8, which zip needs", result.stderr)
        self.assertFalse((self.dir / "raw.zip").exists())

    def test_progress_is_shown_on_a_terminal_only(self):
        code, terminal, _ = self.on_terminal("archive", "compress", "--all", "-o", "a.tar.zst",
                                             "--remove")
        self.assertEqual(code, 0, terminal)
        self.assertIn("compress [", terminal)
        self.assertIn("2/2 runs", terminal)
        self.assertIn("verify [", terminal)
        self.assertIn("\r\033[K", terminal)  # the line is cleared when done
        code, terminal, _ = self.on_terminal("archive", "extract", "a.tar.zst", "--path", "back")
        self.assertEqual(code, 0, terminal)
        self.assertIn("extract [", terminal)
        result = self.xrun("archive", "extract", "a.tar.zst", "--path", "again")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("[", result.stderr)  # not a terminal: no progress line

    def test_tar_zst_is_readable_by_tar(self):
        self.xrun("archive", "compress", "--all")
        import subprocess
        listing = subprocess.run(["tar", "-I", "zstd", "-tf", "results.tar.zst"],
                                 cwd=self.dir, capture_output=True, text=True)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertIn("/experiment_meta.json", listing.stdout)

    def test_where_selects_and_remove_deletes_only_after_verifying(self):
        result = self.xrun("archive", "compress", "--where", "LR < 0.05", "-o", "small.tar.gz",
                           "--remove")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("verified; removed 1 run folder", result.stdout)
        self.assertNotIn("1 run folders", result.stdout)
        remaining = self.runs("results/exp")
        self.assertEqual(len(remaining), 1)
        self.assertEqual(self.meta(remaining[0])["parameters"]["LR"]["value"], 0.1)
        with tarfile.open(self.dir / "small.tar.gz") as archive:
            names = archive.getnames()
        self.assertTrue(all("/" in name and name.startswith("results/exp/") for name in names))

    def test_extract_reports_damage_and_refuses_to_overwrite(self):
        self.xrun("archive", "compress", "--all", "-o", "all.zip")
        data = bytearray((self.dir / "all.zip").read_bytes())
        blob = data.find(b"blob.bin")  # the local header's name, then its compressed bytes
        data[blob + 5000] ^= 0xFF
        (self.dir / "bad.zip").write_bytes(bytes(data))
        result = self.xrun("archive", "extract", "bad.zip", "--path", "out")
        self.assertEqual(result.returncode, 2, result.stdout)
        self.assertIn("xrun: error:", result.stderr)
        self.assertIn("everything this extraction wrote was removed", result.stderr)
        self.assertFalse((self.dir / "out").exists())  # created by this extraction: gone again
        again = self.xrun("archive", "extract", "all.zip", "--path", ".")
        self.assertUsageError(again, "exists already", "nothing was extracted")

    def test_a_failure_while_writing_removes_only_what_it_wrote(self):
        self.xrun("archive", "compress", "--all", "-o", "all.zip")
        data = bytearray((self.dir / "all.zip").read_bytes())
        data[data.find(b"blob.bin") + 5000] ^= 0xFF  # found only when the data is read
        (self.dir / "bad.zip").write_bytes(bytes(data))
        self.write("out/keep.txt", "mine")
        result = self.xrun("archive", "extract", "bad.zip", "--path", "out")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("xrun: error:", result.stderr)
        self.assertIn("everything this extraction wrote was removed", result.stderr)
        self.assertEqual(sorted(p.name for p in (self.dir / "out").iterdir()), ["keep.txt"])
        self.assertEqual((self.dir / "out/keep.txt").read_text(), "mine")

    def test_extract_into_a_file_is_refused(self):
        self.xrun("archive", "compress", "--all", "-o", "all.tar.gz")
        self.write("plain.txt", "not a folder")
        for path in ["plain.txt", "plain.txt/sub"]:
            with self.subTest(path=path):
                result = self.xrun("archive", "extract", "all.tar.gz", "--path", path)
                self.assertUsageError(result, f"cannot extract into {path}",
                                      "plain.txt is not a folder")
                self.assertEqual((self.dir / "plain.txt").read_text(), "not a folder")

    def test_compress_refuses_to_write_into_a_run_it_holds(self):
        run = self.runs("results/exp")[0]
        target = run / "all.tar.zst"
        result = self.xrun("archive", "compress", "--all", "--remove", "-o", str(target))
        self.assertUsageError(result, f"{target} is inside the selected run")
        self.assertFalse(target.exists())
        self.assertEqual(len(self.runs("results/exp")), 2)
        os.symlink(self.dir / "results", self.dir / "linked")  # the archive by another name
        result = self.xrun("archive", "compress", "--path", "linked", "--all", "--remove", "-o",
                           str(target))
        self.assertUsageError(result, "is inside the selected run")
        self.assertEqual(len(self.runs("results/exp")), 2)

    def test_compress_never_replaces_an_existing_file(self):
        result = self.xrun("archive", "compress", "--where", "LR < 0.05", "-o", "back.tar.zst",
                           "--remove")
        self.assertEqual(result.returncode, 0, result.stderr)
        first = (self.dir / "back.tar.zst").read_bytes()
        result = self.xrun("archive", "compress", "--all", "-o", "back.tar.zst", "--remove")
        self.assertUsageError(result, "back.tar.zst exists already",
                              "choose another name, or remove it first")
        self.assertEqual(result.stdout, "")
        self.assertEqual((self.dir / "back.tar.zst").read_bytes(), first)
        self.assertEqual(len(self.runs("results/exp")), 1)  # the other run is still there
        self.assertEqual([p.name for p in self.dir.iterdir() if ".tmp." in p.name], [])
        (self.dir / "dangling.tar.gz").symlink_to(self.dir / "nowhere")
        result = self.xrun("archive", "compress", "--all", "-o", "dangling.tar.gz")
        self.assertUsageError(result, "dangling.tar.gz exists already")
        self.assertFalse((self.dir / "nowhere").exists())

    def test_extract_into_a_target_given_as_a_symbolic_link(self):
        self.xrun("archive", "compress", "--all", "-o", "all.tar.gz")
        (self.dir / "real").mkdir()
        (self.dir / "linked").symlink_to(self.dir / "real")
        result = self.xrun("archive", "extract", "all.tar.gz", "--path", "linked")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(same_tree(self.dir / "results", self.dir / "real" / "results"))

    def test_remove_never_deletes_a_run_recorded_as_running(self):
        import json
        import time
        meta_file = self.runs("results/exp")[0] / "experiment_meta.json"
        meta = json.loads(meta_file.read_text())
        # Its own supervisor is gone, so it is lost at once; one of another host is judged by
        # its heartbeat.
        for heartbeat, host, shown in [(0, meta["host"], "lost"),
                                       (time.time(), "elsewhere", "running")]:
            with self.subTest(shown=shown):
                meta.update(status="running", heartbeat=heartbeat, host=host)
                meta_file.write_text(json.dumps(meta))
                listing = self.xrun("archive", "list", "--columns", "status")
                self.assertIn(shown, listing.stdout)
                result = self.xrun("archive", "compress", "--all", "--remove")
                self.assertUsageError(result, "is recorded as running",
                                      "its supervisor may be alive or lost",
                                      "xrun archive reconcile")
                self.assertNotIn("still running", result.stderr)
                self.assertEqual(len(self.runs("results/exp")), 2)
                self.assertFalse((self.dir / "results.tar.zst").exists())

    def test_errors(self):
        self.assertUsageError(self.xrun("archive", "compress"), "--where EXPR or --all")
        self.assertUsageError(self.xrun("archive", "compress", "--all", "-o", "x.rar"),
                              "cannot tell the archive format of x.rar")
        self.assertUsageError(self.xrun("archive", "compress", "--where", "LR > 9"),
                              "no runs match")
        self.assertFalse((self.dir / "results.tar.zst").exists())
        self.assertUsageError(self.xrun("archive", "extract", "missing.tar.zst"),
                              "cannot read archive missing.tar.zst")


class HostileArchives(Workspace):
    def tar_with(self, name, add):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            self.file(archive, "results/ok.txt", b"ok")
            add(archive)
        self.write(name, "")
        (self.dir / name).write_bytes(buffer.getvalue())

    def file(self, archive, name, data):
        entry = tarfile.TarInfo(name)
        entry.size = len(data)
        archive.addfile(entry, io.BytesIO(data))

    def link(self, archive, name, target, kind=tarfile.SYMTYPE):
        entry = tarfile.TarInfo(name)
        entry.type = kind
        entry.linkname = target
        archive.addfile(entry)

    def assert_refused(self, name, *fragments):
        result = self.xrun("archive", "extract", name, "--path", "target")
        self.assertUsageError(result, "refusing entry", "nothing was extracted", *fragments)
        self.assertFalse((self.dir / "target").exists())  # not even the target folder

    def test_absolute_path(self):
        def add(archive):
            self.file(archive, "/tmp/evil.txt", b"x")
        self.tar_with("abs.tar.gz", add)
        self.assert_refused("abs.tar.gz", "an absolute path")

    def test_dot_dot(self):
        def add(archive):
            self.file(archive, "results/../../evil.txt", b"x")
        self.tar_with("dots.tar.gz", add)
        self.assert_refused("dots.tar.gz", "climbs out")

    def test_symlink_pointing_out(self):
        def add(archive):
            entry = tarfile.TarInfo("results/link")
            entry.type = tarfile.SYMTYPE
            entry.linkname = "../../etc/passwd"
            archive.addfile(entry)
        self.tar_with("link.tar.gz", add)
        self.assert_refused("link.tar.gz", "a link to '../../etc/passwd'")

    def test_hardlink_pointing_out(self):
        def add(archive):
            entry = tarfile.TarInfo("results/hard")
            entry.type = tarfile.LNKTYPE
            entry.linkname = "/etc/passwd"
            archive.addfile(entry)
        self.tar_with("hard.tar.gz", add)
        self.assert_refused("hard.tar.gz", "a hard link")

    def test_zip_slip(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("results/ok.txt", "ok")
            archive.writestr("../escape.txt", "x")
        (self.dir / "slip.zip").write_bytes(buffer.getvalue())
        self.assert_refused("slip.zip", "climbs out")
        self.assertFalse((self.dir / "escape.txt").exists())

    def test_a_link_inside_is_fine(self):
        def add(archive):
            entry = tarfile.TarInfo("results/sub/link")
            entry.type = tarfile.SYMTYPE
            entry.linkname = "../ok.txt"
            archive.addfile(entry)
        self.tar_with("fine.tar.gz", add)
        result = self.xrun("archive", "extract", "fine.tar.gz", "--path", "target")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual((self.dir / "target/results/sub/link").read_text(), "ok")

    def test_a_link_through_another_link_pointing_out(self):
        # Lexically `r1/sub/../../../..` is the target folder; through `sub -> .` it is its
        # parent. The link named later in the archive counts as much as the one named earlier.
        for order in [("sub", "s"), ("s", "sub")]:
            with self.subTest(order=order):
                links = {"sub": ".", "s": "sub/../../../.."}
                def add(archive, order=order):
                    for name in order:
                        self.link(archive, f"results/ns/r1/{name}", links[name])
                self.tar_with("through.tar.gz", add)
                self.assert_refused("through.tar.gz", "'results/ns/r1/s'",
                                    "goes through the link 'results/ns/r1/sub'")

    def test_an_entry_through_a_link(self):
        def add_file(archive):
            self.file(archive, "results/l/x.txt", b"x")
        for link_first in [True, False]:
            with self.subTest(link_first=link_first):
                def add(archive, link_first=link_first):
                    if link_first:
                        self.link(archive, "results/l", "ok.txt")
                    add_file(archive)
                    if not link_first:
                        self.link(archive, "results/l", "ok.txt")
                self.tar_with("write-through.tar.gz", add)
                self.assert_refused("write-through.tar.gz", "'results/l/x.txt'",
                                    "goes through the link 'results/l'")

    def test_an_entry_inside_a_file(self):
        def add(archive):
            self.file(archive, "results/ok.txt/x.txt", b"x")
        self.tar_with("inside.tar.gz", add)
        self.assert_refused("inside.tar.gz", "which the archive holds as a file")

    def test_a_name_twice(self):
        def add(archive):
            self.file(archive, "./results/ok.txt", b"again")
        self.tar_with("twice.tar.gz", add)
        self.assert_refused("twice.tar.gz", "'./results/ok.txt'", "holds this name twice")

    def test_junk_and_truncated_archives_leave_nothing(self):
        (self.dir / "junk.tar.gz").write_bytes(os.urandom(5000))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            big = tarfile.TarInfo("results/big.bin")
            big.size = 300000
            archive.addfile(big, io.BytesIO(os.urandom(big.size)))
        (self.dir / "cut.tar.gz").write_bytes(buffer.getvalue()[:150000])
        for name in ["junk.tar.gz", "cut.tar.gz"]:
            with self.subTest(name=name):
                result = self.xrun("archive", "extract", name, "--path", "target/deeper")
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn("xrun: error:", result.stderr)
                self.assertIn(name, result.stderr)
                self.assertFalse((self.dir / "target").exists())

    def test_a_link_already_on_disk_is_not_written_through(self):
        self.tar_with("plain.tar.gz", lambda archive: None)
        (self.dir / "elsewhere").mkdir()
        (self.dir / "target").mkdir()
        (self.dir / "target/results").symlink_to(self.dir / "elsewhere")
        result = self.xrun("archive", "extract", "plain.tar.gz", "--path", "target")
        self.assertUsageError(result, "refusing entry 'results/ok.txt'",
                              "results exists already and is not a folder")
        self.assertEqual(list((self.dir / "elsewhere").iterdir()), [])

    def test_a_hard_link_inside_is_fine(self):
        self.tar_with("hard.tar.gz", lambda archive: self.link(
            archive, "results/sub/hard", "results/ok.txt", tarfile.LNKTYPE))
        result = self.xrun("archive", "extract", "hard.tar.gz", "--path", "target")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("2 entries extracted", result.stdout)
        hard = self.dir / "target/results/sub/hard"
        self.assertEqual(hard.read_text(), "ok")
        self.assertTrue(hard.samefile(self.dir / "target/results/ok.txt"))

    def test_hard_links_made_by_tar(self):
        self.write("src/results/a.txt", "shared")
        os.link(self.dir / "src/results/a.txt", self.dir / "src/results/b.txt")
        made = subprocess.run(["tar", "-czf", "../tar.tar.gz", "results"], cwd=self.dir / "src",
                              capture_output=True, text=True)
        self.assertEqual(made.returncode, 0, made.stderr)
        result = self.xrun("archive", "extract", "tar.tar.gz", "--path", "target")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue((self.dir / "target/results/a.txt").samefile(
            self.dir / "target/results/b.txt"))

    def test_hard_links_to_anything_but_an_earlier_file(self):
        cases = {
            "later": lambda archive: self.link(archive, "results/hard", "results/later.txt",
                                               tarfile.LNKTYPE),
            "folder": lambda archive: self.link(archive, "results/hard", "results",
                                                tarfile.LNKTYPE),
            "symlink": lambda archive: (self.link(archive, "results/soft", "ok.txt"),
                                        self.link(archive, "results/hard", "results/soft",
                                                  tarfile.LNKTYPE)),
        }
        for case, add in cases.items():
            with self.subTest(case=case):
                def add_all(archive, add=add):
                    directory = tarfile.TarInfo("results")
                    directory.type = tarfile.DIRTYPE
                    archive.addfile(directory)
                    add(archive)
                    later = tarfile.TarInfo("results/later.txt")
                    archive.addfile(later, io.BytesIO(b""))
                self.tar_with("hard.tar.gz", add_all)
                self.assert_refused("hard.tar.gz", "'results/hard'",
                                    "which is not a file earlier in the archive")

    def test_modes_lose_setuid_setgid_sticky_and_pass_through_the_umask(self):
        modes = {"results/setuid": 0o4755, "results/setgid": 0o2755, "results/open": 0o777,
                 "results/private": 0o600}

        def add(archive):
            for name, mode in modes.items():
                entry = tarfile.TarInfo(name)
                entry.mode, entry.uid, entry.gid, entry.size = mode, 0, 0, 2
                archive.addfile(entry, io.BytesIO(b"#!"))
            folder = tarfile.TarInfo("results/shared")
            folder.type, folder.mode = tarfile.DIRTYPE, 0o1777
            archive.addfile(folder)
        self.tar_with("modes.tar.gz", add)
        for umask, expected in [(0o022, {"setuid": 0o755, "setgid": 0o755, "open": 0o755,
                                         "private": 0o600, "shared": 0o755}),
                                (0o077, {"setuid": 0o700, "setgid": 0o700, "open": 0o700,
                                         "private": 0o600, "shared": 0o700})]:
            with self.subTest(umask=oct(umask)):
                target = f"target-{umask:o}"
                result = subprocess.run(
                    [XRUN, "archive", "extract", "modes.tar.gz", "--path", target], cwd=self.dir,
                    env=self.env(), capture_output=True, text=True, timeout=60,
                    preexec_fn=lambda umask=umask: os.umask(umask))
                self.assertEqual(result.returncode, 0, result.stderr)
                for name, mode in expected.items():
                    found = (self.dir / target / "results" / name).stat().st_mode & 0o7777
                    self.assertEqual(oct(found), oct(mode), name)

    def test_a_device(self):
        def add(archive):
            entry = tarfile.TarInfo("results/null")
            entry.type = tarfile.CHRTYPE
            entry.devmajor, entry.devminor = 1, 3
            archive.addfile(entry)
        self.tar_with("device.tar.gz", add)
        self.assert_refused("device.tar.gz", "not a file, folder or link")


if __name__ == "__main__":
    unittest.main()
