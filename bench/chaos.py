#!/usr/bin/env python3
"""Chaos: many short runs of an experiment that tracks a series and saves data, and a sweep
(-j 2), with the experiment process, the supervisor (`xrun run`) or the sweep process sent
SIGKILL, SIGTERM or SIGINT at random moments (seeded: the same seed makes the same choices).
Then every run folder is checked: its JSON parses, its status is true (`killed` when the
experiment was killed and its supervisor lived, `lost` after the supervisor died, `interrupted`
after SIGTERM/SIGINT, `done` only when the experiment finished), its series holds whole lines
(every point noted more than a second before the signal), `archive list`, `show`, `reconcile`
and `compress` succeed, and `sweep resume` runs the rest of the sweep and no done row again.
tests/e2e/test_chaos.py runs a slice of it. Usage: bench/chaos.py [--xrun build/xrun]
[--runs 240] [--seed N] [--parallel 6] [--keep]
"""

import argparse
import concurrent.futures
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "results/chaos"

EXPERIMENT = '''\
"""Tracks `loss` for STEPS steps, noting each step's time in progress.txt after tracking it,
and saves its progress as data."""

import os
import time

from xrun import Experiment, folder_path

# :param INDEX:
#     Which run of the chaos this is.
INDEX: int = 0
# :param STEPS:
#     Points of the series.
STEPS: int = 40
# :param PAUSE:
#     Seconds between two points.
PAUSE: float = 0.03


@Experiment(base_path=folder_path(__file__), namespace="results/chaos", glob=globals())
def experiment(e):
    progress = os.open(os.path.join(e.path, "progress.txt"),
                       os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for step in range(e.STEPS):
        e.track("loss", 1.0 / (step + 1))
        os.write(progress, f"{step} {time.time():.6f}\\n".encode())
        e["progress/step"] = step
        time.sleep(e.PAUSE)
    e["finished"] = True


experiment.run_if_main()
'''

# What is done to a single run, and to which process.
ACTIONS = ("finish", "kill_experiment", "kill_supervisor", "term_supervisor",
           "int_supervisor", "term_experiment")
STATUSES = {"running", "done", "failed", "interrupted", "killed", "lost"}
SWEEP_ROWS = 8
RUN_ID = re.compile(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d-\d{3}_\w{4}")
SWEEP_BASE = 100000  # the sweep's INDEX values, apart from the single runs'


@dataclass
class Attempt:
    """One `xrun run` and what was done to it."""
    index: int
    action: str
    delay: float
    supervisor: int = 0
    experiment: int = 0  # the pid signalled, when the action aims at the experiment
    orphan: int = 0  # the experiment of a killed supervisor, left to stop by itself
    signalled_at: float = 0.0  # 0: the signal found no process to send to
    exit_code: int = 0
    stderr: str = ""


@dataclass
class Outcome:
    counts: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    seconds: float = 0.0


def children(pid):
    """The pids of `pid`'s children (none once it is gone)."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as file:
                found += [int(word) for word in file.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def send(pid, sig):
    """Sends `sig` to `pid`; the time it was sent, or 0 when the process was gone."""
    if not alive(pid):
        return 0.0
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return 0.0
    return time.time()


def env_for(work):
    env = dict(os.environ, XDG_CACHE_HOME=str(work / ".cache"),
               XDG_CONFIG_HOME=str(work / ".config"), XRUN_PLUGINS="-plot_track")
    env.pop("VIRTUAL_ENV", None)
    return env


def attempt_run(xrun, work, attempt):
    """Starts one run, does the attempt's action after its delay, waits for the supervisor."""
    process = subprocess.Popen([xrun, "run", "chaos.py", "--INDEX", str(attempt.index)],
                               cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, env=env_for(work),
                               start_new_session=True)
    attempt.supervisor = process.pid
    time.sleep(attempt.delay)
    kid = next(iter(children(process.pid)), 0)
    if attempt.action in ("kill_experiment", "term_experiment"):
        attempt.experiment = kid
        sig = signal.SIGKILL if attempt.action == "kill_experiment" else signal.SIGTERM
        attempt.signalled_at = send(kid, sig) if kid else 0.0
    elif attempt.action != "finish":
        sig = {"kill_supervisor": signal.SIGKILL, "term_supervisor": signal.SIGTERM,
               "int_supervisor": signal.SIGINT}[attempt.action]
        attempt.signalled_at = send(process.pid, sig)
        attempt.orphan = kid if attempt.action == "kill_supervisor" else 0
    _, attempt.stderr = process.communicate(timeout=120)
    attempt.exit_code = process.returncode
    return attempt


def wait_gone(pids, timeout=60.0):
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def xrun_command(xrun, work, *args, timeout=300):
    return subprocess.run([xrun, *map(str, args)], cwd=work, capture_output=True, text=True,
                          timeout=timeout, env=env_for(work))


def read_progress(run):
    """(step, time) of each step the experiment noted."""
    noted = []
    path = run / "progress.txt"
    if path.exists():
        for line in path.read_text().splitlines():
            step, moment = line.split()
            noted.append((int(step), float(moment)))
    return noted


def series_problem(run):
    """What is wrong with the run's `loss` series ('' when nothing): every line whole and in
    step order, each point noted more than a second before the run's end present."""
    path = run / ".track" / "loss.csv"
    noted = read_progress(run)
    if not path.exists():
        return "no series" if noted else ""
    raw = path.read_text()
    if raw and not raw.endswith("\n"):
        return f"a torn last line: {raw.splitlines()[-1]!r}"
    lines = raw.splitlines()
    if lines[:1] != ["step,value,time,stage"]:
        return f"header {lines[:1]}"
    for step, line in enumerate(lines[1:]):
        fields = line.split(",")
        if len(fields) != 4 or fields[0] != str(step) or float(fields[1]) != 1.0 / (step + 1):
            return f"line {step + 2} is {line!r}"
    return ""


def missing_points(run, until):
    """Steps noted before `until` that the series lacks."""
    path = run / ".track" / "loss.csv"
    kept = len(path.read_text().splitlines()) - 1 if path.exists() else 0
    return [step for step, moment in read_progress(run) if moment < until and step >= kept]


def json_problems(run):
    problems = []
    for path in sorted(run.rglob("*.json")):
        try:
            json.loads(path.read_text())
        except ValueError as error:
            problems.append(f"{path.relative_to(run)} does not parse: {error}")
    return problems


def folders_by_index(work):
    """The run folders of each INDEX."""
    found = {}
    namespace = work / NAMESPACE
    for run in sorted(namespace.iterdir()) if namespace.exists() else []:
        if run.is_dir() and not run.name.startswith("."):
            meta = json.loads((run / "experiment_meta.json").read_text())
            found.setdefault(meta["parameters"]["INDEX"]["value"], []).append(run)
    return found


def expected_statuses(attempt, finished):
    """The statuses the run of `attempt` may truly have (listed, after the lost rule)."""
    if not attempt.signalled_at or attempt.action == "finish":
        return {"done"}
    if attempt.action == "kill_supervisor":
        return {"lost", "done"} if finished else {"lost"}
    if attempt.action == "kill_experiment":
        return {"killed", "done"} if finished else {"killed"}
    return {"interrupted", "done"} if finished else {"interrupted"}


_SIGNAL_OF = {"kill_supervisor": signal.SIGKILL, "term_supervisor": signal.SIGTERM,
              "int_supervisor": signal.SIGINT}


def exit_codes(status, attempt, meta):
    """The exit codes of `xrun run` that go with the run's status: a supervisor signalled
    after it recorded the end dies of the signal (SIGKILL, or SIGTERM/SIGINT once it has
    given the default action back on its way out) or exits as the run did."""
    codes = {"done": {0}, "killed": {137}, "interrupted": {130}, "lost": {-9}}[status]
    if attempt.action == "kill_supervisor":
        codes.add(-9)
    end_time = meta.get("end_time")
    if attempt.action in _SIGNAL_OF and isinstance(end_time, (int, float)) and \
            attempt.signalled_at >= end_time:
        codes.add(-int(_SIGNAL_OF[attempt.action]))
    return codes


def check_single(attempt, runs, listed):
    """The problems of one single run's attempt."""
    where = f"run {attempt.index} ({attempt.action} after {attempt.delay:.2f} s)"
    if "Traceback" in attempt.stderr:
        return [f"{where}: a traceback: {attempt.stderr[-2000:]}"]
    if len(runs) > 1:
        return [f"{where}: {len(runs)} run folders"]
    if not runs:
        # Signalled before its run began: no run, and xrun said so.
        if attempt.action == "finish" or not attempt.signalled_at:
            return [f"{where}: no run folder (exit {attempt.exit_code}): {attempt.stderr}"]
        if attempt.exit_code in (0, 1):
            return [f"{where}: no run folder but exit {attempt.exit_code}"]
        return []
    run = runs[0]
    problems = [f"{where}: {problem}" for problem in json_problems(run)]
    meta = json.loads((run / "experiment_meta.json").read_text())
    data = json.loads((run / "experiment_data.json").read_text()) \
        if (run / "experiment_data.json").exists() else {}
    finished = data.get("finished") is True
    status = listed.get(run.name)
    if status not in expected_statuses(attempt, finished):
        problems.append(f"{where}: listed as {status}, recorded {meta['status']}, expected "
                        f"{sorted(expected_statuses(attempt, finished))} ({run.name})")
    elif attempt.exit_code not in exit_codes(status, attempt, meta):
        problems.append(f"{where}: {status} with exit code {attempt.exit_code}")
    if status == "done" and not finished:
        problems.append(f"{where}: done without finishing")
    if status == "killed" and meta.get("signal") not in (9, "SIGKILL"):
        problems.append(f"{where}: killed with signal {meta.get('signal')}")
    if status == "interrupted" and not meta.get("interrupted_by"):
        problems.append(f"{where}: interrupted by nothing on record")
    series = series_problem(run)
    if series:
        problems.append(f"{where}: series: {series}")
    until = (attempt.signalled_at - 1.0) if attempt.signalled_at else float("inf")
    missing = missing_points(run, until)
    if missing:
        problems.append(f"{where}: series lacks steps {missing[:5]} noted over a second "
                        "before the signal")
    return problems


def listing(xrun, work):
    """Each run's status as `archive list --json` gives it, by folder name."""
    result = xrun_command(xrun, work, "archive", "list", "--path", "results", "--json")
    if result.returncode != 0:
        raise RuntimeError(f"archive list: exit {result.returncode}: {result.stderr}")
    return {Path(run["path"]).name: run["status"] for run in json.loads(result.stdout)}


def plan_attempts(seed, count):
    rng = random.Random(seed)
    return [Attempt(index, rng.choice(ACTIONS), rng.uniform(0.0, 1.5)) for index in range(count)]


def sweep_phase(xrun, work, rng, problems):
    """A sweep killed at a random moment, its orphans left to end, then resumed."""
    values = ",".join(str(SWEEP_BASE + row) for row in range(SWEEP_ROWS))
    process = subprocess.Popen([xrun, "run", "chaos.py", "--sweep", f"INDEX={values}",
                                "-j", "2"], cwd=work, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=env_for(work), start_new_session=True)
    # First one of its runs loses its experiment or its supervisor (a worker), maybe.
    time.sleep(rng.uniform(0.3, 2.0))
    target = rng.choice(("experiment", "supervisor", "none"))
    workers = children(process.pid)
    if workers and target != "none":
        worker = rng.choice(workers)
        victim = worker if target == "supervisor" else next(iter(children(worker)), 0)
        if victim and send(victim, signal.SIGKILL):
            print(f"sweep: SIGKILL to a worker's {target}", file=sys.stderr)
    time.sleep(rng.uniform(0.0, 2.0))
    workers = children(process.pid)
    process.kill()
    process.communicate(timeout=60)
    # The workers are whole `xrun run`s: they finish their runs on their own.
    left = wait_gone(workers + [kid for worker in workers for kid in children(worker)])
    if left:
        problems.append(f"sweep: workers {left} still alive a minute after the kill")
    sweeps = sorted((work / NAMESPACE / ".sweeps").glob("*/manifest.json"))
    if not sweeps:
        # Killed while planning: nothing may have run.
        started = [index for index in folders_by_index(work) if index >= SWEEP_BASE]
        if started:
            problems.append(f"sweep: runs {started} of a sweep with no manifest")
        print("sweep: killed before it wrote its manifest", file=sys.stderr)
        return
    sweeps = [path.parent for path in sweeps]
    sweep_id = sweeps[-1].name
    status = xrun_command(xrun, work, "sweep", "status", sweep_id, "--path", "results")
    if status.returncode != 0 or "Traceback" in status.stderr:
        problems.append(f"sweep status: exit {status.returncode}: {status.stderr}")
    # Each row `status` shows (brought up to date from the run folders) says what its run's
    # folder says; a row with no run is pending, lost when its worker died first, or killed
    # when its experiment was killed before its run began.
    listed = listing(xrun, work)
    for line in status.stdout.splitlines()[1:]:
        words = line.split()
        if len(words) < 3 or not words[1].startswith("#"):
            continue
        run = words[-1] if words[-1] in listed or RUN_ID.fullmatch(words[-1]) else None
        if run and words[0] != listed.get(run):
            problems.append(f"sweep status shows row {words[1]} {words[0]}, its run {run} "
                            f"{listed.get(run)}")
        elif not run and words[0] not in ("pending", "lost", "killed"):
            problems.append(f"sweep status shows row {words[1]} {words[0]} without a run")
    done_before = {}
    for index, runs in folders_by_index(work).items():
        for run in runs:
            if index >= SWEEP_BASE and json.loads(
                    (run / "experiment_meta.json").read_text())["status"] == "done":
                done_before[index] = run.name
    resumed = xrun_command(xrun, work, "sweep", "resume", sweep_id, "--path", "results",
                           "-j", "2")
    if resumed.returncode != 0 or "Traceback" in resumed.stderr:
        problems.append(f"sweep resume: exit {resumed.returncode}: {resumed.stderr}")
    manifest = json.loads((sweeps[-1] / "manifest.json").read_text())
    rows = manifest["variations"]
    if [row["status"] for row in rows] != ["done"] * SWEEP_ROWS:
        problems.append(f"sweep rows after resume: {[row['status'] for row in rows]}")
    by_index = folders_by_index(work)
    for row in range(SWEEP_ROWS):
        index = SWEEP_BASE + row
        done_runs = [run for run in by_index.get(index, []) if json.loads(
            (run / "experiment_meta.json").read_text())["status"] == "done"]
        if index in done_before and [run.name for run in done_runs] != [done_before[index]]:
            problems.append(f"sweep row {row} was done before the resume and ran again: "
                            f"{[run.name for run in done_runs]}")
        elif len(done_runs) != 1:
            problems.append(f"sweep row {row}: {len(done_runs)} done runs")
        for run in by_index.get(index, []):
            problems += [f"sweep row {row}: {problem}" for problem in json_problems(run)]
            series = series_problem(run)
            if series:
                problems.append(f"sweep row {row}: series: {series}")


def archive_commands(xrun, work, problems, sample):
    """list, show (of `sample` runs), reconcile and compress succeed without a traceback."""
    for args in (("archive", "reconcile", "--path", "results"),
                 ("archive", "list", "--path", "results"),
                 ("archive", "compress", "--all", "--path", "results", "-o",
                  work / "chaos.tar.zst")):
        result = xrun_command(xrun, work, *args)
        if result.returncode != 0 or "Traceback" in result.stderr:
            problems.append(f"{' '.join(map(str, args))}: exit {result.returncode}: "
                            f"{result.stderr[-2000:]}")
    if (work / "chaos.tar.zst").exists():
        names = subprocess.run(["tar", "-I", "zstd", "-tf", work / "chaos.tar.zst"],
                               capture_output=True, text=True).stdout.splitlines()
        metas = {Path(name).parent.name for name in names
                 if name.endswith("/experiment_meta.json")}
        runs = {run.name for run in (work / NAMESPACE).iterdir() if RUN_ID.fullmatch(run.name)}
        if metas != runs:
            problems.append(f"the compressed archive lacks {sorted(runs - metas)} and has "
                            f"{sorted(metas - runs)} besides")
    for run in sample:
        result = xrun_command(xrun, work, "archive", "show", run.name, "--path", "results",
                              "--json")
        if result.returncode != 0 or "Traceback" in result.stderr:
            problems.append(f"archive show {run.name}: exit {result.returncode}: "
                            f"{result.stderr}")
            continue
        shown = json.loads(result.stdout)["status"]
        recorded = json.loads((run / "experiment_meta.json").read_text())["status"]
        if shown != recorded:
            problems.append(f"archive show {run.name}: {shown}, recorded {recorded}")


def run_chaos(xrun, work, seed, runs, parallel=6):
    """Everything above in `work`; the counts of each action and status, and every problem."""
    started = time.monotonic()
    outcome = Outcome()
    (work / "chaos.py").write_text(EXPERIMENT)
    attempts = plan_attempts(seed, runs)
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        sweep = pool.submit(sweep_phase, xrun, work, random.Random(seed + 1), outcome.problems)
        finished = list(pool.map(lambda attempt: attempt_run(xrun, work, attempt), attempts))
        sweep.result()
    left = wait_gone([attempt.orphan for attempt in finished if attempt.orphan])
    if left:
        outcome.problems.append(f"experiments {left} outlived their killed supervisors by a "
                                "minute")
    for attempt in finished:
        outcome.counts[attempt.action] = outcome.counts.get(attempt.action, 0) + 1
    by_index = folders_by_index(work)
    listed = listing(xrun, work)
    for attempt in finished:
        outcome.problems += check_single(attempt, by_index.get(attempt.index, []), listed)
    for status in listed.values():
        outcome.counts[status] = outcome.counts.get(status, 0) + 1
    every_run = [run for runs in by_index.values() for run in runs]
    # A start cut short leaves no half-made folder (they are made under a hidden name).
    hidden = [path.name for path in (work / NAMESPACE).iterdir()
              if path.name.startswith(".") and path.name != ".sweeps"]
    if hidden:
        outcome.problems.append(f"left in the namespace: {hidden}")
    archive_commands(xrun, work, outcome.problems, every_run[::max(1, len(every_run) // 12)])
    # After reconcile the lost runs say so on disk, as the listing did.
    for run in every_run:
        recorded = json.loads((run / "experiment_meta.json").read_text())["status"]
        if recorded not in STATUSES - {"running"}:
            outcome.problems.append(f"{run.name}: recorded {recorded} after reconcile")
        elif listed.get(run.name) not in (recorded, None) and run.name in listed:
            outcome.problems.append(f"{run.name}: recorded {recorded} after reconcile, "
                                    f"listed {listed[run.name]}")
    outcome.seconds = time.monotonic() - started
    return outcome


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xrun", default=str(ROOT / "build" / "xrun"))
    parser.add_argument("--runs", type=int, default=240)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--parallel", type=int, default=6)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    options = parser.parse_args()
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(10**6)
    print(f"seed {seed} (again: --seed {seed}), {options.runs} runs, "
          f"{options.parallel} at a time, and a sweep of {SWEEP_ROWS}")
    work = Path(tempfile.mkdtemp(prefix="xrun-chaos-"))
    outcome = run_chaos(os.path.abspath(options.xrun), work, seed, options.runs,
                        options.parallel)
    print(f"{outcome.seconds:.1f} s; " + ", ".join(f"{name} {count}" for name, count in
                                                   sorted(outcome.counts.items())))
    for problem in outcome.problems:
        print("PROBLEM:", problem)
    print(f"{len(outcome.problems)} problems" + (f"; kept {work}" if options.keep else ""))
    if not options.keep:
        subprocess.run(["rm", "-rf", str(work)])
    return 1 if outcome.problems else 0


if __name__ == "__main__":
    sys.exit(main())
