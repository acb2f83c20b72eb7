# lightcnn — `make help` lists the targets.
# The virtualenv is (re)built only when pyproject.toml changes; uv makes that take seconds.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# `make train` needs only the default install; the tests, sweeps and MLflow need .[dev]
CORE_STAMP := $(VENV)/.installed-core-stamp
# Offline machines of this team keep real MNIST in ../shared/datasets; elsewhere MNIST is
# downloaded into ./data on first use. Set LIGHTCNN_DATA_DIR to use another folder.
ifneq ($(wildcard ../shared/datasets/MNIST/raw),)
export LIGHTCNN_DATA_DIR ?= $(abspath ../shared/datasets)
endif

.PHONY: help install train test test-fast lint format docs notebooks tensorboard mlflow clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -e ".[dev]"
	@touch $(STAMP) $(CORE_STAMP)

$(CORE_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -e .
	@touch $(CORE_STAMP)

install: $(STAMP)  ## create or refresh the virtualenv in .venv (everything: tests, sweeps, MLflow)

train: $(CORE_STAMP)  ## train the default experiment (LeNet-5 on MNIST); ARGS="..." adds Hydra overrides
	$(BIN)/python -m lightcnn.train $(ARGS)

# Test workers (pytest-xdist): one per core, at most 4. Half the suite waits on subprocesses
# importing torch and Lightning, so 2 workers on 2 cores take the suite from 15 to 10 minutes.
TEST_WORKERS ?= $(shell $(PYTHON) -c "import os; n = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count(); print(min(4, n or 1))")

test: $(STAMP)  ## run the whole test suite (slow tiers included), TEST_WORKERS in parallel
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(ARGS)

test-fast: $(STAMP)  ## run the tests not marked slow
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not slow" $(ARGS)

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)  ## ruff fix and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: $(STAMP)  ## regenerate docs/configuration.md from conf/
	$(BIN)/python -m lightcnn.config.reference > docs/configuration.md

notebooks: $(STAMP)  ## run notebooks/*.ipynb top to bottom into logs/notebooks/ (open them there)
	@mkdir -p logs/notebooks
	cp notebooks/*.ipynb logs/notebooks/
	$(BIN)/jupyter execute --inplace --timeout=1200 logs/notebooks/*.ipynb
	@echo "Executed notebooks: logs/notebooks/ (notebooks/ keeps them without outputs)"

tensorboard: $(STAMP)  ## open TensorBoard on logs/ (the learning curves: #custom_scalars)
	@echo "Learning curves: http://localhost:6006/#custom_scalars  (IMAGES, HPARAMS: the other tabs)"
	$(BIN)/tensorboard --logdir logs

mlflow: $(STAMP)  ## open MLflow's UI on the local store of logger=mlflow (logs/mlflow/)
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(abspath logs/mlflow/mlflow.db) --port 5000

clean:  ## remove caches and build outputs (keeps .venv, data and logs)
	rm -rf .pytest_cache .ruff_cache .hypothesis build dist src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
