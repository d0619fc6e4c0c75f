# relay: two commands on a fresh machine.
#   make plan   creates .venv, installs relay, plans the coming week of the baseline scenario
#   make test   creates .venv, installs relay with its test extras, runs the whole suite
#   make serve  creates .venv, installs relay with its service extra, serves the demo (relay serve --demo)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= configs/baseline.yaml
DAYS   ?= 7
OUT    ?= out

# relay is installed editable, so pip does not byte-compile its sources; where
# PYTHONDONTWRITEBYTECODE is set (this machine, CI) every command would compile
# them again (0.1 s of each run): compileall writes src/relay/__pycache__ once.
.PHONY: plan passes test bench serve clean

$(BIN)/relay: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q src/relay
	touch $@

$(VENV)/.test-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q src/relay
	touch $(BIN)/relay $@

$(VENV)/.service-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[service]'
	$(BIN)/python -m compileall -q src/relay
	touch $(BIN)/relay $@

plan: $(BIN)/relay
	$(BIN)/relay plan $(CONFIG) --days $(DAYS) --out $(OUT)

passes: $(BIN)/relay
	$(BIN)/relay passes $(CONFIG) --days $(DAYS)

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest -n 2 --dist loadgroup

serve: $(VENV)/.service-installed
	$(BIN)/relay serve --demo --data $(or $(DATA),relay-data)

bench: $(VENV)/.test-installed
	$(BIN)/python -m compileall -q src/relay
	$(BIN)/python scripts/bench_geometry.py
	$(BIN)/python scripts/bench_plan.py

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
