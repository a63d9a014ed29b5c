# Two commands set everything up on a machine with only Python 3.10+ on it:
#   make demo   create .venv, install, train SIAM and the baseline on synthetic scenes,
#               evaluate and draw their explanations, export for serving and LiteRT (runs/demo/)
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
	$(PY) -m pip install --quiet -e ".[test,posthoc,export,beam]"
	touch $(STAMP)

install: $(STAMP)

# Each step runs once: a second `make demo` only redoes what is missing.
$(DEMO)/metrics.json: $(STAMP) training/configs/demo.toml
	$(VENV)/bin/siam-train --config training/configs/demo.toml --out $(DEMO) --overwrite

$(DEMO)/explanations.json: $(DEMO)/metrics.json
	$(VENV)/bin/siam evaluate --model $(DEMO)/model.keras --baseline $(DEMO)/baseline/model.keras \
		--config $(DEMO)/config.toml --explanations --out $(DEMO)/explanations.json \
		--figures $(DEMO)/explanations

$(DEMO)/export/fidelity.json: $(DEMO)/metrics.json
	$(VENV)/bin/siam-export --model $(DEMO)/model.keras --out $(DEMO)/export --version 1 --overwrite

demo: $(DEMO)/explanations.json $(DEMO)/export/fidelity.json

test: $(STAMP)
	$(PY) -m pytest -q

benchmark: $(STAMP)
	$(PY) -m benchmarks.core
	$(PY) -m benchmarks.explanations --paper --library
	$(PY) -m benchmarks.export --export $(DEMO)/export
	$(PY) -m benchmarks.paper_step

clean:
	rm -rf $(VENV) runs build *.egg-info
