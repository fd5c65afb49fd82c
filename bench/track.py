#!/usr/bin/env python3
"""e.track() per call against list.append in the same process, e[key] = value per call, and
how soon a tracked value is on disk. Usage: bench/track.py [--xrun build/xrun] [--calls 1000000]
"""

import argparse
import shutil
import subprocess
from pathlib import Path

from timing import scratch_folder

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--calls", type=int, default=1_000_000)
    args = parser.parse_args()
    with scratch_folder() as work:
        shutil.copy(ROOT / "bench" / "track_experiment.py", work / "track_experiment.py")
        subprocess.run([args.xrun, "run", "track_experiment.py", "--CALLS", str(args.calls)],
                       cwd=work, check=True)
        run = next((work / "results" / "bench_track").iterdir())
        with open(run / ".track" / "loss.csv") as series:
            lines = sum(1 for _ in series) - 1
        print(f"series lines on disk       {lines} of {1 + 5 * args.calls} tracked")


if __name__ == "__main__":
    main()
