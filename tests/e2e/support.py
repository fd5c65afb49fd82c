"""Helpers for the end-to-end tests: a temp workspace and a way to run the built xrun."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
import threading
import time
import unittest
from pathlib import Path

XRUN = os.environ.get("XRUN_BIN", "")
SOURCE_DIR = Path(os.environ.get("XRUN_SOURCE_DIR", Path(__file__).resolve().parents[2]))

HEADER = """\
from xrun import Experiment, file_namespace, folder_path
"""

DECORATOR = (
    "@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__), "
    "glob=globals())"
)


def experiment_source(parameters: str, body: str, extra: str = "") -> str:
    """A complete experiment module: parameters at the top, `body` inside the main function."""
    return (HEADER + textwrap.dedent(parameters) + "\n" + textwrap.dedent(extra) + "\n"
            + DECORATOR + "\ndef experiment(e):\n" + textwrap.indent(textwrap.dedent(body), "    ")
            + "\n\nexperiment.run_if_main()\n")


class Workspace(unittest.TestCase):
    """Each test gets a fresh folder, and runs xrun there."""

    def setUp(self):
        if not XRUN:
            self.skipTest("XRUN_BIN is not set (run the tests through ctest)")
        self.dir = Path(tempfile.mkdtemp(prefix="xrun-e2e-"))
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def write(self, name: str, text: str) -> Path:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def env(self, **extra):
        env = dict(os.environ)
        env.pop("VIRTUAL_ENV", None)
        env["XDG_CACHE_HOME"] = str(self.dir / ".cache")  # keep the user's cache out of it
        env["XDG_CONFIG_HOME"] = str(self.dir / ".config")  # and the user's plugins
        # Drawing plots (matplotlib's import alone) would cost every test run a second; the
        # plugin tests turn plot_track on again.
        env["XRUN_PLUGINS"] = "-plot_track"
        env.update(extra)
        return env

    def python_package(self) -> str:
        """The folder `xrun python-path` exports the package to: PYTHONPATH for plain python3."""
        result = self.xrun("python-path")
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.strip()

    def xrun(self, *args, env=None, timeout=120, input=None):
        return subprocess.run([XRUN, *map(str, args)], cwd=self.dir, capture_output=True,
                              text=True, timeout=timeout, env=env or self.env(), input=input)

    def on_terminal(self, *args, stdout=False, stderr=True, env=None):
        """Runs xrun with stdout and/or stderr on a pseudo-terminal, as in an interactive shell
        (stdin is not one); returns (exit code, what the terminal showed with its line ends as
        `\\n`, and the stream that went to a pipe)."""
        leader, follower = os.openpty()
        try:
            process = subprocess.Popen([XRUN, *map(str, args)], cwd=self.dir,
                                       stdin=subprocess.DEVNULL,
                                       stdout=follower if stdout else subprocess.PIPE,
                                       stderr=follower if stderr else subprocess.PIPE,
                                       env=env or self.env())
        finally:
            os.close(follower)
        chunks = []

        def drain():
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # every holder of the terminal has closed it
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        reader = threading.Thread(target=drain)
        reader.start()
        try:
            piped = b"".join(part or b"" for part in process.communicate(timeout=120))
        finally:
            reader.join(timeout=60)
            os.close(leader)
        shown = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
        return process.returncode, shown, piped.decode(errors="replace")

    def start(self, *args, env=None):
        """Starts xrun in the background (its own session, like a terminal's job)."""
        return subprocess.Popen([XRUN, *map(str, args)], cwd=self.dir, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env or self.env(),
                                start_new_session=True)

    def runs(self, namespace: str):
        folder = self.dir / namespace
        if not folder.exists():
            return []
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))

    def only_run(self, namespace: str) -> Path:
        runs = self.runs(namespace)
        self.assertEqual(len(runs), 1, f"expected one run in {namespace}, found {runs}")
        return runs[0]

    @staticmethod
    def meta(run: Path) -> dict:
        return json.loads((run / "experiment_meta.json").read_text())

    @staticmethod
    def data(run: Path) -> dict:
        return json.loads((run / "experiment_data.json").read_text())

    @staticmethod
    def log(run: Path) -> str:
        return (run / "experiment_out.log").read_text()

    def wait_for(self, condition, timeout=30.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        self.fail(f"timed out waiting for {what}")

    def assertNoRunFolder(self):
        leftovers = [p for p in self.dir.rglob("experiment_meta.json")]
        self.assertEqual(leftovers, [], "a run folder was created")

    def assertUsageError(self, result, *fragments):
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("xrun: error:", result.stderr)
        self.assertNotIn("Traceback", result.stderr.split("xrun: error:")[-1])
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)


def dry_run_table(output: str) -> dict:
    """The rows of ``--dry-run``'s table as NAME: (TYPE, VALUE, SOURCE), checking that each
    row's columns start under the header's."""
    lines = [line for line in output.splitlines() if line.strip()]
    header = next(index for index, line in enumerate(lines) if line.startswith("NAME "))
    title = lines[header]
    starts = [title.index(column) for column in ("TYPE", "VALUE", "SOURCE")]
    rows = {}
    for line in lines[header + 1:]:
        for start in starts[:2]:
            if line[start - 1] != " " or line[start] == " ":
                raise AssertionError(f"not aligned under the header:\n{title}\n{line}")
        value, source = line[starts[1]:].rstrip().rsplit("  ", 1)
        rows[line[:starts[0]].strip()] = (line[starts[0]:starts[1]].strip(), value.strip(),
                                          source.strip())
    return rows


def interrupt(process, sig=signal.SIGINT):
    os.killpg(process.pid, sig)
