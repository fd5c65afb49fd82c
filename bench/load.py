#!/usr/bin/env python3
"""Load: many concurrent runs in one namespace while `archive list --where`, `archive compress`
(to a temp file) and `archive reconcile` run in loops and the index `.xrun-index.sqlite` is
deleted, truncated or overwritten with random bytes; then two sweeps with `--skip-done` on the
archive at once. Checks that nothing is lost (every run listed at the end, once, `done`), that no
command crashed or printed a traceback, that exit codes are the documented ones, and that every
listing during the load either failed with an `xrun: error:` line or was a true answer: each
run it lists exists, once, with a defined status, and each run that had ended before it began is
listed as `done`.

Two sweeps started at once with `--skip-done` each plan against the archive as it is when they
start: a variation with a `done` run from before is skipped by both; a new variation is run by
each of them (twice in all: neither waits for the other's runs). tests/e2e/test_load.py runs a
slice of it. Usage: bench/load.py [--xrun build/xrun] [--runs 64] [--rounds 3] [--seed N]
"""

import argparse
import concurrent.futures
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "results/load"
NEW_ROWS = 4  # variations no run had before the two sweeps

EXPERIMENT = '''\
"""Tracks a short series and saves data."""

import time

from xrun import Experiment, folder_path

# :param INDEX:
#     Which run of the load this is.
INDEX: int = 0
# :param STEPS:
#     Points of the series.
STEPS: int = 20


@Experiment(base_path=folder_path(__file__), namespace="results/load", glob=globals())
def experiment(e):
    for step in range(e.STEPS):
        e.track("loss", 1.0 / (step + 1))
        e["progress/step"] = step
        time.sleep(0.01)
    e["finished"] = True


experiment.run_if_main()
'''


@dataclass
class Outcome:
    counts: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    messages: set = field(default_factory=set)  # of the commands that failed cleanly
    seconds: float = 0.0

    def count(self, name):
        self.counts[name] = self.counts.get(name, 0) + 1


def env_for(work):
    env = dict(os.environ, XDG_CACHE_HOME=str(work / ".cache"),
               XDG_CONFIG_HOME=str(work / ".config"), XRUN_PLUGINS="-plot_track")
    env.pop("VIRTUAL_ENV", None)
    return env


def xrun_command(xrun, work, *args, timeout=300):
    return subprocess.run([xrun, *map(str, args)], cwd=work, capture_output=True, text=True,
                          timeout=timeout, env=env_for(work))


def clean_failure(result):
    """A failed command's output is a problem unless it is an `xrun: error:` line with a
    documented exit code and no traceback."""
    if "Traceback" in result.stderr or "terminate called" in result.stderr:
        return f"a crash: {result.stderr[-2000:]}"
    if result.returncode not in (2, 71, 74) or "xrun: error:" not in result.stderr:
        return f"exit {result.returncode} without a clear message: {result.stderr[-2000:]}"
    return ""


class Load:
    """The runs, the command loops and the vandal of the index, sharing what has ended."""

    def __init__(self, xrun, work, seed, outcome):
        self.xrun, self.work, self.outcome = xrun, work, outcome
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.ended = set()  # INDEX of each run whose `xrun run` exited
        self.stop = threading.Event()

    def problem(self, text):
        with self.lock:
            self.outcome.problems.append(text)

    def run_one(self, index):
        result = xrun_command(self.xrun, self.work, "run", "load.py", "--INDEX", index)
        if result.returncode != 0 or "Traceback" in result.stderr:
            self.problem(f"run {index}: exit {result.returncode}: {result.stderr[-2000:]}")
        with self.lock:
            self.ended.add(index)

    def listings(self):
        while not self.stop.is_set():
            with self.lock:
                ended = set(self.ended)
            result = xrun_command(self.xrun, self.work, "archive", "list", "--path", "results",
                                  "--where", "INDEX >= 0", "--json")
            with self.lock:
                self.outcome.count(f"list exit {result.returncode}")
                if result.returncode != 0:
                    self.outcome.messages.add(result.stderr.strip())
            if result.returncode != 0:
                failure = clean_failure(result)
                if failure:
                    self.problem(f"archive list during the load: {failure}")
                continue
            self.check_listing(json.loads(result.stdout), ended)

    def check_listing(self, runs, ended):
        paths = [run["path"] for run in runs]
        if len(set(paths)) != len(paths):
            self.problem(f"a listing names a run twice: {sorted(paths)}")
        for run in runs:
            # Nothing is killed here: a run is running or done, never lost to a reconcile.
            if run["status"] not in ("running", "done") or not (self.work / run["path"]).is_dir():
                self.problem(f"a listing shows {run['path']} as {run['status']}")
        for run in runs:
            meta = json.loads((self.work / run["path"] / "experiment_meta.json").read_text())
            if meta["parameters"]["INDEX"]["value"] != run["parameters"]["INDEX"]:
                self.problem(f"a listing gives {run['path']} INDEX "
                             f"{run['parameters']['INDEX']}, its meta "
                             f"{meta['parameters']['INDEX']['value']}")
        statuses = {run["parameters"]["INDEX"]: run["status"] for run in runs}
        for index in ended:
            if statuses.get(index) != "done":
                self.problem(f"a listing begun after run {index} ended shows it as "
                             f"{statuses.get(index, 'missing')}")

    def command_loop(self, *args):
        """Runs an archive command again and again; each must succeed or fail cleanly."""
        round_ = 0
        while not self.stop.is_set():
            round_ += 1
            words = [word.replace("ROUND", str(round_)) for word in args]
            result = xrun_command(self.xrun, self.work, *words)
            with self.lock:
                self.outcome.count(f"{args[1]} exit {result.returncode}")
                if result.returncode != 0:
                    self.outcome.messages.add(result.stderr.strip())
            if result.returncode != 0:
                failure = clean_failure(result)
                if failure:
                    self.problem(f"archive {args[1]} during the load: {failure}")
            for output in self.work.glob("compressed-*.tar.zst"):
                output.unlink()

    def vandal(self):
        """Deletes, truncates or overwrites the index with random bytes, now and then."""
        index = self.work / "results" / ".xrun-index.sqlite"
        rng = random.Random(self.rng.random())
        while not self.stop.is_set():
            time.sleep(rng.uniform(0.05, 0.3))
            try:
                size = index.stat().st_size
            except FileNotFoundError:
                continue
            damage = rng.choice(("delete", "truncate", "random", "stretch"))
            with self.lock:
                self.outcome.count(f"index {damage}")
            try:
                if damage == "delete":
                    index.unlink()
                elif damage == "truncate":
                    os.truncate(index, rng.randrange(size + 1))
                elif damage == "random":
                    index.write_bytes(rng.randbytes(size))
                else:  # a stretch of random bytes inside the file, as a torn page would be
                    with open(index, "r+b") as file:
                        file.seek(rng.randrange(size + 1))
                        file.write(rng.randbytes(rng.randrange(1, 4096)))
            except FileNotFoundError:
                pass


def final_check(xrun, work, outcome, indexes):
    """Every run listed once, done; exactly one listed row per run folder."""
    result = xrun_command(xrun, work, "archive", "list", "--path", "results", "--json")
    if result.returncode != 0:
        outcome.problems.append(f"the final listing: exit {result.returncode}: {result.stderr}")
        return []
    runs = json.loads(result.stdout)
    folders = sorted(path.relative_to(work).as_posix() for path in (work / NAMESPACE).iterdir()
                     if path.is_dir() and not path.name.startswith("."))
    if sorted(run["path"] for run in runs) != folders:
        outcome.problems.append(f"the final listing has {len(runs)} rows for {len(folders)} "
                                "run folders")
    listed = [run["parameters"]["INDEX"] for run in runs]
    for index in indexes:
        if listed.count(index) != 1:
            outcome.problems.append(f"run {index} is listed {listed.count(index)} times")
    for run in runs:
        if run["status"] != "done":
            outcome.problems.append(f"{run['path']} ended {run['status']}")
    return runs


def two_sweeps(xrun, work, outcome, old_rows):
    """Two sweeps with --skip-done over `old_rows` (done before) and NEW_ROWS new values."""
    new_rows = [10000 + row for row in range(NEW_ROWS)]
    values = ",".join(map(str, old_rows + new_rows))
    command = [xrun, "run", "load.py", "--sweep", f"INDEX={values}", "--skip-done", "-j", "2"]
    sweeps = [subprocess.Popen(command, cwd=work, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=env_for(work))
              for _ in range(2)]
    for sweep in sweeps:
        _, stderr = sweep.communicate(timeout=300)
        if sweep.returncode != 0 or "Traceback" in stderr:
            outcome.problems.append(f"a sweep with --skip-done: exit {sweep.returncode}: "
                                    f"{stderr[-2000:]}")
    runs = final_check(xrun, work, outcome, [])
    listed = [run["parameters"]["INDEX"] for run in runs]
    for index in old_rows:
        if listed.count(index) != 1:
            outcome.problems.append(f"variation {index} was done before the sweeps and has "
                                    f"{listed.count(index)} runs after them")
    for index in new_rows:
        outcome.count(f"new variation runs {listed.count(index)}")
        if listed.count(index) not in (1, 2):
            outcome.problems.append(f"new variation {index} has {listed.count(index)} runs")


def run_load(xrun, work, seed, runs, rounds=1):
    """Everything above in `work`, `rounds` times over the same archive."""
    started = time.monotonic()
    outcome = Outcome()
    (work / "load.py").write_text(EXPERIMENT)
    (work / NAMESPACE).mkdir(parents=True)  # an archive from the start, for the loops
    load = Load(xrun, work, seed, outcome)
    loops = [threading.Thread(target=load.listings), threading.Thread(target=load.vandal),
             threading.Thread(target=load.command_loop, args=(
                 "archive", "compress", "--all", "--path", "results", "-o",
                 "compressed-ROUND.tar.zst")),
             threading.Thread(target=load.command_loop, args=(
                 "archive", "reconcile", "--path", "results"))]
    for loop in loops:
        loop.start()
    try:
        indexes = list(range(runs * rounds))
        with concurrent.futures.ThreadPoolExecutor(runs) as pool:
            list(pool.map(load.run_one, indexes))
    finally:
        load.stop.set()
        for loop in loops:
            loop.join()
    final_check(xrun, work, outcome, indexes)
    two_sweeps(xrun, work, outcome, random.Random(seed).sample(indexes, 6))
    outcome.seconds = time.monotonic() - started
    return outcome


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--runs", type=int, default=64, help="runs at once")
    parser.add_argument("--rounds", type=int, default=3, help="times that many runs")
    parser.add_argument("--seed", type=int, default=None)
    options = parser.parse_args()
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(10**6)
    print(f"seed {seed} (again: --seed {seed}), {options.runs} runs at once, "
          f"{options.rounds} rounds")
    work = Path(tempfile.mkdtemp(prefix="xrun-load-"))
    try:
        outcome = run_load(os.path.abspath(options.xrun), work, seed, options.runs,
                           options.rounds)
    finally:
        subprocess.run(["rm", "-rf", str(work)])
    print(f"{outcome.seconds:.1f} s; " + ", ".join(f"{name} {count}" for name, count in
                                                   sorted(outcome.counts.items())))
    for message in sorted(outcome.messages):
        print("failed cleanly:", message)
    for problem in outcome.problems:
        print("PROBLEM:", problem)
    print(f"{len(outcome.problems)} problems")
    return 1 if outcome.problems else 0


if __name__ == "__main__":
    sys.exit(main())
