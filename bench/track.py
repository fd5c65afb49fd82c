#!/usr/bin/env python3
"""The tracking hot path against its floor (ratios measured in one process, see
track_experiment.py) and every tracked point on disk at the end.
Usage: bench/track.py [--xrun build/xrun] [--calls 1000000] [--rounds 7]
"""

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

from timing import scratch_folder

ROOT = Path(__file__).resolve().parents[1]


def lines(path):
    with open(path) as series:
        return sum(1 for _ in series) - 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with scratch_folder() as work:
        shutil.copy(ROOT / "bench" / "track_experiment.py", work / "track_experiment.py")
        subprocess.run([args.xrun, "run", "track_experiment.py", "--CALLS", str(args.calls),
                        "--ROUNDS", str(args.rounds)],
                       cwd=work, check=True, env={**os.environ, "XRUN_PLUGINS": "-plot_track"})
        run = next((work / "results" / "bench_track").iterdir())
        data = json.loads((run / "experiment_data.json").read_text())
        loss = lines(run / ".track" / "loss.csv")
        acc = lines(run / ".track" / "acc.csv")
        print(f"loss points on disk        {loss} of {data['points']} tracked")
        print(f"acc points on disk         {acc} of {1 + args.rounds * args.calls} tracked")


if __name__ == "__main__":
    main()
