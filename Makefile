# The two commands of the README. Both create and reuse .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint format results clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev,dmc,ray,optuna,tensorboard]'
	touch $(STAMP)

## make demo: install, then run the main job (see README).
demo: $(STAMP)
	$(VENV)/bin/pisces demo --out runs/demo

## make test: install, then lint and run the fast test suite.
test: $(STAMP) lint
	$(PY) -m pytest -n 2 -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/ruff format src tests benchmarks

## make results: regenerate every file derived from the committed jumping records (the
## tests in tests/test_readme.py fail until these match the records).
J := results/jumping
results: $(STAMP)
	$(VENV)/bin/pisces jumping report $(foreach p,bisim-transfer dropout-l2 pse randconv-pse randconv randconv-bisim-l2 pse-paper-variant pse-coupling pse-tuned-trial8,$(J)/$(p)-wide) $(J)/pse-wide-bf16 $(J)/randconv-pse-wide-bf16 > $(J)/table1-wide.md
	$(PY) -c "import pathlib, re; t = pathlib.Path('$(J)/table1-wide.md').read_text().strip(); r = pathlib.Path('README.md'); b, e = '<!-- table1-wide.md: begin -->', '<!-- table1-wide.md: end -->'; s = r.read_text(); i, j = s.index(b) + len(b), s.index(e); r.write_text(s[:i] + '\n' + t + '\n' + s[j:])"
	$(VENV)/bin/pisces jumping compare $(J)/pse-wide $(J)/pse-wide-bf16 --out $(J)/precision-pse.md
	$(VENV)/bin/pisces jumping compare $(J)/randconv-pse-wide $(J)/randconv-pse-wide-bf16 --out $(J)/precision-randconv-pse.md
	$(VENV)/bin/pisces jumping compare $(foreach p,pse-wide pse-narrow pse-random,$(J)/$(p) $(J)/$(subst pse-,pse-coupling-,$(p))) $(J)/randconv-pse-wide-bf16 $(J)/randconv-pse-coupling-wide --out $(J)/coupling-weights.md --png $(J)/figures/coupling-weights.png > /dev/null
	$(PY) benchmarks/bench_jumping_runs.py --out benchmarks/results/jumping_runs.md > /dev/null
	$(VENV)/bin/pisces jumping report $(J) > $(J)/report-all.md
	$(PY) $(J)/seen_positions.py --out $(J)/seen-positions.md > /dev/null
	$(VENV)/bin/pisces jumping results-page $(J) --out results/README.md

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
