"""nbgrader configuration of the course (read by every `nbgrader` command run here).

solutions/ is nbgrader's *source* folder and notebooks/ its *release* folder; everything
nbgrader writes while grading lives under autograde/ and is never committed.
The instructor drives all of it with `python -m autograde ...` (see README).
"""
import os

c = get_config()  # noqa: F821  (provided by nbgrader)

root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = root
c.CourseDirectory.course_id = "rnn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = os.path.join("autograde", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("autograde", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("autograde", "feedback")
# The gradebook: SQLite in autograde/ by default; a server when RNNCOURSE_DB_URL is set, e.g.
# postgresql://grader@db.example.org/rnncourse (psycopg 3).  `python -m autograde` reads
# this same setting, so its writer, formgrader and nbgrader's commands share one gradebook.
c.CourseDirectory.db_url = (os.environ.get("RNNCOURSE_DB_URL")
                            or "sqlite:///" + os.path.join(root, "autograde", "gradebook.db"))
# files other than notebooks that go out with an assignment: none (data comes from rnncourse)
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# Student notebooks are stored without outputs.
c.ClearOutput.enabled = True
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Stock `nbgrader autograde` (and formgrader's "Autograde" button) runs each submission in
# a Jupyter kernel started in the submission's folder: the kernel inherits this process's
# environment, so the course's packages (`rnncourse`, and `autograde.hidden` for the
# hidden tests) must be importable from there, and this interpreter's scripts (nbgrader
# runs `alembic`) must be on PATH without an activated virtual environment.
# NOTE: stock nbgrader does NOT sandbox the student's code (it runs with your rights and
# can rewrite its own tests and the gradebook): grade untrusted submissions with
# `python -m autograde grade` (book/grading.md, "Stock nbgrader").
import sys  # noqa: E402

os.environ["PYTHONPATH"] = os.pathsep.join(
    [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root])
_bindir = os.path.dirname(sys.executable)
if os.environ.get("PATH", "").split(os.pathsep)[:1] != [_bindir]:
    os.environ["PATH"] = _bindir + os.pathsep + os.environ.get("PATH", "")
c.Execute.kernel_name = "python3"

# Autograding: a cell may run 10 minutes (training cells in full mode); a notebook longer.
c.ExecutePreprocessor.timeout = int(os.environ.get("RNNCOURSE_CELL_TIMEOUT", "600"))
c.Execute.interrupt_on_timeout = True
c.Execute.execute_retries = 0

# Feedback shows each test cell's result and message, but not the hidden test code.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests",
]
