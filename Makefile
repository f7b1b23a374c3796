# datong — every target sets up what it needs by itself (virtualenv, packages, broker).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help run test lint bench bench-readme faults docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP) ## the whole hub on embedded defaults, fed with the demo community
	$(BIN)/datong up --demo

# System tools the tests drive: promtool (Debian prometheus), the headless browser the
# page tests run in (Debian chromium; playwright drives it, it never downloads one) and the
# CJK fonts its screenshots need to show Chinese as text rather than boxes; kubectl renders
# deploy/kustomization.yaml (its kustomize sets the image).
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
TOOLS := /usr/bin/promtool /usr/bin/chromium $(CJK_FONT) /usr/bin/kubectl
/usr/bin/promtool: PACKAGE := prometheus
/usr/bin/kubectl: PACKAGE := kubernetes-client
/usr/bin/chromium: PACKAGE := chromium
$(CJK_FONT): PACKAGE := fonts-noto-cjk
$(TOOLS):
	@if [ "$$(id -u)" != 0 ]; then echo "install Debian's $(PACKAGE) package ($@) as root"; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PACKAGE) >/dev/null

# Two test processes (each test file in one of them: module fixtures stay shared); the tests
# marked serial restart what every test shares, so they run alone afterwards.
# axe-core, the accessibility checker the page tests run in the browser: from the npm
# registry at a pinned version, its tarball checked against the hash below (never a CDN).
AXE_VERSION := 4.14.1
AXE_SHA256  := e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745
AXE         := var/vendor/axe-core-$(AXE_VERSION)/axe.min.js
$(AXE):
	mkdir -p $(@D)
	cd $(@D) && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null
	echo "$(AXE_SHA256)  $(@D)/axe-core-$(AXE_VERSION).tgz" | sha256sum --check --quiet
	tar -xzf $(@D)/axe-core-$(AXE_VERSION).tgz -C $(@D) --strip-components=1 package/axe.min.js

test: $(STAMP) $(TOOLS) $(AXE) ## unit and integration tests against the real broker and databases
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not serial" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m serial $(PYTEST_ARGS)

lint: $(STAMP) ## ruff and mypy --strict
	$(BIN)/ruff check schemas connectors services tests
	$(BIN)/ruff format --check schemas connectors services tests
	$(BIN)/mypy

faults: $(STAMP) $(TOOLS) ## fault injection, long form (DATONG_FAULT_SEED=N replays a run)
	DATONG_FAULTS=full $(BIN)/python -m pytest tests/faults $(PYTEST_ARGS)

bench: $(STAMP) ## throughput and latency, each beside its limit (BENCH_ARGS=--quick)
	$(BIN)/datong bench $(BENCH_ARGS)

# The performance page's table is rendered from the report kept in docs/bench/, never typed.
bench-readme: $(STAMP) ## run the bench, keep its report in docs/bench/, fill docs/performance.md
	$(BIN)/datong bench $(BENCH_ARGS) --out docs/bench/latest.json --readme docs/performance.md

docs: $(STAMP) ## write the reference pages the code makes: docs/cli.md, docs/metrics.md, docs/ingest.md
	$(BIN)/python -m services.cli.reference

clean: ## remove the virtualenv and local state
	rm -rf $(VENV) var
