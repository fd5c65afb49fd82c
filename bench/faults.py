#!/usr/bin/env python3
"""Every call failing, one run each: the exhaustive sweep of tests/e2e/test_faults.py.

The e2e test fails a seeded sample of the write, sync, rename, link, mkdir and open calls of a
run and of the archive commands; this fails each one in turn (XRUN_FAULT_EVERY_CALL), test by
test, and prints how many calls each command made, how many were failed and the seconds it
took. A test that finds a fault handled badly prints what it found and the script exits 1.
Usage: bench/faults.py [--xrun build/xrun] [--shim build/tests/libxrun_fault_shim.so] [TEST...]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["RunFaults.test_each_call_failing_once", "RunFaults.test_disk_full_from_each_call_on",
         "RunFaults.test_io_and_permission_errors", "ArchiveFaults.test_index_written_with_a_fault",
         "ArchiveFaults.test_compress_with_a_fault", "ArchiveFaults.test_extract_with_a_fault",
         "ScriptFaults.test_each_call_failing_once"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--shim", default=str(ROOT / "build" / "tests" / "libxrun_fault_shim.so"))
    parser.add_argument("tests", nargs="*", default=TESTS)
    options = parser.parse_args()
    for path in (options.xrun, options.shim):
        if not Path(path).exists():
            sys.exit(f"faults.py: {path} does not exist (build with -DXRUN_BUILD_TESTS=ON)")
    failed = False
    print(f"{'test':<52} {'calls':>6} {'failed':>7} {'seconds':>8}  result")
    for test in options.tests:
        with tempfile.NamedTemporaryFile("r", suffix=".txt") as report:
            env = dict(os.environ, XRUN_BIN=os.path.abspath(options.xrun),
                       XRUN_FAULT_SHIM=os.path.abspath(options.shim), XRUN_SOURCE_DIR=str(ROOT),
                       XRUN_FAULT_EVERY_CALL="1", XRUN_FAULT_REPORT=report.name,
                       PYTHONDONTWRITEBYTECODE="1")
            start = time.monotonic()
            result = subprocess.run(["/usr/bin/python3", "-m", "unittest", f"test_faults.{test}"],
                                    cwd=ROOT / "tests" / "e2e", env=env, capture_output=True,
                                    text=True)
            seconds = time.monotonic() - start
            rows = [line.split() for line in report.read().splitlines()]
        counted = sum(int(row[1]) for row in rows)
        tried = sum(int(row[2]) for row in rows)
        verdict = "ok" if result.returncode == 0 else "FOUND PROBLEMS"
        print(f"{test:<52} {counted:>6} {tried:>7} {seconds:>8.1f}  {verdict}", flush=True)
        if result.returncode != 0:
            failed = True
            print(result.stderr[-4000:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
