# The course's commands. The README documents the two that matter:
#   make course   create .venv, install, prepare data, release notebooks, build the website
#   make test     the test suite (CI runs exactly this through .ci/run)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export PYTHONPATH := $(CURDIR)
export MPLBACKEND := agg

.PHONY: course venv sandbox browser data release pair book serve test test-fast results gpu-check gpu-wheels clean help

course: venv sandbox data release book  ## the main job
	@echo
	@echo "The course website is built. Open it with either:"
	@echo "    $(PYTHON) -m webbrowser file://$(CURDIR)/_build/html/index.html"
	@echo "    make serve      (then browse http://localhost:8000)"

# test processes of make test (pytest-xdist); tests/conftest.py groups what must run together.
# Every process runs torch on one thread: two processes with two threads each on two cores
# made some notebook cells 6x slower (threads spinning for a core the other process holds)
TEST_PROCESSES ?= 2

venv: $(VENV)/.installed  ## the virtual environment .venv with requirements.txt installed
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

sandbox:  ## bubblewrap, the grader's sandbox (Debian package), installed when missing
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -q bubblewrap >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q bubblewrap >/dev/null; }; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo apt-get install -y -q bubblewrap >/dev/null; \
	  else echo "warning: bubblewrap (bwrap) is missing: install it (apt-get install bubblewrap); the autograder's isolation tests need it"; fi; }
	@command -v bwrap >/dev/null 2>&1 && bwrap --version || true

data: venv  ## build the corpora from the installed packages (idempotent)
	$(BIN)/python data/prepare.py

release: venv  ## regenerate notebooks/ from solutions/ with nbgrader
	$(BIN)/python -m autograde release

pair: venv  ## install cells and paired .ipynb of the book pages (launch buttons); run after editing a page
	$(BIN)/python scripts/launch_notebooks.py

# The book's kernels must not inherit MPLBACKEND=agg: with it plt.show() draws nothing.
book: venv data pair  ## build the website (jupyter-book build, pages executed in parallel: scripts/build_book.py); warnings are errors
	env -u MPLBACKEND $(BIN)/python scripts/build_book.py . -W -n --keep-going

serve:  ## serve the built website on http://localhost:8000
	$(BIN)/python -m http.server --directory _build/html 8000

browser:  ## Debian's chromium for the browser test of the site, installed when missing
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo apt-get install -y -q chromium >/dev/null; \
	  else echo "warning: chromium is missing: install it (apt-get install chromium); the browser test of the site needs it"; fi; }

cluster:  ## Debian's slurm-wlm, munge and postgresql for the instructor-at-scale tests (a one-node Slurm cluster, a PostgreSQL gradebook), installed when missing
	@{ command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge postgresql >/dev/null 2>&1 || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge postgresql >/dev/null; }; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge postgresql >/dev/null; \
	  else echo "warning: slurm-wlm, munge or postgresql is missing: install them (apt-get install slurm-wlm munge postgresql); the Slurm and PostgreSQL tests need them"; fi; }

test: venv sandbox browser cluster data  ## the whole test suite, in fast mode
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 RNNCOURSE_MODE=fast $(BIN)/python -m pytest -n $(TEST_PROCESSES) --nbval-lax --nbval-cell-timeout=600 --durations=30 tests solutions

test-fast: venv data  ## the tests not marked slow (about 10 min in one process): no notebook, nbgrader or book runs
	RNNCOURSE_MODE=fast $(BIN)/python -m pytest -m "not slow" tests

results: venv data  ## re-measure the numbers on the results page
	$(BIN)/python scripts/bench_ch01.py
	$(BIN)/python scripts/time_notebooks.py

.PHONY: mutants
mutants: venv data  ## mutation analysis of chapters 1-7 (each mutant of an exercise's reference graded by its checks); writes results/mutants.json
	RNNCOURSE_MODE=fast OMP_NUM_THREADS=1 $(BIN)/python -m autograde.mutants --jobs 2

# The GPU check runs where there is no .venv (the device machine: python3 with CUDA torch), so
# it takes the venv's python when there is one and python3 otherwise.
GPU_PYTHON = $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON))

gpu-check:  ## on a CUDA machine, in under 8 min: notebooks (full), checks, sandboxed grading on the GPU -> results/gpu_check.json; without CUDA a dry run (CPU, one chapter)
	PYTHONUNBUFFERED=1 $(GPU_PYTHON) scripts/gpu_check.py

gpu-wheels:  ## fill .whl/ with the wheels the GPU machine lacks (nbclient, ipykernel, IPython...) and the built data, to carry there
	$(GPU_PYTHON) scripts/gpu_check.py --wheels

clean:  ## remove _build and the grading state
	rm -rf _build .pytest_cache autograde/submitted autograde/autograded autograde/feedback autograde/reports autograde/gradebook.db

help:  ## this list
	@grep -E '^[a-z-]+:.*##' Makefile | sed 's/:.*##/:/'
