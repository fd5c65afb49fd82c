"""Runs of the tracking SDK travel whole: workspace snapshots and artifacts are files of the run
folder (hard links to the archive's blobs), compressed once however many runs link them,
resolved after extraction from the runs' manifests; every path the SDK writes stays in the run
folder, and a damaged blob is never linked silently."""

import hashlib
import json
import os
import stat
import subprocess
import tarfile
import textwrap
import unittest

from support import Workspace, experiment_source


def sdk_experiment(body: str) -> str:
    return experiment_source("import numpy as np\nimport xrun\n",
                             "run = xrun.start()\n" + textwrap.dedent(body))


SAVE_BOTH = """
    run.snapshot_workspace(include=["*.py", "*.yaml"], exclude=["results", "elsewhere"])
    print("version", run.save_artifact("model.pt", name="model", kind="model"))
    run.finish()
"""


class Travel(Workspace):
    def make_runs(self, count=2, content=b"the weights" * 1000):
        self.write("src/train.py", "print('train')\n")
        self.write("config.yaml", "lr: 1\n")
        self.write("exp.py", sdk_experiment(SAVE_BOTH))
        (self.dir / "model.pt").write_bytes(content)
        for number in range(count):
            result = self.xrun("run", "exp.py", "--__PREFIX__", f"r{number}")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(f"version {number + 1}", result.stdout)
        return sorted(self.runs("results/exp"), key=lambda run: self.meta(run)["start_time"])

    def python(self, code: str):
        env = self.env(PYTHONPATH=self.xrun("python-path").stdout.strip())
        return subprocess.run(["/usr/bin/python3", "-c", code], cwd=self.dir, env=env,
                              capture_output=True, text=True, timeout=60)

    def test_snapshot_files_are_linked_into_the_run(self):
        run = self.make_runs(count=1)[0]
        manifest = json.loads((run / "workspace.json").read_text())
        self.assertEqual(sorted((item["path"], item["file"]) for item in manifest["files"]),
                         [("config.yaml", "workspace/config.yaml"),
                          ("exp.py", "workspace/exp.py"),
                          ("src/train.py", "workspace/src/train.py")])
        linked = run / "workspace" / "src" / "train.py"
        self.assertEqual(linked.read_text(), "print('train')\n")
        self.assertGreaterEqual(linked.stat().st_nlink, 2)  # the blob and this name
        self.assertFalse(linked.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))

    def test_compressed_runs_hold_each_blob_once_and_extract_whole(self):
        content = b"the weights" * 1000
        self.make_runs(content=content)
        packed = self.xrun("archive", "compress", "--all", "-o", "runs.tar.gz", "--remove")
        self.assertEqual(packed.returncode, 0, packed.stderr)
        self.assertIn("verified; removed 2 run folders", packed.stdout)
        with tarfile.open(self.dir / "runs.tar.gz") as archive:
            members = archive.getmembers()
            weights = [member for member in members if member.name.endswith("/model.pt")]
            self.assertEqual(sorted(member.type for member in weights),
                             sorted([tarfile.REGTYPE, tarfile.LNKTYPE]))  # the bytes once
            trains = [member for member in members if member.name.endswith("/src/train.py")]
            self.assertEqual(len(trains), 2)
            self.assertEqual(sum(member.isfile() for member in trains), 1)

        elsewhere = self.dir / "elsewhere"
        extracted = self.xrun("archive", "extract", "runs.tar.gz", "--path", elsewhere)
        self.assertEqual(extracted.returncode, 0, extracted.stderr)
        runs = sorted((elsewhere / "results" / "exp").iterdir(),
                      key=lambda run: self.meta(run)["start_time"])
        files = [run / "artifacts" / "model" / f"v{number}" / "model.pt"
                 for number, run in enumerate(runs, 1)]
        self.assertEqual([file.read_bytes() for file in files], [content, content])
        self.assertTrue(files[0].samefile(files[1]))  # still one file on disk
        self.assertEqual((runs[1] / "workspace" / "src" / "train.py").read_text(),
                         "print('train')\n")
        self.assertFalse((elsewhere / "results" / ".xrun").exists())  # no registry came along

        # Resolved from the runs' artifacts.json, by the CLI and from Python.
        root = elsewhere / "results"
        for spec, run in (("model", runs[1]), ("model:latest", runs[1]), ("model:v1", runs[0]),
                          ("model:2", runs[1])):
            resolved = self.xrun("archive", "artifact", "--path", root, spec)
            self.assertEqual(resolved.returncode, 0, resolved.stderr)
            self.assertTrue(os.path.samefile(self.dir / resolved.stdout.strip(), files[0]))
            self.assertTrue(resolved.stdout.strip().startswith(str(run)), (spec, resolved.stdout))
            python = self.python(f"import xrun; print(xrun.artifact_path({spec!r}, {str(root)!r}))")
            self.assertEqual(python.returncode, 0, python.stderr)
            self.assertEqual(python.stdout.strip(), resolved.stdout.strip(), spec)
        missing = self.xrun("archive", "artifact", "--path", root, "model:v3")
        self.assertEqual(missing.returncode, 2)
        self.assertIn(f"{root} has no artifact model:v3", missing.stderr)
        python = self.python(f"import xrun; xrun.artifact_path('model:v3', {str(root)!r})")
        self.assertIn("LookupError: no artifact model:v3", python.stderr)

        # A manifest edited to name a file outside its run is not followed.
        (elsewhere / "secret").write_text("secret")
        manifest = runs[1] / "artifacts.json"
        os.chmod(manifest, 0o644)
        record = json.loads(manifest.read_text())
        record["artifacts"][0]["file"] = "../../../secret"
        manifest.write_text(json.dumps(record))
        resolved = self.xrun("archive", "artifact", "--path", root, "model:v2")
        self.assertEqual(resolved.returncode, 2)
        self.assertIn("has no artifact model:v2", resolved.stderr)

    def test_zip_keeps_every_name_with_its_bytes(self):
        self.make_runs()
        packed = self.xrun("archive", "compress", "--all", "-o", "runs.zip")
        self.assertEqual(packed.returncode, 0, packed.stderr)
        elsewhere = self.dir / "elsewhere"
        extracted = self.xrun("archive", "extract", "runs.zip", "--path", elsewhere)
        self.assertEqual(extracted.returncode, 0, extracted.stderr)
        copies = sorted((elsewhere / "results" / "exp").glob("*/artifacts/model/v*/model.pt"))
        self.assertEqual([file.read_bytes() for file in copies], [b"the weights" * 1000] * 2)

    def test_du_counts_shared_blobs_once(self):
        self.make_runs(content=os.urandom(200_000))
        result = self.xrun("archive", "du")
        self.assertEqual(result.returncode, 0, result.stderr)
        last = result.stdout.splitlines()[-1]
        self.assertRegex(last, r"total \(2 runs; .*KB they share counted once\)$")


class Refusals(Workspace):
    def test_paths_that_would_leave_the_run_are_refused_and_the_run_goes_on(self):
        outside = self.dir / "outside"
        outside.mkdir()
        self.write("model.pt", "weights")
        self.write("exp.py", sdk_experiment(f"""
            import os
            def refused(call, *args, **kwargs):
                try:
                    call(*args, **kwargs)
                except ValueError as error:
                    print("refused:", error)
                else:
                    print("accepted:", call.__name__, args, kwargs)
            pixels = np.zeros((2, 2), dtype=np.uint8)
            refused(run.save_artifact, "model.pt", name="../model")
            refused(run.save_artifact, "model.pt", name="/tmp/model")
            refused(run.log_image, "../up", pixels)
            refused(run.log_image, "a\\0b", pixels)
            refused(run.snapshot_workspace, include=["../*"])
            refused(run.snapshot_workspace, include=["/etc/*"])
            refused(run.snapshot_workspace, exclude=["x\\0"])
            for folder in ("images", "workspace", "artifacts"):
                os.symlink({str(outside)!r}, os.path.join(run.path, folder))
            refused(run.log_image, "key", pixels)
            refused(run.snapshot_workspace, include=["*.py"], exclude=["results"])
            refused(run.save_artifact, "model.pt", name="model")
            print("still running")
        """))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("accepted:", result.stdout)
        for shown in ("'../model'", "'/tmp/model'", "'../up'", "'a\\x00b'", "'../*'",
                      "'/etc/*'", "'x\\x00'"):
            self.assertIn(shown, result.stdout)
        run = self.only_run("results/exp")
        for folder in ("images", "workspace", "artifacts"):
            self.assertRegex(result.stdout, f"refused: .*{run.name}/{folder} is a link")
        self.assertIn("still running", result.stdout)
        self.assertEqual(os.listdir(outside), [])
        self.assertEqual(self.meta(run)["status"], "done")

    def test_a_damaged_blob_is_stored_again_not_linked(self):
        self.write("model.pt", "good weights")
        self.write("exp.py", sdk_experiment("""
            run.save_artifact("model.pt", name="model")
        """))
        first = self.xrun("run", "exp.py", "--__PREFIX__", "a")
        self.assertEqual(first.returncode, 0, first.stderr)
        digest = hashlib.sha256(b"good weights").hexdigest()
        blob = self.dir / "results" / ".xrun" / "blobs" / digest[:2] / digest
        self.assertFalse(blob.stat().st_mode & stat.S_IWUSR)  # stored read-only
        blob.unlink()  # damaged: other bytes under the name of the good ones
        blob.write_bytes(b"bad weights!")
        second = self.xrun("run", "exp.py", "--__PREFIX__", "b")
        self.assertEqual(second.returncode, 0, second.stderr)
        self.assertIn(f"the stored blob {blob} does not hold the bytes "
                      "its name says; it is stored again", second.stderr)
        self.assertEqual(blob.read_bytes(), b"good weights")
        run = max(self.runs("results/exp"), key=lambda run: self.meta(run)["start_time"])
        linked = run / "artifacts" / "model" / "v2" / "model.pt"
        self.assertEqual(linked.read_bytes(), b"good weights")
        self.assertTrue(linked.samefile(blob))

class Cleanup(Travel):
    def blobs(self):
        return sorted(path.name for path in (self.dir / "results" / ".xrun" / "blobs").rglob("*")
                      if path.is_file())

    def test_purge_keeps_shared_blobs_and_gc_removes_what_nothing_uses(self):
        runs = self.make_runs()
        weights = hashlib.sha256(b"the weights" * 1000).hexdigest()
        before = self.blobs()
        self.assertIn(weights, before)
        deleted = self.xrun("archive", "delete", runs[0].name)
        self.assertEqual(deleted.returncode, 0, deleted.stderr)
        restored = self.xrun("archive", "restore", runs[0].name)
        self.assertEqual(restored.returncode, 0, restored.stderr)
        self.assertEqual((runs[0] / "workspace" / "config.yaml").read_text(), "lr: 1\n")
        purged = self.xrun("archive", "delete", "--purge", "--yes", runs[0].name)
        self.assertEqual(purged.returncode, 0, purged.stderr)
        self.assertEqual(self.blobs(), before)  # the other run still links every one
        linked = runs[1] / "artifacts" / "model" / "v2" / "model.pt"
        self.assertEqual(linked.read_bytes(), b"the weights" * 1000)
        resolved = self.xrun("archive", "artifact", "model:v1")  # the registry keeps v1
        self.assertEqual(resolved.returncode, 0, resolved.stderr)

        purged = self.xrun("archive", "delete", "--purge", "--yes", runs[1].name)
        self.assertEqual(purged.returncode, 0, purged.stderr)
        self.assertEqual(self.blobs(), before)  # nothing removes blobs but gc
        fresh = self.xrun("archive", "gc")
        self.assertEqual(fresh.returncode, 0, fresh.stderr)
        self.assertIn("removed 0 blobs", fresh.stdout)  # stored in the last hour: kept
        for path in (self.dir / "results" / ".xrun" / "blobs").rglob("*"):
            if path.is_file():
                os.utime(path, (0, 0))
        dry = self.xrun("archive", "gc", "--dry-run")
        self.assertEqual(dry.returncode, 0, dry.stderr)
        self.assertIn("would remove 3 blobs", dry.stdout)
        self.assertEqual(self.blobs(), before)
        collected = self.xrun("archive", "gc")
        self.assertEqual(collected.returncode, 0, collected.stderr)
        self.assertRegex(collected.stdout, r"removed 3 blobs \(.*\) that no run links nor "
                         r"artifact version names; 1 blob kept")
        self.assertEqual(self.blobs(), [weights])  # the artifact's versions still name it
        resolved = self.xrun("archive", "artifact", "model:v2")
        self.assertEqual(resolved.returncode, 0, resolved.stderr)


if __name__ == "__main__":
    unittest.main()
