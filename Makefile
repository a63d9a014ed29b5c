# Two commands set everything up on a machine with only Python 3.10+ on it:
#   make demo   create .venv, install, train SIAM and the baseline on synthetic scenes,
#               evaluate and draw their explanations, export for serving, LiteRT and the
#               browser (runs/demo/; runs/demo/export/web/ is the page)
#   make test   create .venv, install (Chromium too, with apt-get, for the browser tests),
#               run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO := runs/demo

WEB_STAMP := export/web/node_modules/.installed

.PHONY: demo test install web chromium benchmark docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,posthoc,export,beam,jax,docs,hub]"
	touch $(STAMP)

install: $(STAMP)

# LiteRT.js (npm @litertjs/core, its WebAssembly included) for siam-export --web.
$(WEB_STAMP): export/web/package.json export/web/package-lock.json
	cd export/web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

web: $(WEB_STAMP)

# Debian's Chromium for the browser tests (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		(echo "The browser tests need Chromium: install it (apt-get install chromium) and rerun." && false)

# Each step runs once: a second `make demo` only redoes what is missing.
$(DEMO)/metrics.json: $(STAMP) training/configs/demo.toml
	$(VENV)/bin/siam-train --config training/configs/demo.toml --out $(DEMO) --overwrite

$(DEMO)/explanations.json: $(DEMO)/metrics.json
	$(VENV)/bin/siam evaluate --model $(DEMO)/model.keras --baseline $(DEMO)/baseline/model.keras \
		--config $(DEMO)/config.toml --explanations --out $(DEMO)/explanations.json \
		--figures $(DEMO)/explanations

$(DEMO)/export/fidelity.json: $(DEMO)/metrics.json $(WEB_STAMP)
	$(VENV)/bin/siam-export --model $(DEMO)/model.keras --out $(DEMO)/export --version 1 --overwrite \
		--web

demo: $(DEMO)/explanations.json $(DEMO)/export/fidelity.json

# The layer, models, losses and explainers again on Keras' JAX backend, TensorFlow
# blocked (tests/conftest.py); slow tests left out (about a minute).
JAX_TESTS := tests/siam_keras/layers tests/siam_keras/models tests/siam_keras/explanations \
	tests/training/test_losses.py

# The three installs run side by side (mostly downloads); the tests on both cores, a
# test file per worker (its fixtures built once), the longest files first
# (tests/conftest.py's LONGEST_FIRST; the slowest tests are listed at the end).
test:
	$(MAKE) --no-print-directory -j3 $(STAMP) $(WEB_STAMP) chromium
	$(PY) -m pytest -q -n 2 --dist loadfile --durations=15
	KERAS_BACKEND=jax $(PY) -m pytest -q -n 2 --dist loadfile -m "not slow" $(JAX_TESTS)

# The guides (docs/*.md) and the API reference from the docstrings, as a site in site/
# (MkDocs, built offline; mkdocs.yml). Any warning, a broken link between guides included,
# fails the build (--strict).
DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(PY) -m mkdocs build --strict --site-dir site

benchmark: $(STAMP)
	$(PY) -m benchmarks.core
	$(PY) -m benchmarks.explanations --paper --library
	$(PY) -m benchmarks.export --export $(DEMO)/export
	$(PY) -m benchmarks.paper_step
	$(PY) -m benchmarks.web_page --export $(DEMO)/export

clean:
	rm -rf $(VENV) runs build *.egg-info export/web/node_modules
