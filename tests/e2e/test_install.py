"""`cmake --install`: the binary and the completion scripts in standard places under a
prefix, and the installed binary runs the quickstart on its own."""

import os
import re
import shutil
import subprocess
import unittest
from pathlib import Path

from support import XRUN, Workspace

SOURCE = Path(os.environ.get("XRUN_SOURCE_DIR", Path(__file__).resolve().parents[2]))


class Install(Workspace):
    def test_install_into_a_prefix_and_run_from_there(self):
        cmake = shutil.which("cmake")
        if not cmake:
            self.skipTest("cmake is not on PATH")
        prefix = self.dir / "prefix"
        result = subprocess.run([cmake, "--install", str(Path(XRUN).parent), "--prefix",
                                 str(prefix)], capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        installed = prefix / "bin" / "xrun"
        build_type = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$",
                               (Path(XRUN).parent / "CMakeCache.txt").read_text(), re.M)
        if build_type is None or build_type.group(1) != "Debug":
            # Installed for running: without the debug information the build keeps.
            self.assertIn("Stripping", result.stdout)
            sections = subprocess.run(["readelf", "-S", "-W", str(installed)],
                                      capture_output=True, text=True, timeout=60)
            self.assertEqual(sections.returncode, 0, sections.stderr)
            self.assertIn(".dynsym", sections.stdout)  # what extension modules link against
            self.assertNotIn(".debug_info", sections.stdout)
            self.assertNotIn(".symtab", sections.stdout)
            self.assertLess(installed.stat().st_size, Path(XRUN).stat().st_size)
        else:
            self.assertNotIn("Stripping", result.stdout)  # a Debug build keeps its symbols
        for path in [installed,
                     prefix / "share" / "bash-completion" / "completions" / "xrun",
                     prefix / "share" / "zsh" / "site-functions" / "_xrun",
                     prefix / "share" / "fish" / "vendor_completions.d" / "xrun.fish"]:
            self.assertTrue(path.is_file(), f"{path} was not installed")
        self.assertTrue((prefix / "share" / "xrun" / "templates" /
                         "experiment.py.mustache").is_file())
        packages = list(prefix.glob("lib/python3.*/dist-packages/xrun/__init__.py"))
        self.assertEqual(len(packages), 1, "the Python package was not installed")
        imported = subprocess.run(["/usr/bin/python3", "-c", "import xrun; print(xrun.__file__)"],
                                  env=self.env(PYTHONPATH=str(packages[0].parent.parent)),
                                  capture_output=True, text=True, timeout=60)
        self.assertEqual(imported.returncode, 0, imported.stderr)
        if os.environ.get("XRUN_SANITIZED") != "1":  # no extension in a sanitizer build
            self.check_plain_python(packages[0].parent.parent, installed)
        shutil.copy(SOURCE / "examples" / "quickstart.py", self.dir / "quickstart.py")
        # The installed binary finds the plugins installed beside it, and they draw.
        plugins = prefix / "share" / "xrun" / "plugins"
        listed = subprocess.run([str(installed), "plugins", "list"], cwd=self.dir, env=self.env(),
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn(str(plugins / "plot_track.py"), listed.stdout)
        self.assertIn(str(plugins / "notify.py"), listed.stdout)
        run = subprocess.run([str(installed), "run", "quickstart.py", "--STEPS", "20",
                              "--plugin", "plot_track"],
                             cwd=self.dir, capture_output=True, text=True, env=self.env(),
                             timeout=120)
        self.assertEqual(run.returncode, 0, run.stderr)
        folder = self.only_run("results/quickstart")
        self.assertEqual(self.meta(folder)["status"], "done")
        self.assertTrue((folder / "plots" / "position.png").is_file(), run.stdout)

    def check_plain_python(self, site: Path, installed: Path):
        """The installed extension module and the watcher it starts: a run from plain
        python3."""
        self.assertEqual(len(list(site.glob("_xrun*.so"))), 1, "_xrun was not installed")
        self.assertEqual((site / "xrun" / "xrun_binary.txt").read_text(), str(installed))
        self.write("plain.py", "import _xrun, xrun\nprint('embedded', _xrun.EMBEDDED)\n"
                               "with xrun.start('plain', params={'n': 1}) as run:\n"
                               "    run.track('x', 1.0)\n")
        plain = subprocess.run(["/usr/bin/python3", "plain.py"], cwd=self.dir,
                               env=self.env(PYTHONPATH=str(site)), capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertIn("embedded False", plain.stdout)
        folder = self.only_run("results/plain")
        self.assertEqual(self.meta(folder)["status"], "done")
        self.assertTrue(self.meta(folder)["watched"]["traced"])
        self.assertEqual(self.meta(folder)["command_line"][0], "/usr/bin/python3")


if __name__ == "__main__":
    unittest.main()
