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

    def on_terminal(self, *args):
        """Runs xrun with its stderr on a pseudo-terminal; returns (exit code, stderr)."""
        leader, follower = os.openpty()
        try:
            process = subprocess.run([XRUN, *args], cwd=self.dir, stdout=subprocess.PIPE,
                                     stderr=follower, env=self.env(), timeout=60)
        finally:
            os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal is closed once everything is read
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        return process.returncode, b"".join(chunks).decode()

    def test_progress_is_shown_on_a_terminal_only(self):
        code, terminal = self.on_terminal("archive", "compress", "--all", "-o", "a.tar.zst",
                                          "--remove")
        self.assertEqual(code, 0, terminal)
        self.assertIn("compress [", terminal)
        self.assertIn("2/2 runs", terminal)
        self.assertIn("verify [", terminal)
        self.assertIn("\r\033[K", terminal)  # the line is cleared when done
        code, terminal = self.on_terminal("archive", "extract", "a.tar.zst", "--path", "back")
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
        self.assertIn("verified; removed 1 run folders", result.stdout)
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
        again = self.xrun("archive", "extract", "all.zip", "--path", ".")
        self.assertUsageError(again, "exists already", "nothing was extracted")

    def test_extract_into_a_target_given_as_a_symbolic_link(self):
        self.xrun("archive", "compress", "--all", "-o", "all.tar.gz")
        (self.dir / "real").mkdir()
        (self.dir / "linked").symlink_to(self.dir / "real")
        result = self.xrun("archive", "extract", "all.tar.gz", "--path", "linked")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(same_tree(self.dir / "results", self.dir / "real" / "results"))

    def test_remove_never_deletes_a_run_recorded_as_running(self):
        import json
        meta_file = self.runs("results/exp")[0] / "experiment_meta.json"
        meta = json.loads(meta_file.read_text())
        meta.update(status="running", heartbeat=0)  # stale: shown as lost
        meta_file.write_text(json.dumps(meta))
        result = self.xrun("archive", "compress", "--all", "--remove")
        self.assertUsageError(result, "is still running", "xrun archive reconcile")
        self.assertEqual(len(self.runs("results/exp")), 2)

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
            ok = tarfile.TarInfo("results/ok.txt")
            ok.size = 2
            archive.addfile(ok, io.BytesIO(b"ok"))
            add(archive)
        self.write(name, "")
        (self.dir / name).write_bytes(buffer.getvalue())

    def assert_refused(self, name, fragment):
        result = self.xrun("archive", "extract", name, "--path", "target")
        self.assertUsageError(result, "refusing entry", fragment)
        self.assertFalse((self.dir / "target" / "results" / "ok.txt").exists())

    def test_absolute_path(self):
        def add(archive):
            entry = tarfile.TarInfo("/tmp/evil.txt")
            entry.size = 1
            archive.addfile(entry, io.BytesIO(b"x"))
        self.tar_with("abs.tar.gz", add)
        self.assert_refused("abs.tar.gz", "an absolute path")

    def test_dot_dot(self):
        def add(archive):
            entry = tarfile.TarInfo("results/../../evil.txt")
            entry.size = 1
            archive.addfile(entry, io.BytesIO(b"x"))
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


if __name__ == "__main__":
    unittest.main()
