# Two entry points that must work on a fresh machine with only Python 3.11+:
#   make plan [STACK=dev]   offline plan of a stack
#   make test               lint + unit tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STACK ?= dev
STAMP := $(VENV)/.installed

.PHONY: plan plans test load lint bench clean generate coverage

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

# Two workers (the machines here have two cores); work stealing balances the slow planning tests.
test: lint
	$(BIN)/python -m pytest -n 2 --dist worksteal -m "not load"

# Concurrency and fault injection (24 conversations on 8 threads through the live-chat handlers).
load: $(STAMP)
	$(BIN)/python -m pytest -m load

# Files generated from the code: the configuration reference and the policy pack's per-environment config.
generate: $(STAMP)
	$(BIN)/mlplat config-reference --write docs/configuration.md
	$(BIN)/python -m stacks.environments --write policies/config

# Line coverage per package (the same tests as `make test`).
coverage: $(STAMP)
	$(BIN)/python -m pytest -q --cov=components --cov=stacks --cov=policies --cov=mlplat \
		--cov-report=term-missing:skip-covered --cov-report=term

bench: $(STAMP)
	$(BIN)/python bench/plan_speed.py
	$(BIN)/python bench/policy_speed.py
	$(BIN)/python bench/live_chat_throughput.py | tail -n 1
	$(BIN)/python bench/validators.py

clean:
	rm -rf $(VENV) plan-*.json
