# Every target bootstraps .venv itself, so `make demo` and `make test` work on a fresh clone.
# .venv holds exactly uv.lock (scripts/setup.sh); `make lock` refreshes the lock.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.ifmesh-installed

.PHONY: setup lock test-tools demo test check lint format bench soak clean

$(STAMP): pyproject.toml uv.lock scripts/setup.sh
	@bash scripts/setup.sh
	@touch $(STAMP)

setup: $(STAMP)

lock:
	@bash scripts/setup.sh lock
	@touch $(STAMP)

# The Debian tools the tests drive (git, redis-server, chromium, …): installed as root, listed
# with the test groups that skip otherwise. The demo needs none of them.
test-tools:
	@bash scripts/test-tools.sh

# A whole room on this machine: bare git remote, signaling server, 3 node processes, the
# Session-2 scenario, the board, the coordination branch's git log and measured figures.
demo: $(STAMP)
	$(VENV)/bin/ifmesh up --sessions 3

check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy -p ifmesh

# pytest exits 5 when it collects no test: that is not a failure of the suite.
test: check test-tools
	@$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	@for b in benchmarks/[!_]*.py; do echo "== $$b"; $(PY) $$b || exit $$?; done

# A bounded soak (not part of `make test`): 8 nodes, 2 signaling instances on Redis, a node or
# instance killed every 30 s, for MINUTES (15). Needs redis-server (make test-tools). The nodes
# start from logs of PREGROWN events per session (20,000: a Phase-0 day), as a long session's
# node runs; PREGROWN=0 starts them from empty logs, where the growth is the history itself.
MINUTES ?= 15
PREGROWN ?= 20000
soak: $(STAMP) test-tools
	$(PY) benchmarks/soak.py --minutes $(MINUTES) --pregrown $(PREGROWN)

clean:
	rm -rf $(VENV) .setup.log .mypy_cache .pytest_cache .ruff_cache .hypothesis build dist
