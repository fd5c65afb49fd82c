#!/usr/bin/env python3
"""Runs every fuzz target (tests/fuzz, built in a folder configured with clang and -DXRUN_FUZZ=ON)
for a while, one after the other, and prints each one's executions, rate and findings. A target
stops at its first finding: its input is left as crash-*, leak-*, timeout-* or oom-* in the
build folder's tests/fuzz/, named in the output.
Usage: bench/fuzz.py [--build build-fuzz] [--seconds 300] [TARGET ...]
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FINDING_PREFIXES = ("crash-", "leak-", "timeout-", "oom-", "slow-unit-")


def findings(folder, name):
    """The files libFuzzer left in `folder` for inputs that failed `name`."""
    return {path for path in folder.glob(f"{name}-*") if path.name[len(name) + 1:].startswith(
        FINDING_PREFIXES)}


def fuzz(build, name, seconds):
    """Runs the target `name` for `seconds`; returns (executions, seconds run, new findings)."""
    binary = build / "tests" / "fuzz" / name
    work = build / "tests" / "fuzz" / "corpus" / name.removesuffix("_fuzz")
    work.mkdir(parents=True, exist_ok=True)
    seeds = ROOT / "tests" / "fuzz" / "corpus" / name.removesuffix("_fuzz")
    dictionary = ROOT / "tests" / "fuzz" / f"{name.removesuffix('_fuzz')}.dict"
    before = findings(work.parent, name)
    command = [str(binary), f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048",
               "-print_final_stats=1", f"-artifact_prefix={work.parent}/{name}-", str(work),
               str(seeds)]
    if dictionary.exists():
        command.insert(1, f"-dict={dictionary}")
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace")
    executions = re.search(r"^stat::number_of_executed_units: *(\d+)", result.stdout, re.M)
    elapsed = re.search(r"^Done \d+ runs in (\d+) second", result.stdout, re.M)
    return (int(executions.group(1)) if executions else 0,
            int(elapsed.group(1)) if elapsed else seconds,
            sorted(findings(work.parent, name) - before), result.returncode)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=ROOT / "build-fuzz")
    parser.add_argument("--seconds", type=int, default=300, help="per target")
    parser.add_argument("targets", nargs="*", help="e.g. query_fuzz (default: every target)")
    options = parser.parse_args()
    folder = options.build / "tests" / "fuzz"
    names = options.targets or sorted(path.name for path in folder.glob("*_fuzz"))
    if not names:
        sys.exit(f"bench/fuzz.py: no fuzz targets in {folder} (configure with clang and "
                 "-DXRUN_FUZZ=ON, then build the target xrun_fuzz)")
    print(f"{'target':<18} {'runs':>12} {'seconds':>8} {'runs/s':>9}  findings")
    failed = False
    for name in names:
        executions, elapsed, found, code = fuzz(options.build, name, options.seconds)
        rate = executions / elapsed if elapsed else 0
        said = ", ".join(str(path) for path in found) if found else (
            "none" if code == 0 else f"exit {code}, no input left")
        failed |= bool(found) or code != 0
        print(f"{name:<18} {executions:>12} {elapsed:>8} {rate:>9.0f}  {said}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
