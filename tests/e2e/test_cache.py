"""The `xrun` package exported for plain python3 and the experiment's processes, with its
bytecode and the plugins': run only from folders that belong to the user alone."""

import importlib._bootstrap_external as bootstrap
import os
import pwd
import shutil
import subprocess
import sys
import unittest
from pathlib import Path

from support import XRUN, Workspace, experiment_source

OTHER_USER = 65534  # nobody


def plant(package: Path, marker: Path, unchecked_hash: bool = False):
    """Puts, beside the genuine package source, bytecode that Python would take for it and
    that leaves `marker` when it runs."""
    source = package / "__init__.py"
    evil = compile(f"open({str(marker)!r}, 'w').write('planted code ran')\n",
                   str(source), "exec")
    if unchecked_hash:
        data = bootstrap._code_to_hash_pyc(evil, b"\0" * 8, checked=False)
    else:
        info = source.stat()
        data = bootstrap._code_to_timestamp_pyc(evil, int(info.st_mtime), info.st_size)
    cache = package / "__pycache__"
    cache.mkdir(exist_ok=True)
    (cache / f"__init__.{sys.implementation.cache_tag}.pyc").write_bytes(bytes(data))


@unittest.skipUnless(os.geteuid() == 0, "needs root to act as two users")
class PackageCache(Workspace):
    def setUp(self):
        super().setUp()
        (self.dir / "tmp").mkdir()  # where the private folders used instead go
        self.write("exp.py", experiment_source("", "e['x'] = 1"))
        self.marker = self.dir / "planted"
        # Where the package of this xrun goes, relative to a cache folder.
        exported = Path(self.xrun("python-path").stdout.strip())
        self.version = exported.relative_to(self.dir / ".cache" / "xrun")
        shutil.rmtree(self.dir / ".cache")

    def env(self, **extra):
        return super().env(**{"TMPDIR": str(self.dir / "tmp"), **extra})

    def prepared_cache(self, root: Path) -> Path:
        """The package exported under `root` as xrun would, with planted bytecode."""
        dir = root / self.version
        self.assertEqual(self.xrun("python-path", env=self.env(
            XDG_CACHE_HOME=str(self.dir / "genuine"))).returncode, 0)
        shutil.copytree(self.dir / "genuine" / "xrun" / self.version, dir)
        plant(dir / "xrun", self.marker)
        return dir

    def assertRunsSafely(self, result, refused: str = ""):
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertFalse(self.marker.exists(), "the planted bytecode ran")
        if refused:
            self.assertIn(f"xrun: warning: not using the cache folder {refused}", result.stderr)

    def test_a_cache_folder_of_another_user_is_not_used(self):
        cache = self.dir / ".cache"
        self.prepared_cache(cache / "xrun")
        subprocess.run(["chown", "-R", str(OTHER_USER), str(cache / "xrun")], check=True)
        result = self.xrun("run", "exp.py")
        self.assertRunsSafely(result, str(cache / "xrun"))
        self.assertIn("belongs to user 65534", result.stderr)
        self.assertEqual(self.data(self.only_run("results/exp")), {"x": 1})
        # The folder it used instead is a new private one in the temp folder.
        used = Path(self.xrun("python-path").stdout.strip())
        self.assertEqual(used.parent.parent.parent, self.dir / "tmp")
        self.assertTrue(used.parent.parent.name.startswith("xrun-0-"))
        self.assertEqual(used.parent.parent.stat().st_mode & 0o777, 0o700)

    def test_a_cache_folder_others_can_write_is_not_used(self):
        cache = self.dir / ".cache"
        self.prepared_cache(cache / "xrun")
        (cache / "xrun" / "python").chmod(0o777)
        result = self.xrun("run", "exp.py", "--dry-run")
        self.assertRunsSafely(result, str(cache / "xrun"))
        self.assertIn("python is writable by other users", result.stderr)

    def test_a_linked_cache_level_is_not_followed(self):
        elsewhere = self.dir / "elsewhere"
        self.prepared_cache(elsewhere)
        subprocess.run(["chown", "-R", str(OTHER_USER), str(elsewhere)], check=True)
        (self.dir / ".cache").mkdir(mode=0o700)
        (self.dir / ".cache" / "xrun").symlink_to(elsewhere)
        result = self.xrun("run", "exp.py", "--dry-run")
        self.assertRunsSafely(result, str(self.dir / ".cache" / "xrun"))
        self.assertIn("is not a folder but a link", result.stderr)

    def test_a_cache_folder_that_is_a_link_to_another_users_folder_is_not_used(self):
        # XDG_CACHE_HOME itself may be a link (to a bigger disk), but not to another's folder.
        elsewhere = self.dir / "elsewhere"
        self.prepared_cache(elsewhere / "xrun")
        subprocess.run(["chown", "-R", str(OTHER_USER), str(elsewhere)], check=True)
        (self.dir / "link").symlink_to(elsewhere)
        result = self.xrun("run", "exp.py", "--dry-run",
                           env=self.env(XDG_CACHE_HOME=str(self.dir / "link")))
        self.assertRunsSafely(result, str(self.dir / "link" / "xrun"))

    def test_bytecode_xrun_did_not_write_is_not_trusted(self):
        # The user's own folder, private, but holding bytecode Python would run unchecked.
        dir = self.prepared_cache(self.dir / ".cache" / "xrun")
        for path in [self.dir / ".cache", *(self.dir / ".cache").rglob("*")]:
            if path.is_dir():
                path.chmod(0o700)
        plant(dir / "xrun", self.marker, unchecked_hash=True)
        result = self.xrun("run", "exp.py", "--dry-run")
        self.assertRunsSafely(result)
        self.assertNotIn("warning", result.stderr)

    def test_bytecode_xrun_did_not_write_is_not_trusted_for_any_module(self):
        # The package is several modules: none is imported from bytecode xrun did not check.
        dir = self.prepared_cache(self.dir / ".cache" / "xrun")
        for path in [self.dir / ".cache", *(self.dir / ".cache").rglob("*")]:
            if path.is_dir():
                path.chmod(0o700)
        modules = sorted((dir / "xrun").glob("*.py"))
        self.assertGreater(len(modules), 1)
        for source in modules:
            evil = compile(f"open({str(self.marker)!r}, 'w').write('planted code ran')\n",
                           str(source), "exec")
            data = bootstrap._code_to_hash_pyc(evil, b"\0" * 8, checked=False)
            (dir / "xrun" / "__pycache__" /
             f"{source.stem}.{sys.implementation.cache_tag}.pyc").write_bytes(bytes(data))
        result = self.xrun("run", "exp.py")
        self.assertRunsSafely(result)
        self.assertNotIn("warning", result.stderr)
        self.assertEqual(self.data(self.only_run("results/exp")), {"x": 1})

    def test_a_checked_export_is_checked_again_after_a_change(self):
        # A run leaves the export stamped as checked; a module removed or bytecode replaced
        # afterwards (as compileall replaces it: by a rename) is seen by the next run.
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        dir = self.dir / ".cache" / "xrun" / self.version
        self.assertTrue((dir / "exported").is_file())
        (dir / "xrun" / "_jsonio.py").unlink()
        self.assertEqual(self.xrun("run", "exp.py").returncode, 0)
        self.assertTrue((dir / "xrun" / "_jsonio.py").is_file())
        source = dir / "xrun" / "_common.py"
        evil = compile(f"open({str(self.marker)!r}, 'w').write('planted code ran')\n",
                       str(source), "exec")
        cached = dir / "xrun" / "__pycache__" / f"_common.{sys.implementation.cache_tag}.pyc"
        planted = cached.with_suffix(".new")
        planted.write_bytes(bytes(bootstrap._code_to_hash_pyc(evil, b"\0" * 8, checked=False)))
        planted.rename(cached)
        result = self.xrun("run", "exp.py")
        self.assertRunsSafely(result)
        self.assertEqual(len(self.runs("results/exp")), 3)

    def test_without_home_the_temp_folder_is_used_only_when_private(self):
        if os.path.exists(pwd.getpwuid(OTHER_USER).pw_dir):
            self.skipTest("the other user has a home folder")
        temp = self.dir / "tmp"
        temp.chmod(0o1777)
        self.dir.chmod(0o755)
        (self.dir / "exp.py").chmod(0o644)
        env = self.env(TMPDIR=str(temp))
        for name in ["HOME", "XDG_CACHE_HOME"]:
            env.pop(name, None)

        def as_other_user():
            os.setgid(OTHER_USER)
            os.setuid(OTHER_USER)

        def dry_run():
            return subprocess.run([XRUN, "run", "exp.py", "--dry-run"], cwd=self.dir, env=env,
                                  capture_output=True, text=True, timeout=60,
                                  preexec_fn=as_other_user)
        try:  # the build must be reachable for that user (a clone in a private folder is not)
            subprocess.run([XRUN, "--version"], capture_output=True, timeout=60,
                           preexec_fn=as_other_user)
        except PermissionError:
            self.skipTest(f"{XRUN} cannot be run by user {OTHER_USER}: its folder is private")
        # Another user (here root) made the folder first, with bytecode of its own.
        cache = temp / f"xrun-{OTHER_USER}"
        self.prepared_cache(cache)
        cache.chmod(0o755)
        self.marker.touch()
        self.marker.chmod(0o666)  # so that the planted code could write it
        self.marker.write_text("")
        result = dry_run()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.marker.read_text(), "", "the planted bytecode ran")
        self.assertIn(f"not using the cache folder {cache}: {cache} belongs to user 0",
                      result.stderr)
        # Without it, the folder is made, the user's alone.
        shutil.rmtree(cache)
        result = dry_run()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("warning", result.stderr)
        info = cache.stat()
        self.assertEqual((info.st_uid, info.st_mode & 0o777), (OTHER_USER, 0o700))


if __name__ == "__main__":
    unittest.main()
