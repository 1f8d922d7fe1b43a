"""Grading on a Slurm cluster: ``python -m autograde grade ASSIGNMENT --engine slurm``.

Each (student, notebook) is a job of its own, so a class is ONE job array, a task per
submission that needs grading.  The submitting process (on the submit host) does what
it does for the local engine before and after:

1. validates every submission and takes unchanged ones from their stored result
   (``autograde.cli.prepare_one``): only the rest becomes array tasks;
2. writes a batch folder ``autograde/.sandbox/slurm/<assignment>/<batch>/`` holding
   ``manifest.json`` (a task per line of work: student, slot, result path, log path),
   ``batch.sh`` and, once the array runs, ``task-<i>.log`` per task;
3. submits the array with ``sbatch --parsable --array=0-(n-1)[%max]`` and waits for it
   by polling ``squeue`` (no accounting database needed; ``sbatch --wait`` polls far
   less often);
4. turns each task's result file into an Outcome (``autograde.cli.finish_one``): a task
   that left no result is a grader error whose message is the end of its log, never a
   silent zero; then the one writer (``autograde.cli.write_gradebook``), the reports,
   feedback and CSV, exactly as for the local engine.

Each task runs ``python -m autograde.slurm task MANIFEST`` (``run_task``): the same
``python -m autograde.engine ASSIGNMENT STUDENT --slot N --out PART`` process as a local
worker, in the same sandbox with a leased uid, under the same per-submission timeout;
it writes the result next to the manifest and renames it into place, so a result is
there whole or not at all.  The task's environment is the submitter's
(``--export=ALL``: the course's ``Course.env()``, ``RNNCOURSE_MODE`` and the grading
settings), which is why the course folder and its virtual environment must be on a
filesystem every node sees at the same path.

``sbatch`` and ``squeue`` are found on ``PATH``; ``SLURM_CONF`` in the environment is
honoured (the commands read it themselves).
"""
from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from autograde.course import AssignmentSpec, Course


def check_client() -> None:
    """A clear error when this machine cannot submit jobs."""
    for tool in ("sbatch", "squeue"):
        if shutil.which(tool) is None:
            raise SystemExit(f"error: --engine slurm needs Slurm's {tool} on PATH (Debian: apt-get install slurm-client; "
                             "`make cluster` installs slurm-wlm and munge for a one-node test cluster)")


def time_limit(timeout: float) -> str:
    """sbatch's ``--time`` for a task: the grading timeout plus a minute for the start-up,
    in whole minutes (the task stops the grader itself at ``timeout``)."""
    return str(max(1, math.ceil((timeout + 60) / 60)))


def batch_script(course: Course) -> str:
    return ("#!/bin/bash\n"
            "# one task of a grading job array: python -m autograde.slurm task MANIFEST (autograde/slurm.py)\n"
            f"cd {shlex.quote(str(course.root))} || exit 3\n"
            f"exec {shlex.quote(sys.executable)} -m autograde.slurm task \"$1\"\n")


def write_batch(course: Course, spec: AssignmentSpec, tasks: list[dict], timeout: float) -> Path:
    """The batch folder: manifest.json and batch.sh.  ``tasks``: student and slot each."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = course.work / ".sandbox" / "slurm" / spec.name / f"{stamp}-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=False)
    entries = []
    for i, t in enumerate(tasks):
        entries.append({"task": i, "student": t["student"], "slot": t["slot"],
                        "out": str(folder / f"result-{i}.json"), "log": str(folder / f"task-{i}.log")})
    manifest = {"assignment": spec.name, "course": str(course.root), "timeout": timeout, "tasks": entries}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    script = folder / "batch.sh"
    script.write_text(batch_script(course), encoding="utf-8")
    script.chmod(0o755)
    return folder


def sbatch_command(folder: Path, n: int, timeout: float, max_running: int | None = None,
                   partition: str | None = None, extra_args: str = "", name: str = "grade") -> list[str]:
    array = f"0-{n - 1}" + (f"%{max_running}" if max_running else "")
    cmd = ["sbatch", "--parsable", f"--array={array}", f"--job-name={name}", f"--chdir={folder}",
           f"--output={folder}/task-%a.log", "--open-mode=append", f"--time={time_limit(timeout)}",
           "--export=ALL", "--ntasks=1"]
    if partition:
        cmd.append(f"--partition={partition}")
    cmd += shlex.split(extra_args or "")
    return cmd + [str(folder / "batch.sh"), str(folder / "manifest.json")]


def submit(cmd: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"error: sbatch failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}\n"
                         f"  command: {shlex.join(cmd)}")
    return proc.stdout.strip().split(";")[0]        # "<jobid>" or "<jobid>;<cluster>"


def wait(job: str, env: dict[str, str], deadline: float | None = None, poll: float = 0.5) -> None:
    """Until no task of the array is pending or running (``squeue`` lists none), or the
    deadline if one is given (then the array is cancelled).  Each task's own time limit
    bounds its run, not its wait in the queue: without a deadline this waits as long as
    the cluster makes it.  A job already purged from the controller's memory reads as
    finished; other ``squeue`` errors are retried for ten minutes."""
    errors_since = None
    while True:
        proc = subprocess.run(["squeue", "-h", "-j", job, "-o", "%i %T"], env=env, capture_output=True, text=True,
                              timeout=120)
        if proc.returncode == 0:
            errors_since = None
            if not proc.stdout.strip():
                return
        elif "Invalid job id" in proc.stderr:
            return
        else:
            errors_since = errors_since or time.time()
            if time.time() - errors_since > 600:
                cancel(job, env)
                raise SystemExit(f"error: squeue has failed for 10 minutes: {proc.stderr.strip()[-1000:]}")
        if deadline is not None and time.time() > deadline:
            print(f"warning: the Slurm array {job} ran past its deadline; cancelling it", file=sys.stderr)
            cancel(job, env)
            return
        time.sleep(poll)
        poll = min(poll * 1.2, 5.0)


def cancel(job: str, env: dict[str, str]) -> None:
    try:
        subprocess.run(["scancel", job], env=env, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"warning: could not cancel the Slurm array {job} ({e}): `scancel {job}`", file=sys.stderr)


def log_tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-n:]
    except OSError:
        return ""


def collect_task(entry: dict, job: str) -> tuple[Path | None, str | None, dict]:
    """(result file, None, Slurm record) for a task that left its result, else
    (None, what went wrong, {}): the log's last error, or that there was no log at all."""
    from autograde.cli import _last_error

    out = Path(entry["out"])
    record = {}
    if out.exists():
        try:
            record = json.loads(out.read_text(encoding="utf-8")).get("slurm", {})
            return out, None, record
        except (OSError, ValueError):
            pass
    where = f"Slurm task {job}_{entry['task']}"
    log = log_tail(Path(entry["log"]))
    if not log.strip():
        return None, f"{where} left no result and no log (cancelled, or it never started: see squeue/sacct)", {}
    return None, f"{where} left no result: {_last_error(log)}", {}


def grade_batch(course: Course, spec: AssignmentSpec, students: list[str], timeout: float, version: str,
                force: bool = False, max_running: int | None = None, partition: str | None = None,
                extra_args: str = ""):
    """The Outcomes of ``students`` (in that order), those that need grading graded by
    one Slurm job array."""
    from autograde.cli import finish_one, prepare_one, store_result

    preps = {s: prepare_one(course, spec, s, version=version, force=force) for s in students}
    todo = [s for s in students if not preps[s].done and preps[s].result is None]
    results: dict[str, tuple] = {}
    if todo:
        slots = max_running or len(todo)
        folder = write_batch(course, spec, [{"student": s, "slot": i % slots} for i, s in enumerate(todo)], timeout)
        env = course.env()
        cmd = sbatch_command(folder, len(todo), timeout, max_running, partition, extra_args, name=f"grade-{spec.name}")
        t0 = time.time()
        job = submit(cmd, env)
        manifest_path = folder / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest.update({"job": job, "submitted": round(t0, 3), "sbatch": cmd})
        manifest_path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        print(f"submitted Slurm job array {job}: {len(todo)} tasks ({folder})", flush=True)
        try:
            wait(job, env)
        except BaseException:           # interrupted: no task left running on the cluster
            cancel(job, env)
            raise
        manifest["ended"] = round(time.time(), 3)
        manifest_path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        for student, entry in zip(todo, manifest["tasks"]):     # task i grades todo[i]
            results[student] = collect_task(entry, job)
    outcomes = []
    for s in students:
        prep = preps[s]
        if s not in results:
            outcomes.append(finish_one(prep))
            continue
        out, failure, record = results[s]
        if failure is not None:
            outcomes.append(finish_one(prep, failure=failure))
            continue
        result = store_result(prep, out)
        outcomes.append(finish_one(prep, result, seconds=record.get("seconds", 0.0)))
    return outcomes


# ----------------------------------------------------------------------- in the array task
def run_task(manifest_path: Path, index: int) -> int:
    """One array task: grade the manifest's entry ``index`` as a local worker would and
    put its result, with where and how it ran, at the entry's ``out`` (renamed into
    place)."""
    from autograde.cli import run_local

    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    entry = manifest["tasks"][index]
    course = Course(Path(manifest["course"]))
    spec = course.spec(manifest["assignment"])
    out = Path(entry["out"])
    part = out.with_name(out.name + ".part")
    t0 = time.time()
    host = os.uname().nodename
    print(f"task {os.environ.get('SLURM_ARRAY_JOB_ID', '?')}_{os.environ.get('SLURM_ARRAY_TASK_ID', index)} "
          f"on {host}: {entry['student']} (slot {entry['slot']})", flush=True)
    failure = run_local(course, spec, entry["student"], part, manifest["timeout"], entry["slot"], echo=True)
    if failure is not None:
        print(f"ERROR: grading {entry['student']} failed: {failure}", flush=True)
        part.unlink(missing_ok=True)
        return 1
    result = json.loads(part.read_text(encoding="utf-8"))
    result["slurm"] = {"job": os.environ.get("SLURM_ARRAY_JOB_ID", ""), "task": os.environ.get("SLURM_ARRAY_TASK_ID", ""),
                       "job_id": os.environ.get("SLURM_JOB_ID", ""), "node": host,
                       "started": round(t0, 3), "seconds": round(time.time() - t0, 2)}
    part.write_text(json.dumps(result, indent=1), encoding="utf-8")
    os.replace(part, out)
    print(f"done in {time.time() - t0:.1f} s: {out}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2 or argv[0] != "task":
        print("usage: python -m autograde.slurm task MANIFEST  (inside a Slurm array task)", file=sys.stderr)
        return 2
    index = int(os.environ.get("SLURM_ARRAY_TASK_ID", "0"))
    return run_task(Path(argv[1]), index)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
