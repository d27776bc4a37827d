# The course's commands. Each target builds .venv first if it is missing or out of date.
#   make run    execute every notebook (full size) into build/;  NST_SMOKE=1 make run for a quick pass
#   make test   unit tests + every notebook in smoke mode, float32 and (on a reader's own photos) as where auto picks bfloat16; CI runs make lint, then this
#   make test-fast  the unit tests only, without executing notebooks (a quick local loop)
#   make mutate  mutation testing of the modules the notebooks teach (slow; by hand, see tests/README.md)
#   make site   the course as a static site from make run's executed notebooks, into build/site/ (offline; NST_SMOKE=1: build/smoke/)
#   make release  the students' copies of the exercises, without model answers, into build/classroom/release/ (nbgrader; docs/grading.md)
#   make grade SUBMISSIONS=DIR  autograde handed-in notebooks (smoke mode, TIMEOUT=120 s a cell); build/classroom/grades.csv and .md
#   make lab    Jupyter Lab on notebooks/
#   make lint   ruff over helpers, tests, benchmarks, images and the notebooks
#   make prefetch  download VGG19 weights, the Hub model and the paintings into the cache (online, once)
#   make bench / make bench-quick   speed and time-to-quality measurements

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup run site release grade test test-fast mutate lab lint clean prefetch bench bench-quick

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) -m helpers.runner

# never executes a notebook: run `make run` first (docs/site.md)
site: $(STAMP)
	$(PY) -m helpers.site

# the exercises as nbgrader assignments: make release, then make grade SUBMISSIONS=folder (docs/grading.md)
release: $(STAMP)
	$(PY) -m helpers.classroom release

TIMEOUT ?= 120
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder [TIMEOUT=seconds a cell]"; exit 2; }
	$(PY) -m helpers.classroom grade "$(SUBMISSIONS)" --timeout $(TIMEOUT)

# the tests and the notebook runs are mostly single-threaded Python, so they run one worker per core (pytest-xdist)
test: $(STAMP)
	$(PY) -m pytest -n auto

test-fast: $(STAMP)
	$(PY) -m pytest -n auto -m "not notebook"

# mutation testing, by hand (not in CI): MUTANTS="helpers.colour*" limits it to one module; tests/README.md has the results
mutate: $(STAMP)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(VENV)/bin/mutmut run $(MUTANTS); $(VENV)/bin/mutmut results

lab: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=$${TF_CPP_MIN_LOG_LEVEL:-2} $(VENV)/bin/jupyter lab notebooks

lint: $(STAMP)
	$(VENV)/bin/ruff check helpers tests benchmarks images notebooks

prefetch: $(STAMP)
	$(PY) -m helpers.prefetch

bench: $(STAMP)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/style_statistics.py --results benchmarks/RESULTS.md

bench-quick: $(STAMP)
	$(PY) benchmarks/run.py --quick

clean:
	rm -rf build notebooks/outputs .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
