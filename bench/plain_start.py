#!/usr/bin/env python3
"""Whole-process time of a plain-python run against `python3 -c pass`: `import xrun`, and
`import xrun; with xrun.start(...): pass` (the watcher started, the run folder made, the end
recorded). Measured alternately in the same session, so machine noise hits all alike; the
ratios of the medians are what count (the budget of a whole run is 2x). Usage:

    bench/plain_start.py [--xrun build/xrun] [--rounds 30]
"""

import argparse
import statistics
import subprocess
import time
from pathlib import Path

from timing import plain_python_env, scratch_folder

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"
RUN = 'import xrun\nwith xrun.start("bench", system_metrics=0):\n    pass\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with scratch_folder() as work:
        env = plain_python_env(args.xrun, work)
        (work / "run.py").write_text(RUN)
        commands = {"python3 -c pass": [PYTHON, "-c", "pass"],
                    "import xrun": [PYTHON, "-c", "import xrun"],
                    "start() and finish": [PYTHON, "run.py"]}
        for command in commands.values():  # warm: bytecode written, caches filled
            subprocess.run(command, cwd=work, env=env, check=True)
        times = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, command in commands.items():
                start = time.perf_counter()
                subprocess.run(command, cwd=work, env=env, check=True)
                times[name].append(time.perf_counter() - start)
        floor = statistics.median(times["python3 -c pass"])
        for name, measured in times.items():
            median = statistics.median(measured)
            print(f"{name:20} {median * 1e3:7.1f} ms  {median / floor:5.2f}x")
        runs = list((work / "results" / "bench").iterdir())
        print(f"{len(runs)} runs recorded")


if __name__ == "__main__":
    main()
