#!/usr/bin/env python3
"""What a run's tracked series, summary and primary metric hold on disk: after 1,000,000
points and a normal end (all of them), and after a SIGKILL of the experiment while it logs
(every point given more than 1 s before the kill, the summary and the best value as they
were 1 s before, only whole lines). Usage: bench/durability.py [--xrun build/xrun]
[--points 1000000]
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from timing import scratch_folder

ROOT = Path(__file__).resolve().parents[1]


def series_lines(path):
    """(whole lines in step order 0, 1, 2, ..., lines damaged or out of order, a torn end)."""
    raw = path.read_bytes()
    body, _, torn = raw.rpartition(b"\n")
    lines = body.decode().split("\n")[1:] if body else []
    whole = damaged = 0
    for line in lines:
        fields = line.split(",")
        try:
            good = len(fields) == 4 and int(fields[0]) == whole and float(fields[1]) == whole \
                and float(fields[2]) > 0 and fields[3] == "train"
        except ValueError:
            good = False
        if good:
            whole += 1
        else:
            damaged += 1
    return whole, damaged, len(torn)


def progress_before(folder, moment):
    """The pid, and the last point noted at or before `moment` (-1 for none)."""
    pid, owed = 0, -1
    for line in (folder / "progress.txt").read_text().splitlines():
        first, second = line.split()
        if first == "pid":
            pid = int(second)
        elif float(second) <= moment:
            owed = int(first)
    return pid, owed


def start(xrun, work, *args):
    return subprocess.Popen([xrun, "run", "durability_experiment.py", *args], cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "XRUN_PLUGINS": "-plot_track"})


def run_folder(work):
    runs = sorted((work / "results" / "durability").iterdir())
    return runs[-1]


def normal_end(xrun, work, points):
    process = start(xrun, work, "--POINTS", str(points))
    _, stderr = process.communicate()
    folder = run_folder(work)
    whole, damaged, torn = series_lines(folder / ".track" / "x.csv")
    summary = json.loads((folder / "experiment_summary.json").read_text())
    print(f"normal end: {whole} of {points} points on disk, {damaged} damaged lines, "
          f"{torn} bytes torn; summary last {summary['summary'].get('last')}, "
          f"best {summary['primary_metric']['best']} at step "
          f"{summary['primary_metric']['step']} (exit {process.returncode})")
    return whole == points and damaged == 0 and torn == 0


def killed(xrun, work, points, after):
    process = start(xrun, work, "--POINTS", str(points), "--KILL", "True")
    folder = None
    while folder is None or progress_before(folder, time.time())[1] < points:
        time.sleep(0.05)
        if process.poll() is not None:
            sys.exit(f"the experiment ended early: {process.stderr.read()}")
        try:
            folder = run_folder(work)
            (folder / "progress.txt").stat()
        except (FileNotFoundError, StopIteration):
            folder = None
    time.sleep(after)
    moment = time.time()
    pid, _ = progress_before(folder, moment)
    os.kill(pid, signal.SIGKILL)
    process.communicate()
    _, owed = progress_before(folder, moment - 1.0)
    _, given = progress_before(folder, moment)
    whole, damaged, torn = series_lines(folder / ".track" / "x.csv")
    summary = json.loads((folder / "experiment_summary.json").read_text())
    last = summary["summary"].get("last", -1)
    best = summary["primary_metric"]["best"]
    print(f"SIGKILL: {whole} whole points on disk, {given + 1}+ given, {owed + 1} given more "
          f"than 1 s before the kill; {damaged} damaged lines, {torn} bytes torn at the end")
    print(f"SIGKILL: summary last {last} (owed {owed}), primary best {best} (owed {owed})")
    return whole >= owed + 1 and damaged == 0 and last >= owed and best >= owed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--after", type=float, default=1.5,
                        help="seconds of logging after POINTS before the kill")
    args = parser.parse_args()
    with scratch_folder() as work:
        shutil.copy(ROOT / "bench" / "durability_experiment.py", work)
        good = normal_end(args.xrun, work, args.points)
        good = killed(args.xrun, work, args.points, args.after) and good
    print("all owed points, summary and best on disk" if good else "SOMETHING WAS LOST")
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
