#!/usr/bin/env python3
"""A sweep of 100 variations with -j 2 against 100 single `xrun run`s one after the other.

Parallel efficiency = (sequential time / 2) / sweep time: 100% when two workers are exactly
twice as fast as one at a time (target: at least 80%). The experiment is trivial by default
(`--sleep S` gives it S seconds of waiting, so that the machine's cores matter less); the
per-run overhead of the sweep machinery (planning, workers, manifest) is reported too. Both
are measured in the same session, alternately. Usage:

    bench/sweep.py [--xrun build/xrun] [--variations 100] [--sleep 0] [--rounds 2]
"""

import argparse
import subprocess
import time
from pathlib import Path

from timing import scratch_folder

ROOT = Path(__file__).resolve().parents[1]

EXPERIMENT = '''import time
from xrun import Experiment, file_namespace, folder_path

INDEX: int = 0
SLEEP: float = 0.0

@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__),
            glob=globals())
def experiment(e):
    time.sleep(SLEEP)
    e["index"] = INDEX

experiment.run_if_main()
'''


def timed(command, cwd):
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--variations", type=int, default=100)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with scratch_folder() as work:
        (work / "exp.py").write_text(EXPERIMENT)
        values = ",".join(str(i) for i in range(args.variations))
        sweep = [args.xrun, "run", "exp.py", "--sweep", f"INDEX={values}", "-j", "2",
                 "--SLEEP", str(args.sleep), "--no-plugin", "plot_track"]
        timed([args.xrun, "run", "exp.py", "--SLEEP", "0"], work)  # warm caches
        sequential, swept = [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            for i in range(args.variations):
                subprocess.run([args.xrun, "run", "exp.py", "--INDEX", str(i), "--SLEEP",
                                str(args.sleep), "--no-plugin", "plot_track"], cwd=work,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            sequential.append(time.perf_counter() - start)
            swept.append(timed(sweep, work))
        s, p = min(sequential), min(swept)
        n = args.variations
        print(f"{n} single runs, one after the other   {s:7.2f} s  ({s / n * 1000:.0f} ms a run)")
        print(f"sweep of {n} with -j 2                 {p:7.2f} s")
        print(f"parallel efficiency (sequential / 2 / sweep)   {s / 2 / p * 100:.0f}%  "
              f"(target 80%)")
        print(f"sweep machinery per variation          "
              f"{(p - s / 2) / n * 1000 * 2:+.0f} ms of worker time")


if __name__ == "__main__":
    main()
