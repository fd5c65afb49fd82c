#!/usr/bin/env python3
"""`xrun.runs(where=...)` against `xrun archive list --json` for the same selection, over a
generated archive of RUNS runs (default 100k) with a warm index, measured in one run.

`xrun.runs` asks the binary for that listing and reads its JSON, so the ratio is what the
Python side adds: starting the binary from Python and parsing the rows. Two selections: the
best 200 runs by a data value (a short answer), and every run matching a where on parameters
(tens of thousands of rows). Each time is the median of five rounds; the Python one is taken
inside one plain python3 process (the package from `xrun python-path`), as a notebook would
call it.                                                              target: ratio <= 2
Usage: bench/results.py [--xrun build/xrun] [--runs 100000]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from timing import plain_python_env, scratch_folder
from ui import generate_runs

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 5
SELECTIONS = [
    ("best 200 by data.metrics.acc",
     dict(where='LR >= 0.01 and status == "done"', columns=["data.metrics.acc"],
          sort="-data.metrics.acc", limit=200)),
    ("every cnn run with LR >= 0.01",
     dict(where='LR >= 0.01 and MODEL == "cnn"', columns=[], sort="start_time", limit=None)),
]

# Runs in the plain python3 process: the median time of xrun.runs for each selection, and
# the number of rows it gave, as one JSON line.
TIMED = """\
import json, statistics, sys, time
import xrun

archive, selections, rounds = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
answers = []
for options in selections:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        rows = xrun.runs(archive, as_="records", **options)
        times.append(time.perf_counter() - start)
    answers.append([statistics.median(times), len(rows)])
print(json.dumps(answers))
"""


def cli_seconds(xrun: str, archive: Path, options: dict) -> tuple:
    """The median time of `xrun archive list --json` with these options, and its rows."""
    words = [xrun, "archive", "list", "--json", "--path", str(archive), "--where",
             options["where"], "--sort", options["sort"]]
    if options["columns"]:
        words += ["--columns", ",".join(options["columns"])]
    if options["limit"]:
        words += ["--limit", str(options["limit"])]
    times, rows = [], 0
    for _ in range(ROUNDS):
        start = time.perf_counter()
        done = subprocess.run(words, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
        rows = len(json.loads(done.stdout))
    return statistics.median(times), rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--runs", type=int, default=100_000)
    args = parser.parse_args()
    xrun = str(Path(args.xrun).resolve())
    with scratch_folder() as work:
        archive = work / "results"
        start = time.perf_counter()
        generate_runs(archive, args.runs, "exp")
        print(f"{args.runs} runs generated in {time.perf_counter() - start:.1f} s")
        subprocess.run([xrun, "archive", "index", "--path", str(archive)], check=True,
                       stdout=subprocess.DEVNULL)
        selections = [options for _, options in SELECTIONS]
        for options in selections:
            cli_seconds(xrun, archive, options)  # the index then holds the data values read
        timed = subprocess.run(
            ["/usr/bin/python3", "-c", TIMED, str(archive), json.dumps(selections),
             str(ROUNDS)], env=plain_python_env(xrun, work), capture_output=True, text=True)
        if timed.returncode != 0:
            sys.exit(f"xrun.runs failed:\n{timed.stderr}")
        answers = json.loads(timed.stdout)
        print(f"{'selection':32} {'rows':>7} {'xrun.runs':>10} {'archive list':>13} {'ratio':>6}")
        for (label, options), (python, rows) in zip(SELECTIONS, answers):
            cli, cli_rows = cli_seconds(xrun, archive, options)
            if cli_rows != rows:
                sys.exit(f"{label}: xrun.runs gave {rows} rows, xrun archive list {cli_rows}")
            print(f"{label:32} {rows:7} {python * 1000:8.1f} ms {cli * 1000:10.1f} ms "
                  f"{python / cli:6.2f}")
        print("target: ratio <= 2")


if __name__ == "__main__":
    main()
