#!/usr/bin/env python3
"""Whole-process time of `xrun run examples/quickstart.py` against `python3 -c pass`.

Both commands are run alternately in the same session, so machine noise hits both alike; the
ratio of the medians is what counts (budget: within 2x). Usage:

    bench/startup.py [--xrun build/xrun] [--rounds 30]
"""

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command, cwd, env=None):
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True, env=env)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="xrun-bench-"))
    try:
        shutil.copy(ROOT / "examples" / "quickstart.py", work / "quickstart.py")
        xrun = [args.xrun, "run", "quickstart.py"]
        python = ["/usr/bin/python3", "-c", "pass"]
        for _ in range(3):  # warm the page cache and the exported package
            timed(xrun, work)
            timed(python, work)
        xrun_times, python_times = [], []
        for _ in range(args.rounds):
            xrun_times.append(timed(xrun, work))
            python_times.append(timed(python, work))
        x, p = statistics.median(xrun_times), statistics.median(python_times)
        print(f"python3 -c pass          median {p * 1000:7.1f} ms")
        print(f"xrun run quickstart.py   median {x * 1000:7.1f} ms")
        print(f"ratio xrun/python        {x / p:.2f}  (budget 2.0)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
