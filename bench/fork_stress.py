#!/usr/bin/env python3
"""Forks of an experiment whose thread tracks at full speed (see fork_stress_experiment.py):
how the children ended, and the parent's points against its series file, line by line.
Usage: bench/fork_stress.py [--xrun build/xrun] [--forks 200]
"""

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

from timing import scratch_folder

ROOT = Path(__file__).resolve().parents[1]


def series_lines(path):
    """(whole lines in step order, other lines) of a series of 0.5s written by track()."""
    whole = broken = 0
    with open(path) as series:
        next(series)  # the header
        for line in series:
            step, value, _, stage = (line.split(",") + ["", "", "", ""])[:4]
            if (step, value, stage) == (str(whole + broken), "0.5", "\n"):
                whole += 1
            else:
                broken += 1
    return whole, broken


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--forks", type=int, default=200)
    args = parser.parse_args()
    with scratch_folder() as work:
        shutil.copy(ROOT / "bench" / "fork_stress_experiment.py", work / "fork_stress.py")
        result = subprocess.run([args.xrun, "run", "fork_stress.py", "--FORKS", str(args.forks)],
                                cwd=work, env={**os.environ, "XRUN_PLUGINS": "-plot_track"})
        run = next((work / "results" / "bench_fork_stress").iterdir())
        meta = json.loads((run / "experiment_meta.json").read_text())
        data = json.loads((run / "experiment_data.json").read_text())
        whole, broken = series_lines(run / ".track" / "x.csv")
        exits = ", ".join(f"{count} exited {code}" for code, count in data["exits"].items())
        print(f"xrun exit, run status      {result.returncode}, {meta['status']}")
        print(f"forks                      {data['forks_done']} ({exits})")
        print(f"points tracked             {data['tracked']} in {data['seconds']:.2f} s")
        print(f"points on disk             {whole} whole lines in order, {broken} other lines")


if __name__ == "__main__":
    main()
