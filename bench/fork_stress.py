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


def whole(line, step):
    """Whether `line` is the whole line of `step`, whose value track() was given as the step."""
    fields = line.split(",")
    try:
        return (len(fields) == 4 and fields[0] == str(step) and float(fields[1]) == step
                and fields[3] == "\n")
    except ValueError:
        return False


def series_lines(path):
    """(whole lines in step order, other lines) of the series written by the experiment."""
    good = bad = 0
    with open(path) as series:
        next(series)  # the header
        for step, line in enumerate(series):
            good, bad = (good + 1, bad) if whole(line, step) else (good, bad + 1)
    return good, bad


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--forks", type=int, default=200)
    args = parser.parse_args()
    with scratch_folder() as work:
        shutil.copy(ROOT / "bench" / "fork_stress_experiment.py", work / "fork_stress.py")
        xrun = str(Path(args.xrun).resolve())
        result = subprocess.run([xrun, "run", "fork_stress.py", "--FORKS", str(args.forks)],
                                cwd=work, env={**os.environ, "XRUN_PLUGINS": "-plot_track"})
        run = next((work / "results" / "bench_fork_stress").iterdir())
        meta = json.loads((run / "experiment_meta.json").read_text())
        data = json.loads((run / "experiment_data.json").read_text())
        good, bad = series_lines(run / ".track" / "x.csv")
        summary = json.loads((run / "experiment_summary.json").read_text())
        exits = ", ".join(f"{count} exited {code}" for code, count in data["exits"].items())
        print(f"xrun exit, run status      {result.returncode}, {meta['status']}")
        print(f"forks                      {data['forks_done']} ({exits})")
        print(f"points tracked             {data['tracked']} in {data['seconds']:.2f} s")
        print(f"points on disk             {good} whole lines in order, {bad} other lines")
        print(f"best in the summary        {summary['primary_metric']['best']}")


if __name__ == "__main__":
    main()
