#!/usr/bin/env python3
"""How long a SIGINT takes to end a script that prints as fast as it can into a console that
does not keep up (a pipe read only after some seconds), in plain python3 and in a run started
by `xrun.start()` (the script traced by the watcher, which passes the signal on). Measured
alternately in the same session; the ratio of the medians is what counts (near 1: the watcher
does not hold the signal up). Usage:

    bench/watch_signal.py [--xrun build/xrun] [--rounds 5]
"""

import argparse
import signal
import statistics
import subprocess
import time
from pathlib import Path

from timing import plain_python_env, scratch_folder

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"
SCRIPT = """\
import sys
if sys.argv[1] == "watched":
    import xrun
    xrun.start("bench", system_metrics=0)
open("ready", "w").close()
while True:
    print("x" * 200)
"""
# The console: a pipe nobody reads for this long.
STALL = 4.0


def ended(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


def latency(work: Path, env: dict, mode: str) -> float:
    ready = work / "ready"
    ready.unlink(missing_ok=True)
    reader = subprocess.Popen(["sh", "-c", f"sleep {STALL}; cat > /dev/null"],
                              stdin=subprocess.PIPE)
    script = subprocess.Popen([PYTHON, "script.py", mode], cwd=work, env=env,
                              stdout=reader.stdin, stderr=subprocess.DEVNULL)
    reader.stdin.close()
    while not ready.exists():
        time.sleep(0.01)
    time.sleep(0.5)  # the pipes full by now
    start = time.perf_counter()
    script.send_signal(signal.SIGINT)
    while not ended(script.pid):
        time.sleep(0.001)
    took = time.perf_counter() - start
    script.wait()
    reader.wait()
    return took


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with scratch_folder() as work:
        env = plain_python_env(args.xrun, work)
        (work / "script.py").write_text(SCRIPT)
        times = {"plain": [], "watched": []}
        for _ in range(args.rounds):
            for mode, measured in times.items():
                measured.append(latency(work, env, mode))
        floor = statistics.median(times["plain"])
        for mode, measured in times.items():
            median = statistics.median(measured)
            print(f"SIGINT to end, {mode:8} {median * 1e3:8.1f} ms  {median / floor:6.2f}x")


if __name__ == "__main__":
    main()
