# Two entry points that must work on a fresh machine with only Python 3.11+:
#   make plan [STACK=dev]   offline plan of a stack
#   make test               lint + unit tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STACK ?= dev
STAMP := $(VENV)/.installed

.PHONY: plan plans test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

plan: $(STAMP)
	$(BIN)/mlplat plan $(STACK)

plans: $(STAMP)
	for s in dev staging prod; do $(BIN)/mlplat plan $$s --json plan-$$s.json --quiet || exit $$?; done

lint: $(STAMP)
	$(BIN)/python -m ruff check .

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/plan_speed.py
	$(BIN)/python bench/policy_speed.py

clean:
	rm -rf $(VENV) plan-*.json
