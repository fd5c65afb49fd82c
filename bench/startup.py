#!/usr/bin/env python3
"""Whole-process time of `xrun run` against `python3 -c pass`.

Measured alternately in the same session, so machine noise hits all alike; the ratios of the
medians are what count. The budget (within 2x) is for a trivial experiment: one that sets a
data value and tracks nothing, so the plot_track plugin has nothing to draw. The quickstart,
which tracks two series, is shown without and with its plots (matplotlib's import alone is
about half a second). Usage:

    bench/startup.py [--xrun build/xrun] [--rounds 30] [--baseline OTHER/xrun]

With --baseline, another build's trivial run is timed in the same rounds, and the ratio of
the two is printed: how a change moved start-up, free of the machine's mood.
"""

import argparse
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from timing import scratch_folder

ROOT = Path(__file__).resolve().parents[1]

TRIVIAL = '''from xrun import Experiment, file_namespace, folder_path

SIZE: int = 10

@Experiment(base_path=folder_path(__file__), namespace=file_namespace(__file__),
            glob=globals())
def experiment(e):
    e["total"] = sum(range(SIZE))

experiment.run_if_main()
'''


def timed(command, cwd, env=None):
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True, env=env)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--baseline", help="another xrun binary to compare the trivial run with")
    args = parser.parse_args()

    with scratch_folder() as work:
        shutil.copy(ROOT / "examples" / "quickstart.py", work / "quickstart.py")
        (work / "trivial.py").write_text(TRIVIAL)
        commands = {
            "python3 -c pass": ["/usr/bin/python3", "-c", "pass"],
            "xrun run trivial.py": [args.xrun, "run", "trivial.py"],
            "xrun run quickstart.py --no-plugin plot_track":
                [args.xrun, "run", "quickstart.py", "--no-plugin", "plot_track"],
            "xrun run quickstart.py (2 plots)": [args.xrun, "run", "quickstart.py"],
        }
        if args.baseline:
            commands["baseline run trivial.py"] = [args.baseline, "run", "trivial.py"]
        times = {name: [] for name in commands}
        for _ in range(2):  # warm the page cache, the exported package and bytecode caches
            for command in commands.values():
                timed(command, work)
        for round_ in range(args.rounds):
            for name, command in commands.items():
                if "plots" in name and round_ % 3:
                    continue  # slow, and only shown, not budgeted
                times[name].append(timed(command, work))
        medians = {name: statistics.median(values) for name, values in times.items()}
        python = medians["python3 -c pass"]
        for name, median in medians.items():
            print(f"{name:46} median {median * 1000:7.1f} ms   ratio {median / python:5.2f}")
        print(f"ratio trivial run / python3  {medians['xrun run trivial.py'] / python:.2f}"
              f"  (budget 2.0)")
        if args.baseline:
            print(f"ratio trivial run / baseline's  "
                  f"{medians['xrun run trivial.py'] / medians['baseline run trivial.py']:.2f}")


if __name__ == "__main__":
    main()
