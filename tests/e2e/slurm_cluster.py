"""A real single-machine Slurm for the tests: munged, slurmctld and slurmd from Debian's
packages, started in a temp folder on loopback-only ports, and stopped by their pids."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd")


class SlurmUnavailable(Exception):
    """Why the cluster could not be started."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SlurmCluster:
    """One node (this machine) in one partition, `debug`, with 2 CPUs."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="xrun-slurm-"))
        self.conf = self.dir / "slurm.conf"
        self.pid_files = []

    @property
    def env(self) -> dict:
        """What a client (sbatch, xrun) needs to reach this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def start(self):
        missing = [daemon for daemon in DAEMONS if not os.access(daemon, os.X_OK)]
        if missing:
            raise SlurmUnavailable(
                f"{', '.join(missing)} missing: install Debian's slurm-wlm and munge")
        if os.geteuid() != 0:
            raise SlurmUnavailable("slurmd must run as root to start jobs, and this is not root")
        for folder in ("state", "spool", "log"):
            (self.dir / folder).mkdir()
        key = self.dir / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        socket_path = self.dir / "munge.socket"
        self.run_daemon([
            DAEMONS[0], "--force", f"--socket={socket_path}", f"--key-file={key}",
            f"--pid-file={self.dir / 'munged.pid'}", f"--log-file={self.dir / 'log/munged.log'}",
            f"--seed-file={self.dir / 'munged.seed'}"], self.dir / "munged.pid")
        host = socket.gethostname().split(".")[0]
        self.conf.write_text("\n".join([
            "ClusterName=xrun-test",
            f"SlurmctldHost={host}(127.0.0.1)",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "SlurmUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={socket_path}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "MailProg=/bin/true",
            "SchedulerType=sched/backfill",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0",
            "ReturnToService=2",
            "KillWait=10",
            f"StateSaveLocation={self.dir / 'state'}",
            f"SlurmdSpoolDir={self.dir / 'spool'}",
            f"SlurmctldPidFile={self.dir / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.dir / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.dir / 'log/slurmctld.log'}",
            f"SlurmdLogFile={self.dir / 'log/slurmd.log'}",
            f"NodeName={host} NodeAddr=127.0.0.1 CPUs=2 RealMemory=2000 State=UNKNOWN",
            f"PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP",
            ""]))
        env = dict(os.environ, **self.env)
        self.run_daemon([DAEMONS[1], "-i"], self.dir / "slurmctld.pid", env)
        self.run_daemon([DAEMONS[2]], self.dir / "slurmd.pid", env)
        deadline = time.monotonic() + 60
        state = ""
        while time.monotonic() < deadline:
            result = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True,
                                    env=env)
            state = result.stdout.strip() or result.stderr.strip()
            if state == "idle":
                return
            time.sleep(0.3)
        raise SlurmUnavailable(f"the node did not become idle within 60 s (last: {state!r}); "
                               f"see {self.dir / 'log'}")

    def run_daemon(self, command, pid_file: Path, env=None):
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        self.pid_files.append(pid_file)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not pid_file.exists():
            time.sleep(0.05)
        if result.returncode != 0 or not pid_file.exists():
            raise SlurmUnavailable(f"{command[0]} did not start (exit {result.returncode}): "
                                   f"{result.stderr.strip()}; see {self.dir / 'log'}")

    def stop(self):
        """Cancels what is left in the queue, stops the daemons (the last started first) by
        their pids, and removes the folder."""
        if self.conf.exists():
            env = dict(os.environ, **self.env)
            subprocess.run(["scancel", f"--user={os.getuid()}"], capture_output=True, env=env)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                queue = subprocess.run(["squeue", "-h"], capture_output=True, text=True, env=env)
                if queue.returncode != 0 or not queue.stdout.strip():
                    break
                time.sleep(0.2)
        for pid_file in reversed(self.pid_files):
            try:
                pid = int(pid_file.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)
