"""Where things live in the course repository, and what each assignment expects.

An *assignment* is a folder ``solutions/<assignment>/`` holding nbgrader source notebooks.
Its graded cells (the ``grade_id`` of every solution and test cell) are read from there, so
the grader knows what a complete submission looks like without asking the gradebook.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Course:
    root: Path = ROOT

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def work(self) -> Path:
        return self.root / "autograde"

    @property
    def submitted(self) -> Path:
        return self.work / "submitted"

    @property
    def autograded(self) -> Path:
        return self.work / "autograded"

    @property
    def feedback(self) -> Path:
        return self.work / "feedback"

    @property
    def gradebook(self) -> Path:
        """The SQLite gradebook's file (the default ``db_url``)."""
        return self.work / "gradebook.db"

    @property
    def db_url(self) -> str:
        """nbgrader's ``CourseDirectory.db_url`` as the course's ``nbgrader_config.py``
        sets it: ``$RNNCOURSE_DB_URL`` when set (``postgresql://user@host/db``: SQLAlchemy 2
        uses psycopg 3 for it), otherwise SQLite at ``autograde/gradebook.db``.  Every
        command, ours and nbgrader's (formgrader included), reads and writes that one."""
        return db_url_of(self.root)

    def limits_file(self, assignment: str) -> Path:
        """The time limits measured for an assignment on this grading machine (stored with
        the release by the first ``grade``; ``autograde.engine.measure_limits``)."""
        return self.work / "limits" / f"{assignment}.json"

    def assignments(self) -> list[str]:
        if not self.solutions.is_dir():
            return []
        return sorted(p.name for p in self.solutions.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def spec(self, assignment: str) -> "AssignmentSpec":
        folder = self.solutions / assignment
        if not folder.is_dir():
            known = ", ".join(self.assignments()) or "none"
            raise SystemExit(f"error: no assignment {assignment!r} in {self.solutions} (known: {known})")
        notebooks = {}
        for nb_path in sorted(folder.glob("*.ipynb")):
            notebooks[nb_path.stem] = NotebookSpec.read(nb_path)
        return AssignmentSpec(assignment, notebooks)

    def env(self) -> dict[str, str]:
        """Environment for grading subprocesses: PATH with this Python's scripts first,
        the repository on PYTHONPATH (hidden checks import ``autograde.hidden``)."""
        import sys

        env = dict(os.environ)
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
        env["PYTHONPATH"] = str(self.root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("RNNCOURSE_MODE", "fast" if not _has_cuda() else "full")
        return env


_DB_URLS: dict[str, str] = {}


def db_url_of(root: Path) -> str:
    """``CourseDirectory.db_url`` from ``root/nbgrader_config.py`` (read once per process,
    as nbgrader reads it), or SQLite at ``root/autograde/gradebook.db`` when the file does
    not set one."""
    key = f"{root}|{os.environ.get('RNNCOURSE_DB_URL', '')}"
    if key not in _DB_URLS:
        url = ""
        cfg_file = Path(root) / "nbgrader_config.py"
        if cfg_file.exists():
            from traitlets.config.loader import PyFileConfigLoader

            env = dict(os.environ)
            try:
                cfg = PyFileConfigLoader(cfg_file.name, path=str(cfg_file.parent)).load_config()
            finally:          # the config puts the course on PYTHONPATH and PATH: not our business here
                os.environ.clear()
                os.environ.update(env)
            url = str(cfg.CourseDirectory.get("db_url", "") or "")
        _DB_URLS[key] = url or f"sqlite:///{Path(root) / 'autograde' / 'gradebook.db'}"
    return _DB_URLS[key]


def _has_cuda() -> bool:
    from pathlib import Path as _P

    if not any(_P("/dev").glob("nvidia*")) and not os.environ.get("CUDA_VISIBLE_DEVICES"):
        return False   # no NVIDIA device: skip importing torch (seconds) to find out
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:
        return False


@dataclass(frozen=True)
class NotebookSpec:
    name: str
    answer_cells: tuple[str, ...]                 # grade_ids of solution cells
    test_cells: dict[str, float] = field(default_factory=dict)  # grade_id -> points, in notebook order

    @classmethod
    def read(cls, path: Path) -> "NotebookSpec":
        nb = json.loads(path.read_text(encoding="utf-8"))
        answers, tests = [], {}
        for cell in nb.get("cells", []):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if not meta:
                continue
            if meta.get("grade"):
                tests[meta["grade_id"]] = float(meta.get("points", 0))
            elif meta.get("solution"):
                answers.append(meta["grade_id"])
        return cls(path.stem, tuple(answers), tests)

    @property
    def max_score(self) -> float:
        return float(sum(self.test_cells.values()))


@dataclass(frozen=True)
class AssignmentSpec:
    name: str
    notebooks: dict[str, NotebookSpec]

    @property
    def questions(self) -> list[tuple[str, str, float]]:
        """(notebook, grade_id, points) of every graded test cell, in order."""
        return [(nb.name, gid, pts) for nb in self.notebooks.values() for gid, pts in nb.test_cells.items()]

    @property
    def max_score(self) -> float:
        return sum(nb.max_score for nb in self.notebooks.values())
