"""The tracking SDK's pure-Python parts under plain python3: the PNG writer used without
Pillow, the checks of image arrays, artifact names and versions, workspace patterns."""

import struct
import sys
import unittest
import zlib
from pathlib import Path

import numpy as np

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "python" / "package"
sys.dont_write_bytecode = True  # the source tree gets no __pycache__
sys.path.insert(0, str(PACKAGE))

from xrun._assets import _matches, _valid_name, _version_of  # noqa: E402
from xrun._content import _encode_png, _image_bytes, _pixels  # noqa: E402


def decode_png(data: bytes):
    """(width, height, color type, pixel rows) of a PNG whose rows use filter 0."""
    at, chunks = 8, {}
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind = data[at + 4:at + 8]
        chunks[kind] = chunks.get(kind, b"") + data[at + 8:at + 8 + length]
        at += 12 + length
    width, height, _, color_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = len(raw) // height
    assert all(raw[row * stride] == 0 for row in range(height))
    return width, height, color_type, [raw[row * stride + 1:(row + 1) * stride]
                                       for row in range(height)]


class Png(unittest.TestCase):
    def test_grey_rgb_and_rgba_arrays_round_trip(self):
        for shape, color_type in (((3, 5), 0), ((3, 5, 3), 2), ((3, 5, 4), 6)):
            pixels = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
            width, height, kind, rows = decode_png(_encode_png(pixels))
            self.assertEqual((width, height, kind), (5, 3, color_type))
            self.assertEqual(b"".join(rows), pixels.tobytes())

    def test_floats_in_zero_to_one_and_bools_become_bytes(self):
        self.assertEqual(_pixels(np.array([[0.0, 1.0]])).tolist(), [[0, 255]])
        self.assertEqual(_pixels(np.array([[True, False]])).tolist(), [[255, 0]])
        self.assertEqual(_pixels(np.zeros((2, 2, 1), dtype=np.uint8)).shape, (2, 2))

    def test_arrays_that_are_no_image_are_refused_naming_shape_or_values(self):
        with self.assertRaisesRegex(ValueError, r"not \(2, 3, 5\)"):
            _pixels(np.zeros((2, 3, 5)))
        with self.assertRaisesRegex(ValueError, r"not \(4,\)"):
            _pixels(np.zeros(4))
        with self.assertRaisesRegex(ValueError, r"\[0, 1\], not \[-1.0, 2.0\]"):
            _pixels(np.array([[-1.0, 2.0]]))
        with self.assertRaisesRegex(ValueError, r"\[0, 255\], not \[0, 300\]"):
            _pixels(np.array([[0, 300]]))

    def test_bytes_are_taken_by_their_magic(self):
        png = _encode_png(np.zeros((1, 1), dtype=np.uint8))
        self.assertEqual(_image_bytes(png, "png", 90), (png, "png"))
        self.assertEqual(_image_bytes(b"\xff\xd8\xff\xe0rest", "png", 90)[1], "jpg")
        with self.assertRaisesRegex(ValueError, "PNG or JPEG"):
            _image_bytes(b"GIF89a", "png", 90)
        with self.assertRaisesRegex(TypeError, "not int"):
            _image_bytes(3, "png", 90)


class Names(unittest.TestCase):
    def test_artifact_names_and_version_files(self):
        self.assertTrue(_valid_name("model-v1.pt"))
        for bad in ("", ".", "..", "a/b", "a b", "é"):
            self.assertFalse(_valid_name(bad), bad)
        self.assertEqual([_version_of(name) for name in ("v1.json", "v12.json", "v0.json",
                                                         "v01.json", "v1.txt", "x1.json")],
                         [1, 12, None, None, None, None])

    def test_workspace_patterns_match_the_path_or_a_part_of_it(self):
        self.assertTrue(_matches("src/train.py", ["*.py"]))
        self.assertTrue(_matches("src/__pycache__/x.pyc", ["__pycache__"]))
        self.assertFalse(_matches("notes.txt", ["*.py", "*.yaml"]))


if __name__ == "__main__":
    unittest.main()
