#!/usr/bin/env python3
"""Shell completion of an experiment's parameters: `xrun __complete run big.py --` over a
generated 500-line module, against `xrun --version` (the process start alone), in one run.

Usage: bench/completion.py [--xrun build/xrun] [--lines 500]
"""

import argparse
from pathlib import Path

from timing import median_seconds, scratch_folder

ROOT = Path(__file__).resolve().parents[1]


def module(lines: int) -> str:
    parts = ['"""A large experiment module."""', "from xrun import Experiment, folder_path",
             "import math", ""]
    i = 0
    while len(parts) < lines - 8:
        parts += [f"# :param P{i}:", f"#     Parameter number {i}, described.",
                  f"P{i}: float = {i}.5", f"helper_{i} = [x * {i} for x in range(3)]"]
        i += 1
    parts += ["", "@Experiment(base_path=folder_path(__file__), namespace='results/big', "
              "glob=globals())", "def experiment(e):", "    e['sum'] = sum([P0, P1])", "",
              "experiment.run_if_main()"]
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with scratch_folder() as work:
        (work / "big.py").write_text(module(args.lines))
        lines = len((work / "big.py").read_text().splitlines())
        start = median_seconds([args.xrun, "--version"], work, args.rounds)
        completion = median_seconds([args.xrun, "__complete", "run", "big.py", "--"], work, args.rounds)
        print(f"{lines}-line module")
        print(f"xrun --version                   {start * 1000:6.1f} ms")
        print(f"xrun __complete run big.py --    {completion * 1000:6.1f} ms  (target: 20 ms; "
              f"{(completion - start) * 1000:.1f} ms beyond the process start)")


if __name__ == "__main__":
    main()
