"""A one-node Slurm cluster for the tests, from Debian's slurm-wlm and munge packages.

``OneNodeCluster().start()`` writes a minimal ``slurm.conf`` in a folder of its own,
starts ``munged`` (a key and a socket of its own), ``slurmctld -D`` and ``slurmd -D`` on
free ports, and waits until ``sinfo`` shows the node idle (a second or two); ``env()``
is the environment the Slurm commands need (``SLURM_CONF``); ``stop()`` ends every
process it started.  Nothing outside its folder is touched: another munged or Slurm on
the machine is left alone.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")


def missing_binaries() -> list[str]:
    return [d for d in DAEMONS if shutil.which(d, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OneNodeCluster:
    def __init__(self):
        # short: munged's socket path must fit a unix socket address (108 bytes)
        self.dir = Path(tempfile.mkdtemp(prefix="slurm-", dir="/tmp"))
        self.host = socket.gethostname().split(".")[0]
        self.procs: dict[str, subprocess.Popen] = {}

    def _bin(self, name: str) -> str:
        return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.dir / "slurm.conf")}

    def write_conf(self) -> Path:
        d = self.dir
        for sub in ("munge", "state", "spool", "log"):
            (d / sub).mkdir(mode=0o700, exist_ok=True)
        key = d / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        conf = f"""# a one-node cluster for the tests (tests/slurm_cluster.py)
ClusterName=rnncourse
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={d}/munge/munge.socket.2
CredType=cred/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={os.cpu_count() or 1} RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
"""
        path = d / "slurm.conf"
        path.write_text(conf)
        return path

    def start(self, timeout: float = 60) -> "OneNodeCluster":
        self.write_conf()
        d, env = self.dir, self.env()
        m = d / "munge"
        self.procs["munged"] = subprocess.Popen(
            [self._bin("munged"), "--foreground", "--force", f"--socket={m}/munge.socket.2", f"--key-file={m}/munge.key",
             f"--log-file={m}/munged.log", f"--pid-file={m}/munged.pid", f"--seed-file={m}/munged.seed"],
            env=env, stdout=subprocess.DEVNULL, stderr=open(d / "log" / "munged.err", "w"))
        deadline = time.time() + timeout
        while not (m / "munge.socket.2").exists():
            self._check_alive()
            if time.time() > deadline:
                raise RuntimeError(f"munged did not start: {self.logs()}")
            time.sleep(0.05)
        self.procs["slurmctld"] = subprocess.Popen([self._bin("slurmctld"), "-D", "-i"], env=env, stdout=subprocess.DEVNULL,
                                                   stderr=open(d / "log" / "slurmctld.err", "w"))
        self.procs["slurmd"] = subprocess.Popen([self._bin("slurmd"), "-D"], env=env, stdout=subprocess.DEVNULL,
                                                stderr=open(d / "log" / "slurmd.err", "w"))
        while True:
            self._check_alive()
            proc = subprocess.run([self._bin("sinfo"), "-h", "-o", "%T"], env=env, capture_output=True, text=True)
            if proc.returncode == 0 and proc.stdout.strip() == "idle":
                return self
            if time.time() > deadline:
                raise RuntimeError(f"the node is not idle after {timeout:.0f} s: {proc.stdout}{proc.stderr}\n{self.logs()}")
            time.sleep(0.2)

    def _check_alive(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited with {p.returncode}:\n{self.logs()}")

    def logs(self) -> str:
        out = []
        for f in sorted((self.dir / "log").glob("*")) + [self.dir / "munge" / "munged.log"]:
            if f.exists():
                out.append(f"--- {f.name}\n" + f.read_text(errors="replace")[-2000:])
        return "\n".join(out)

    def pids(self) -> list[int]:
        """The daemons: munged, slurmctld (and its helper slurmscriptd), slurmd."""
        mine = [p.pid for p in self.procs.values()]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.procs["slurmctld"].pid and \
                        b"slurmscriptd" in (stat.parent / "cmdline").read_bytes():
                    mine.append(int(stat.parent.name))
            except (OSError, ValueError, IndexError, KeyError):
                continue
        return mine

    def stop(self) -> None:
        for name in ("slurmd", "slurmctld", "munged"):
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def processes_with(env_item: str) -> list[int]:
    """Pids of the processes whose environment holds ``env_item`` (``SLURM_CONF=...``):
    the daemons of one cluster and whatever ran in its jobs."""
    want = env_item.encode()
    pids = []
    for env_file in Path("/proc").glob("[0-9]*/environ"):
        try:
            if want in env_file.read_bytes().split(b"\0"):
                pids.append(int(env_file.parent.name))
        except (OSError, ValueError):
            continue
    return [p for p in pids if p != os.getpid()]
