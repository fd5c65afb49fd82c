"""What a tracking run keeps as files: images (from arrays, bytes, paths, figures, Pillow),
versioned content-addressed artifacts, workspace snapshots, and how the archive commands
list, resolve, compress and extract them."""

import hashlib
import json
import os
import struct
import subprocess
import textwrap
import unittest
import zlib

from support import Workspace, experiment_source


def sdk_experiment(body: str) -> str:
    return experiment_source("import numpy as np\nimport xrun\n",
                             "run = xrun.start()\n" + textwrap.dedent(body))


def png_pixels(data: bytes):
    """(width, height, color type, raw scanlines) of a PNG, read without Pillow."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    at, chunks = 8, {}
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, body = data[at + 4:at + 8], data[at + 8:at + 8 + length]
        crc = struct.unpack(">I", data[at + 8 + length:at + 12 + length])[0]
        assert zlib.crc32(kind + body) == crc, kind
        chunks[kind] = chunks.get(kind, b"") + body
        at += 12 + length
    width, height, depth, color_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8
    return width, height, color_type, zlib.decompress(chunks[b"IDAT"])


class Images(Workspace):
    def test_images_from_arrays_bytes_paths_figures_and_pillow(self):
        self.write("exp.py", sdk_experiment("""
            import io, sys
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            from PIL import Image
            grey = np.array([[0, 255], [128, 64]], dtype=np.uint8)
            run.log_image("grey", grey, step=1, caption="two by two")
            run.log_image("rgb", np.ones((3, 4, 3)) * 0.5, step=2)
            run.log_image("rgba", np.zeros((2, 5, 4), dtype=np.uint8))
            run.log_image("single", np.zeros((2, 2, 1), dtype=np.uint8))
            buffer = io.BytesIO()
            Image.new("RGB", (6, 7), "red").save(buffer, format="JPEG")
            run.log_image("jpeg", buffer.getvalue(), step=3)
            Image.new("RGB", (8, 9), "blue").save("picture.png")
            run.log_image("from_path", "picture.png")
            figure = plt.figure(figsize=(1, 1))
            run.log_image("figure", figure, step=4)
            run.log_image("pillow", Image.new("L", (3, 3)), format="jpg", quality=50)
            run.log_image("grey", grey, step=5)  # a second image of a key
        """))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/exp")
        index = [json.loads(line) for line in
                 (run / "images" / "index.jsonl").read_text().splitlines()]
        self.assertEqual([(entry["key"], entry["step"], entry["file"]) for entry in index], [
            ("grey", 1, "images/grey/00000.png"), ("rgb", 2, "images/rgb/00000.png"),
            ("rgba", None, "images/rgba/00000.png"), ("single", None, "images/single/00000.png"),
            ("jpeg", 3, "images/jpeg/00000.jpg"), ("from_path", None, "images/from_path/00000.png"),
            ("figure", 4, "images/figure/00000.png"), ("pillow", None, "images/pillow/00000.jpg"),
            ("grey", 5, "images/grey/00001.png")])
        self.assertEqual(index[0]["caption"], "two by two")
        # The arrays are encoded by xrun's own PNG writer: check it without Pillow.
        width, height, color_type, raw = png_pixels((run / "images/grey/00000.png").read_bytes())
        self.assertEqual((width, height, color_type), (2, 2, 0))
        self.assertEqual(raw, bytes([0, 0, 255, 0, 128, 64]))
        width, height, color_type, raw = png_pixels((run / "images/rgb/00000.png").read_bytes())
        self.assertEqual((width, height, color_type), (4, 3, 2))
        self.assertEqual(raw[1:4], bytes([128, 128, 128]))
        self.assertEqual(png_pixels((run / "images/rgba/00000.png").read_bytes())[:3], (5, 2, 6))
        self.assertEqual(png_pixels((run / "images/single/00000.png").read_bytes())[:3], (2, 2, 0))
        self.assertTrue((run / "images/jpeg/00000.jpg").read_bytes().startswith(b"\xff\xd8\xff"))
        self.assertEqual((run / "images/from_path/00000.png").read_bytes(),
                         (self.dir / "picture.png").read_bytes())
        png_pixels((run / "images/figure/00000.png").read_bytes())
        shown = self.xrun("archive", "show", run.name)
        self.assertRegex(shown.stdout, r"\nimages\n")
        self.assertRegex(shown.stdout, r"grey +2 images +last: step 5 +images/grey/00001.png")

    def test_arrays_become_pngs_without_pillow(self):
        self.write("exp.py", sdk_experiment("""
            import sys
            sys.modules["PIL"] = None  # as if Pillow were not installed
            run.log_image("plain", np.eye(3))
            try:
                run.log_image("jpeg", np.eye(3), format="jpg")
            except ValueError as error:
                print("refused:", error)
        """))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("refused: format='jpg' needs Pillow to encode an array", result.stdout)
        run = self.only_run("results/exp")
        width, height, _, raw = png_pixels((run / "images/plain/00000.png").read_bytes())
        self.assertEqual((width, height), (3, 3))
        self.assertEqual(raw[:4], bytes([0, 255, 0, 0]))


class Artifacts(Workspace):
    def save(self, content: bytes, name="model"):
        self.write("model.pt", "")
        (self.dir / "model.pt").write_bytes(content)
        result = self.xrun("run", "exp.py", "--__PREFIX__", str(len(os.listdir(self.dir))))
        self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def test_versions_deduplicated_blobs_and_resolving_them(self):
        self.write("exp.py", sdk_experiment("""
            import json, os
            version = run.save_artifact("model.pt", name="model", kind="model")
            run.finish()  # waits for the copy
            print("version", version, json.load(open(os.path.join(run.path, "artifacts.json"))))
        """))
        first = self.save(b"weights one")
        second = self.save(b"weights one")
        third = self.save(b"weights two")
        self.assertIn("version 1 ", first.stdout)
        self.assertIn("version 2 ", second.stdout)
        self.assertIn("version 3 ", third.stdout)
        blobs = sorted(path for path in (self.dir / "results" / ".xrun" / "blobs").rglob("*")
                       if path.is_file())
        digests = {hashlib.sha256(b"weights one").hexdigest(),
                   hashlib.sha256(b"weights two").hexdigest()}
        self.assertEqual({blob.name for blob in blobs}, digests)  # the same bytes: one blob
        runs = sorted(self.runs("results/exp"), key=lambda run: self.meta(run)["start_time"])
        linked = runs[0] / "artifacts" / "model" / "v1" / "model.pt"
        self.assertEqual(linked.read_bytes(), b"weights one")
        self.assertGreaterEqual(linked.stat().st_nlink, 2)  # a hard link to the blob
        manifest = json.loads((runs[2] / "artifacts.json").read_text())["artifacts"]
        self.assertEqual([(item["name"], item["version"], item["kind"], item["size"])
                          for item in manifest], [("model", 3, "model", 11)])
        for spec, content in (("model", b"weights two"), ("model:latest", b"weights two"),
                              ("model:v1", b"weights one"), ("model:2", b"weights one")):
            resolved = self.xrun("archive", "artifact", spec)
            self.assertEqual(resolved.returncode, 0, resolved.stderr)
            with open(self.dir / resolved.stdout.strip(), "rb") as handle:
                self.assertEqual(handle.read(), content, spec)
        missing = self.xrun("archive", "artifact", "model:v9")
        self.assertEqual(missing.returncode, 2)
        self.assertIn("xrun: error: results has no artifact model:v9", missing.stderr)
        bad = self.xrun("archive", "artifact", "../model")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("not ../model", bad.stderr)
        # The same from Python.
        env = self.env(PYTHONPATH=self.xrun("python-path").stdout.strip())
        resolved = subprocess.run(
            ["/usr/bin/python3", "-c", "import xrun; print(xrun.artifact_path('model:v3'))"],
            cwd=self.dir, env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(resolved.returncode, 0, resolved.stderr)
        self.assertEqual(resolved.stdout.strip(), self.xrun("archive", "artifact",
                                                            "model").stdout.strip())
        shown = self.xrun("archive", "show", runs[2].name)
        self.assertRegex(shown.stdout, r"\nartifacts\n +model:v3 +model +11 bytes +"
                         + hashlib.sha256(b"weights two").hexdigest()[:12])
        # A blob removed by hand: said, not printed as if it were there.
        blob = self.dir / self.xrun("archive", "artifact", "model:v3").stdout.strip()
        blob.unlink()
        gone = self.xrun("archive", "artifact", "model:v3")
        self.assertEqual(gone.returncode, 2)
        self.assertIn(f"model:v3: its stored file results/.xrun/blobs/{blob.parent.name}/"
                      f"{blob.name} does not exist", gone.stderr)

    def test_a_version_is_the_file_as_it_was_when_saved(self):
        # A training loop writes each checkpoint over the last one right after saving it.
        self.write("exp.py", sdk_experiment("""
            for epoch in range(3):
                with open("ckpt.pt", "wb") as handle:
                    handle.write(b"epoch %d " % epoch * 100000)
                run.save_artifact("ckpt.pt", name="ckpt")
            with open("ckpt.pt", "wb"):
                pass  # emptied at once, while the copies may still be made
            run.finish()
        """))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        for epoch in range(3):
            resolved = self.xrun("archive", "artifact", f"ckpt:v{epoch + 1}")
            self.assertEqual(resolved.returncode, 0, resolved.stderr)
            stored = (self.dir / resolved.stdout.strip()).read_bytes()
            self.assertEqual(stored, b"epoch %d " % epoch * 100000)
        staging = self.dir / "results" / ".xrun" / "staging"
        self.assertEqual(list(staging.iterdir()), [])  # every staged copy stored and gone

    def test_compressed_and_extracted_runs_keep_their_artifacts(self):
        self.write("exp.py", sdk_experiment("""
            run.save_artifact("model.pt", kind="model")
            run.log_image("img", np.zeros((2, 2), dtype=np.uint8))
        """))
        self.save(b"the weights")
        self.save(b"the weights")  # two runs, one blob: each still gets the whole file
        packed = self.xrun("archive", "compress", "--all", "-o", "runs.tar.zst", "--remove")
        self.assertEqual(packed.returncode, 0, packed.stderr)
        self.assertEqual(self.runs("results/exp"), [])
        elsewhere = self.dir / "elsewhere"
        elsewhere.mkdir()
        extracted = self.xrun("archive", "extract", "runs.tar.zst", "--path", elsewhere)
        self.assertEqual(extracted.returncode, 0, extracted.stderr)
        runs = sorted((elsewhere / "results" / "exp").iterdir())
        self.assertEqual(len(runs), 2)
        for run, version in zip(runs, ("v1", "v2")):
            self.assertEqual((run / "artifacts" / "model.pt" / version / "model.pt").read_bytes(),
                             b"the weights")
            self.assertTrue((run / "images" / "img" / "00000.png").is_file())
        run = runs[0]
        shown = self.xrun("archive", "show", "--path", elsewhere / "results", run.name)
        self.assertRegex(shown.stdout, r"model\.pt:v1 +model +11 bytes")
        self.assertRegex(shown.stdout, r"img +1 image")

    def test_workspace_snapshots_store_matching_files_as_blobs(self):
        self.write("src/train.py", "print('train')\n")
        self.write("src/__pycache__/train.cpython-311.pyc", "x")
        self.write("config.yaml", "lr: 1\n")
        self.write("notes.txt", "not included\n")
        self.write("exp.py", sdk_experiment("""
            manifest = run.snapshot_workspace(include=["*.py", "*.yaml"],
                                              exclude=["__pycache__", "results"])
            print("files", sorted(item["path"] for item in manifest["files"]))
        """))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("files ['config.yaml', 'exp.py', 'src/train.py']", result.stdout)
        run = self.only_run("results/exp")
        manifest = json.loads((run / "workspace.json").read_text())
        for item in manifest["files"]:
            blob = self.dir / "results" / ".xrun" / "blobs" / item["sha256"][:2] / item["sha256"]
            self.assertEqual(blob.read_bytes(), (self.dir / item["path"]).read_bytes())


if __name__ == "__main__":
    unittest.main()
