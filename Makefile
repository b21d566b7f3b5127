# Two entry points that must work on a fresh machine with only Python 3.11+:
#   make plan [STACK=dev]   offline plan of a stack
#   make test               lint + unit tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STACK ?= dev
STAMP := $(VENV)/.installed
BASE_STAMP := $(VENV)/.installed-base
SLOW_STAMP := $(VENV)/.installed-slow
PIP := $(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt
# uv (pinned in constraints.txt, bootstrapped from PyPI into the venv) installs from its cache in seconds; where it
# cannot be had, pip does the same install. Torch's CPU build is on this machine's disk, which only pip looks at.
INSTALL = if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install -q --python $(BIN)/python -c constraints.txt $(1); \
	else $(PIP) $(1); fi

# Python caches compiled modules (and pytest its assertion-rewritten tests) in __pycache__: a shell that sets
# PYTHONDONTWRITEBYTECODE would make every run compile the whole tree again (about 4 s of each test worker).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: plan plans test test-slow load lint bench clean generate coverage policy-pack

# `make plan` installs only what the program needs; the test tools and the corpus extra come with `make test`.
$(BASE_STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) uv || echo "uv could not be installed: pip installs instead"
	$(call INSTALL,-e .)
	touch $(BASE_STAMP)

# The test tools and judges (all from PyPI: Karpenter's CRD schemas ship in tests/schemas/karpenter, generated).
$(STAMP): $(BASE_STAMP)
	$(call INSTALL,-e '.[dev]')
	touch $(STAMP)

# The slow lanes need torch's CPU build: a plain `torch` from PyPI is the CUDA build on Linux (several GB). Where pip
# finds torch 2.13.0's CPU wheel on its own (the CI machines keep it on disk), TORCH_INDEX stays empty; elsewhere
# `make test-slow TORCH_INDEX=https://download.pytorch.org/whl/cpu` takes it from PyTorch's CPU index
# (2.13.0+cpu satisfies ==2.13.0).
TORCH_INDEX ?=
export TORCH_INDEX
$(SLOW_STAMP): $(STAMP)
	$(PIP) -e '.[dev,ray,train]' torch==2.13.0 $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	touch $(SLOW_STAMP)

# The policy pack's own interpreter, exactly what the Pulumi CLI starts for `--policy-pack policies`:
# PulumiPolicy.yaml names `venv` (policies/venv), and the CLI never creates it for a local pack. Built from
# policies/requirements.txt at the versions constraints.txt pins (what `pulumi install` in policies/ would do).
PACK_VENV := policies/venv
PACK_STAMP := $(PACK_VENV)/.installed
$(PACK_STAMP): policies/requirements.txt constraints.txt $(BASE_STAMP)
	test -x $(PACK_VENV)/bin/python || $(PYTHON) -m venv $(PACK_VENV)
	if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install -q --python $(PACK_VENV)/bin/python -r policies/requirements.txt; \
	else $(PACK_VENV)/bin/python -m pip install -q --disable-pip-version-check -r policies/requirements.txt; fi
	touch $(PACK_STAMP)

policy-pack: $(PACK_STAMP)

plan: $(BASE_STAMP)
	$(BIN)/mlplat plan $(STACK)

# Each shipped stack as an update preview and as the first preview of a new stack (computed values unknown).
plans: $(STAMP)
	for s in dev staging prod; do \
	  $(BIN)/mlplat plan $$s --json plan-$$s.json --quiet || exit $$?; \
	  $(BIN)/mlplat plan $$s --first-preview --json plan-$$s-first.json --quiet || exit $$?; \
	done

lint: $(STAMP) $(PACK_STAMP)
	$(BIN)/python -m ruff check .

# Two workers (the machines here have two cores); work stealing balances the slow planning tests.
test: lint
	$(BIN)/python -m pytest -n 2 --dist worksteal -m "not load and not ray and not training and not extras and not mutation"

# Slower lanes: corpus curation on a local Ray runtime and on several workers, and the continued pre-training
# script under torchrun on CPU (outside `make test`'s time goal; CI runs them).
test-slow: $(SLOW_STAMP)
	$(BIN)/python -m pytest -m "ray or training or extras or mutation"

# Concurrency and fault injection (24 conversations on 8 threads through the live-chat handlers).
load: $(STAMP)
	$(BIN)/python -m pytest -m load

# Files generated from the code: the configuration and component references, the policy pack's per-environment
# config and the README's cost row (planned from the shipped stacks).
generate: $(STAMP)
	$(BIN)/mlplat config-reference --write docs/configuration.md
	$(BIN)/python -m stacks.components_reference --write docs/components.md
	$(BIN)/python -m stacks.environments --write policies/config
	$(BIN)/python -m mlplat.readme --write README.md

# Line coverage per package (the same tests as `make test`).
coverage: $(STAMP)
	$(BIN)/python -m pytest -q -m "not load and not ray and not training and not extras" --cov=components --cov=stacks --cov=policies --cov=mlplat \
		--cov-report=term-missing:skip-covered --cov-report=term

bench: $(STAMP)
	$(BIN)/python bench/plan_speed.py
	$(BIN)/python bench/policy_speed.py
	$(BIN)/python bench/live_chat_throughput.py | tail -n 1
	$(BIN)/python bench/validators.py
	$(BIN)/python bench/curate_speed.py
	$(BIN)/python bench/near_duplicates.py
	$(BIN)/python bench/rag_retrieval.py
	$(BIN)/python bench/test_speed.py

clean:
	rm -rf $(VENV) $(PACK_VENV) plan-*.json
