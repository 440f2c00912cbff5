# The two-command quick start: `make demo` and `make test`. Everything either needs is installed
# here, into .venv, so a fresh machine needs nothing but Python 3.11 and Go.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint typecheck unit k8s-bins argocd-bins helm-bin pushgateway-bin cluster bench bench-promote bench-drift bench-hydrate mutation docs clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: venv
	$(BIN)/python -m gitops_gen.demo

lint: venv
	$(BIN)/ruff format --check gitops_gen tests benchmarks
	$(BIN)/ruff check gitops_gen tests benchmarks

typecheck: venv
	$(BIN)/mypy

# The test cluster's binaries (kube-apiserver, kube-controller-manager, etcd) are built from the
# Go module proxy and cached under ~/.cache/gitops-gen; building them here, before pytest, keeps
# a cold build (minutes) out of the per-test timeout. Warm, this takes about a second.
k8s-bins: venv
	$(BIN)/python -m tests.testenv build

# Argo CD v3.2.11 (controller, repo server, its redis) and helm, built the same way for the
# end-to-end tests (docs/test-cluster.md): about 20 minutes cold, about a second warm.
argocd-bins: venv
	$(BIN)/python -m tests.testenv build --argocd

# helm alone (what hydrate, promote --hydrated and drift --hydrate run), the same build as
# argocd-bins' helm, into ~/.cache/gitops-gen/helm/<version>/: about four minutes cold.
helm-bin: venv
	$(BIN)/python -c 'from tests.hydrate_support import ensure_helm; print(ensure_helm())'

# The Prometheus Pushgateway drift --pushgateway is tested against, built the same way into
# ~/.cache/gitops-gen/pushgateway/<version>/: under 3 minutes cold, about a second warm.
pushgateway-bin: venv
	$(BIN)/python -c 'from tests.testenv.pushgateway import ensure_binary; print(ensure_binary())'

# The suite runs on every core, up to 4 (pytest-xdist): each worker starts its own test cluster
# when a test first needs one, and a whole file stays on one worker, in order, so module-scoped
# worlds (the Argo CD end-to-end one) are built once. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(min(4, os.cpu_count() or 1))')

unit: venv k8s-bins argocd-bins helm-bin pushgateway-bin
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# A real API server in the foreground for manual use: prints `export KUBECONFIG=…`, Ctrl-C stops it.
# `make cluster ARGOCD=1` also starts Argo CD against it.
cluster: venv
	$(BIN)/python -m tests.testenv run $(if $(ARGOCD),--argocd)

test: lint typecheck unit

docs: venv
	$(BIN)/python -m gitops_gen.cli_reference README.md

bench: venv
	$(BIN)/python benchmarks/render_bench.py

bench-promote: venv
	$(BIN)/python benchmarks/promote_bench.py

# gitops-gen drift vs kubectl diff on 2,000 live objects (figures in docs/drift.md)
bench-drift: venv k8s-bins
	$(BIN)/python benchmarks/drift_bench.py

# Mutation testing of the pure modules with mutmut (settings in pyproject.toml, scores in
# docs/testing.md). Slow (tens of minutes), so never part of `make test`; results go to mutants/.
mutation: venv
	$(BIN)/mutmut run --max-children 2
	$(BIN)/python -m tests.mutation_scores

# hydration of the three environments cold/warm and a 21-component promote --hydrated
bench-hydrate: venv helm-bin
	$(BIN)/python benchmarks/hydrate_bench.py

clean:
	rm -rf $(VENV) mutants .pytest_cache .mypy_cache .ruff_cache
