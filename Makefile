# cryptovol — the two commands a newcomer needs: `make run` and `make test`.
# Both create the environment first (uv + the locked dependencies) if it is missing.

SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 3000
HOST ?= 127.0.0.1
# uv from PATH, else a private copy installed with pip into .uv-bootstrap/
UV ?= $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.uv-bootstrap/bin/uv)
# optional dependency groups to install too, e.g. `make test EXTRAS=seq` (the GRU challenger)
EXTRAS ?=
# pytest-xdist workers of `make test` (a test file per unit of work; tests/conftest.py orders them)
TEST_WORKERS ?= 2
empty :=
space := $(empty) $(empty)
ENV_STAMP := .venv/.cryptovol-synced$(if $(strip $(EXTRAS)),-$(subst $(space),-,$(strip $(EXTRAS))))

.PHONY: help env run pipeline serve bento stack-up stack-status stack-down test test-fast lint docs docs-build clean
PACKAGES := cryptovol feature_repo training serving monitoring flows
# the site's build imports the service: its libraries' deprecation chatter is not for readers
MKDOCS := NO_MKDOCS_2_WARNING=1 PYTHONWARNINGS=ignore::DeprecationWarning $(UV) run --frozen mkdocs

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(CURDIR)/.uv-bootstrap/bin/uv:
	@echo "uv not found: installing it with pip into .uv-bootstrap/"
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target .uv-bootstrap uv

# --compile-bytecode: every process of the platform (and of its tests) would otherwise compile
# its libraries' sources anew wherever PYTHONDONTWRITEBYTECODE is set (`cryptovol models list`
# 9.7 s -> 3.8 s on a busy 2-core machine)
$(ENV_STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode $(foreach e,$(EXTRAS),--extra $(e))
	@rm -f .venv/.cryptovol-synced*
	@touch $@

env: $(ENV_STAMP) ## Create/refresh .venv from uv.lock

run: env ## Run the pipeline on the demo data, then serve the champion on http://$(HOST):$(PORT) with the schedules beside it
	$(UV) run --frozen cryptovol pipeline
	$(UV) run --frozen cryptovol serve --schedule --host $(HOST) --port $(PORT)

pipeline: env ## Run the pipeline only
	$(UV) run --frozen cryptovol pipeline

serve: env ## Serve the current champion only
	$(UV) run --frozen cryptovol serve --host $(HOST) --port $(PORT)

bento: env ## Build the Bento of the service (`bentoml build`; then `bentoml containerize cryptovol:latest`)
	PATH="$(dir $(UV)):$$PATH" $(UV) run --frozen bentoml build .

stack-up: env ## Start the production profile natively (PostgreSQL must run; see README "Production")
	$(UV) run --frozen cryptovol stack up

stack-status: env ## Each production component's state, URL and health
	$(UV) run --frozen cryptovol stack status

stack-down: env ## Stop what stack-up started (the databases keep their data)
	$(UV) run --frozen cryptovol stack down

test: env ## Lint, build the docs (strict) and run the whole test suite (unit, data, integration, end-to-end)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen python -m compileall -q $(PACKAGES) tests benchmarks
	$(MKDOCS) build --strict --quiet --site-dir .site
	$(UV) run --frozen pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-fast: env ## The inner loop: unit and data tests (no Redis/MLflow/HTTP), a few minutes; add ARGS="-k name" or ARGS=--lf
	$(UV) run --frozen python -m compileall -q $(PACKAGES) tests benchmarks
	$(UV) run --frozen pytest -m "not integration" $(ARGS)

docs: env ## Serve the docs site on http://127.0.0.1:8001 (rebuilds as files change)
	$(MKDOCS) serve --dev-addr 127.0.0.1:8001

docs-build: env ## Build the docs site into .site/ (strict: a broken link fails)
	$(MKDOCS) build --strict --site-dir .site

lint: env ## Ruff
	$(UV) run --frozen ruff check .

clean: ## Remove outputs (.cryptovol) and caches; keeps .venv
	rm -rf .cryptovol .pytest_cache .ruff_cache .site
