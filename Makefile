# Two commands set everything up on a machine with only Python 3.10+ on it:
#   make demo   create .venv, install, train and evaluate SIAM on synthetic scenes
#   make test   create .venv, install, run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test install benchmark clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,posthoc]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m training --config training/configs/demo.toml --out runs/demo

test: $(STAMP)
	$(PY) -m pytest -q

benchmark: $(STAMP)
	$(PY) -m benchmarks.core

clean:
	rm -rf $(VENV) runs build *.egg-info
