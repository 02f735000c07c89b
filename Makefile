# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install run demo test test-deps lint bench catalogs clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

## Install into .venv and run the main job on embedded defaults: the manager in the foreground
## (the HTTP API, MCP at /mcp, /metrics) until Ctrl-C.
run: install
	$(BIN)/wk serve

## The walkthrough without the server: a health report of this host, then two short built-in faults
## (a CPU hog, a killed service) investigated without an LLM and cleaned up.
demo: install
	$(BIN)/wk check
	$(BIN)/wk scenario run cpu_hog service_down

test-deps:
	./scripts/test-deps.sh

lint: install
	$(BIN)/ruff check watchkeeper tests bench
	$(BIN)/mypy

## Install what the tests need and pass them (lint and types included): the tests on two workers, then
## those marked `alone` (they judge which process burns the host's CPU) by themselves; both always run.
test: install test-deps lint
	$(BIN)/python -m pytest -n 2 --dist loadscope -m "not alone"; others=$$?; \
	$(BIN)/python -m pytest -m alone && exit $$others

## After changing a message in code: refresh the template and the zh_CN catalog, translate the new
## entries (empty msgstr) in watchkeeper/locale/zh_CN/LC_MESSAGES/watchkeeper.po, run it again to compile.
catalogs: install
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ --no-location --omit-header --sort-output \
		-o watchkeeper/locale/watchkeeper.pot watchkeeper
	$(BIN)/pybabel -q update -i watchkeeper/locale/watchkeeper.pot -d watchkeeper/locale -D watchkeeper \
		--no-fuzzy-matching --ignore-obsolete --width 120
	$(BIN)/pybabel -q compile -d watchkeeper/locale -D watchkeeper

bench: install
	$(BIN)/python -m bench.skill_overhead
	$(BIN)/python -m bench.mcp
	$(BIN)/python -m bench.scenarios
	$(BIN)/python -m bench.log_templates
	$(BIN)/python -m bench.retrieval
	$(BIN)/python -m bench.agent
	$(BIN)/python -m bench.redaction
	$(BIN)/python -m bench.startup
	$(BIN)/python -m bench.api
	$(BIN)/python -m bench.bus
	$(BIN)/python -m bench.storm

clean:
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache
