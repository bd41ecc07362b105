# Two commands on a fresh Debian machine with Python 3.11: `make demo` and `make test`.
# Everything else they need (venv, Python deps, a Java runtime for Spark) is installed here.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format docs clean system-deps benchmark

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	@$(PYTHON) -c "import sys; assert sys.version_info[:2] == (3, 11), sys.version" 2>/dev/null || { echo "error: Python 3.11 is required (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,plots,xrootd,trees,l1]'
	@touch $(STAMP)

# Debian packages: a Java 17+ runtime for Spark, and the XRootD server the remote-reading
# tests start on 127.0.0.1. Installed only when missing.
APT_PACKAGES = $(if $(shell command -v java),,openjdk-17-jre-headless) \
               $(if $(shell command -v xrootd),,xrootd-server)

system-deps:
	@if [ -n "$(strip $(APT_PACKAGES))" ]; then \
	  echo "installing Debian packages: $(strip $(APT_PACKAGES))"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $(strip $(APT_PACKAGES)); \
	fi

# The whole pipeline on the defaults of dltrigger.toml; a second `make demo` skips what is
# up to date (see docs/evaluation.md).
demo: $(STAMP)
	$(BIN)/dltrigger run

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# The documentation site (docs/*.md and the API reference from the docstrings) into site/;
# --strict: every warning is an error (tests/test_docs.py runs the same build); the variable
# silences mkdocs-material's notice of its end of life, printed on every build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

benchmark: $(STAMP)
	$(BIN)/python benchmarks/generate.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/ingest_delphes.py
	$(BIN)/python benchmarks/features.py
	$(BIN)/python benchmarks/train.py
	$(BIN)/python benchmarks/tune.py
	$(BIN)/python benchmarks/distributed.py
	$(BIN)/python benchmarks/evaluate.py
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/stream.py

clean:
	rm -rf $(VENV) data runs site .pytest_cache
