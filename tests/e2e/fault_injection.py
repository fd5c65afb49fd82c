"""Running xrun with one failing file operation, and what must hold of an archive afterwards.

Shared by tests/e2e/test_faults.py (a sample of the calls) and bench/faults.py (every call).
The failing call is made by the LD_PRELOAD library of tests/faults/fault_shim.c, built with the
tests (XRUN_FAULT_SHIM names it): it counts the calls that change files under a path, in every
process of the command (a counter file they all map), and fails the Nth with an errno.
"""

import errno
import json
import os
import re
import struct
import subprocess
from pathlib import Path

SHIM = os.environ.get("XRUN_FAULT_SHIM", "")

# The names xrun's writers give what they have not finished: AtomicFile's named temp file, a run
# folder not yet published, SQLite's rollback journal (left only by a writer that died).
UNFINISHED_NAME = re.compile(r"\.tmp\.|\.starting$|-journal$")

STRERROR = {name: os.strerror(getattr(errno, name)) for name in
            ("ENOSPC", "EIO", "EACCES", "EFBIG", "EDQUOT", "EROFS")}


def fault_environment(env: dict, count_file: Path, path: Path, call: int = 0,
                      error: str = "ENOSPC", only: str = "", persist: bool = False) -> dict:
    """`env` with the shim loaded: counting the calls on files under `path` into `count_file`
    and, when `call` is not 0, failing that one (and every later one when `persist`)."""
    env = dict(env)
    env["LD_PRELOAD"] = SHIM
    env["XRUN_FAULT_COUNT_FILE"] = str(count_file)
    env["XRUN_FAULT_PATH"] = str(path)
    env["XRUN_FAULT_CALL"] = str(call)
    env["XRUN_FAULT_ERRNO"] = error
    env["XRUN_FAULT_ONLY"] = only
    env["XRUN_FAULT_PERSIST"] = "1" if persist else "0"
    return env


def read_count(count_file: Path) -> int:
    """The number of calls the shim counted (0 when nothing was loaded)."""
    try:
        data = count_file.read_bytes()
    except FileNotFoundError:
        return 0
    return struct.unpack("<Q", data[:8])[0] if len(data) >= 8 else 0


def sample(total: int, size: int, seed: int) -> list:
    """`size` of the calls 1..total, always the first and the last few (the start and the end
    of a command are where its records are made), the rest drawn with `seed`. Every call when
    XRUN_FAULT_EVERY_CALL is set (bench/faults.py)."""
    calls = list(range(1, total + 1))
    if total <= size or os.environ.get("XRUN_FAULT_EVERY_CALL"):
        return calls
    import random
    fixed = sorted(set(calls[:3] + calls[-3:]))
    rest = [n for n in calls if n not in fixed]
    return sorted(fixed + random.Random(seed).sample(rest, size - len(fixed)))


def run_files(archive: Path) -> dict:
    """Every file of every run folder under `archive`, by path, with its bytes: what must stay
    as it is whatever a later command suffers."""
    files = {}
    for meta in archive.rglob("experiment_meta.json"):
        for path in meta.parent.rglob("*"):
            if path.is_file():
                files[str(path.relative_to(archive))] = path.read_bytes()
    return files


def damage(folder: Path) -> list:
    """What is half-written or unfinished under `folder`: JSON that does not parse, JSON lines
    with a line that does not, a tracked series ending in part of a line or with a line of
    another length than its header's, left-over temp files and staged folders."""
    problems = []
    for path in sorted(folder.rglob("*")):
        if UNFINISHED_NAME.search(path.name):
            problems.append(f"left over: {path.relative_to(folder)}")
        if not path.is_file():
            continue
        if path.suffix == ".json":
            try:
                json.loads(path.read_bytes())
            except ValueError as error:
                problems.append(f"not JSON: {path.relative_to(folder)}: {error}")
        elif path.suffix == ".csv" and path.parent.name == ".track":
            text = path.read_text()
            lines = text.splitlines()
            if text and not text.endswith("\n"):
                problems.append(f"a part of a line: {path.relative_to(folder)}")
            elif any(line.count(",") != lines[0].count(",") for line in lines):
                problems.append(f"a line of another length: {path.relative_to(folder)}")
        elif path.suffix == ".jsonl":
            for number, line in enumerate(path.read_bytes().splitlines(), 1):
                try:
                    json.loads(line)
                except ValueError:
                    problems.append(f"not JSON: {path.relative_to(folder)} line {number}")
    return problems


def listing(xrun: str, cwd: Path, env: dict, archive: str = "results"):
    """`xrun archive list --json` without faults: (problem or None, the rows)."""
    result = subprocess.run([xrun, "archive", "list", "--path", archive, "--json"], cwd=cwd,
                            env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0 or "Traceback" in result.stderr:
        return f"archive list: exit {result.returncode}: {result.stderr.strip()}", []
    try:
        return None, json.loads(result.stdout)
    except ValueError as error:
        return f"archive list --json printed no JSON: {error}", []


def unexpected_exit(result, allowed, failed_run: bool = False) -> list:
    """An exit code outside `allowed`, a traceback or an internal error in what xrun printed.
    A run that failed (`failed_run`) shows the traceback of the exception that ended it."""
    problems = []
    if result.returncode not in allowed:
        problems.append(f"exit code {result.returncode} (allowed {sorted(allowed)})")
    if "internal error" in result.stderr or ("Traceback" in result.stderr and not failed_run):
        problems.append(f"a traceback or an internal error: {result.stderr.strip()[-600:]}")
    return problems
