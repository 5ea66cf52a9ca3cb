# Two commands do all the set-up on a fresh Debian machine: `make demo` and `make test`.
# Every step is idempotent and quick the second time (stamp files in .venv/).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp
# Debian packages: Tesseract's language data, fonts for the synthetic pages and the searchable PDF's text
# layer, Chromium for report tests, poppler's pdftotext to check searchable PDFs.
APT_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-fra tesseract-ocr-deu \
	tesseract-ocr-spa tesseract-ocr-vie fonts-dejavu-core fonts-liberation fonts-noto-core \
	chromium chromium-driver poppler-utils

.PHONY: demo test bench lint system-deps setup clean

demo: $(STAMP)-install
	$(BIN)/ocr-harness run suites/quickstart.toml

# The Aspose runtime (OpenSSL 1.1 for its bundled .NET) goes to a per-user cache; 0.2 s when present.
test: $(STAMP)-dev
	$(BIN)/ocr-harness doctor --fix aspose
	$(BIN)/python -m pytest -q

# Saved history in .benchmarks/; once there is one, a median 25% slower than the last run fails.
bench: $(STAMP)-dev
	$(BIN)/python -m pytest benchmarks -q --benchmark-only --benchmark-autosave \
		$(if $(wildcard .benchmarks/*/*.json),--benchmark-compare --benchmark-compare-fail=median:25%)

lint: $(STAMP)-dev
	$(BIN)/ruff check harness plugins tests benchmarks
	$(BIN)/mypy harness

setup: $(STAMP)-dev

$(STAMP)-system: Makefile
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		fi; \
	else \
		echo "not root: install these Debian packages yourself if missing: $(APT_PACKAGES)"; \
	fi
	@mkdir -p $(VENV) && touch $@

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP)-install: $(STAMP)-system $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	@touch $@

$(STAMP)-dev: $(STAMP)-system $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev,aspose,dask,serve]'
	@touch $@ $(STAMP)-install

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
