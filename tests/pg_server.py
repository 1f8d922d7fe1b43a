"""A throw-away PostgreSQL server for the gradebook tests: Debian's ``postgresql``
package (``make cluster`` installs it), ``initdb`` into a temporary folder and
``pg_ctl`` on 127.0.0.1 at a free port, trust authentication for loopback only.

The server runs as the ``postgres`` system user when the tests run as root (PostgreSQL
refuses to run as root).  Missing binaries are a failure with the command that installs
them, not a silent skip, where this machine could install them (root with apt-get)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(d, "initdb").exists() and Path(d, "pg_ctl").exists():
            return Path(d)
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    folder: Path
    port: int
    bindir: Path
    user: str | None

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        full = [str(self.bindir / cmd[0]), *cmd[1:]]
        if self.user:
            full = ["runuser", "-u", self.user, "--", *full]
        proc = subprocess.run(full, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        return proc

    def createdb(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop", check=False)


def start() -> Server:
    bindir = _bindir()
    if bindir is None:
        can_install = os.geteuid() == 0 and shutil.which("apt-get")
        msg = "PostgreSQL is not installed: run `make cluster` (apt-get install postgresql)"
        if can_install:
            pytest.fail(msg)
        pytest.skip(msg)
    user = None
    folder = Path(tempfile.mkdtemp(prefix="rnncourse-pg-"))
    if os.geteuid() == 0:
        user = "postgres"
        pw = pwd.getpwnam(user)
        os.chown(folder, pw.pw_uid, pw.pw_gid)
    server = Server(folder, _free_port(), bindir, user)
    server._run("initdb", "-D", str(folder / "data"), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
    opts = f"-h 127.0.0.1 -p {server.port} -k {folder} -F -c fsync=off -c full_page_writes=off"
    server._run("pg_ctl", "-D", str(folder / "data"), "-l", str(folder / "server.log"), "-o", opts, "-w", "start")
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"PostgreSQL did not answer on 127.0.0.1:{server.port}: {(folder / 'server.log').read_text()}")


def remove(server: Server) -> None:
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)
