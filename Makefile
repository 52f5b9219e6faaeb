# Every target bootstraps .venv itself, so `make demo` and `make test` work on a fresh clone.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.ifmesh-installed

.PHONY: setup demo test check lint format bench clean

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	@touch $(STAMP)

setup: $(STAMP)

# A whole room on this machine: bare git remote, signaling server, 3 node processes, the
# Session-2 scenario, the board, the coordination branch's git log and measured figures.
demo: $(STAMP)
	$(VENV)/bin/ifmesh up --sessions 3

check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy node signaling

# pytest exits 5 when it collects no test: that is not a failure of the suite.
test: check
	@$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	@for b in benchmarks/[!_]*.py; do echo "== $$b"; $(PY) $$b || exit $$?; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
