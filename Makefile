# Two commands set everything up on a machine with only Python 3.10+ on it:
#   make demo   create .venv, install, train SIAM and the baseline on synthetic scenes,
#               then evaluate and draw their explanations (runs/demo/)
#   make test   create .venv, install, run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO := runs/demo

.PHONY: demo test install benchmark clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,posthoc]"
	touch $(STAMP)

install: $(STAMP)

# Each step runs once: a second `make demo` only redoes what is missing.
$(DEMO)/metrics.json: $(STAMP) training/configs/demo.toml
	$(PY) -m training --config training/configs/demo.toml --out $(DEMO) --overwrite

$(DEMO)/explanations.json: $(DEMO)/metrics.json
	$(VENV)/bin/siam evaluate --model $(DEMO)/model.keras --baseline $(DEMO)/baseline/model.keras \
		--explanations --out $(DEMO)/explanations.json --figures $(DEMO)/explanations

demo: $(DEMO)/explanations.json

test: $(STAMP)
	$(PY) -m pytest -q

benchmark: $(STAMP)
	$(PY) -m benchmarks.core
	$(PY) -m benchmarks.explanations --paper --library

clean:
	rm -rf $(VENV) runs build *.egg-info
