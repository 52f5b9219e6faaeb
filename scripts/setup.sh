#!/usr/bin/env bash
# Sets up .venv with exactly what uv.lock holds: the first step of `make demo` and `make test`.
# Needs only git and Python >= 3.11. `scripts/setup.sh lock` refreshes the lock instead.
#
# Why uv: `uv sync --locked` installs the lock with hashes and, in the same call, fails when
# pyproject.toml and uv.lock disagree, without resolving anew (a pip-tools check would re-resolve
# and so change its verdict with the day it runs). uv itself comes from PyPI through pip, at the
# version and hashes uv.lock records for it.
set -euo pipefail
cd "$(dirname "$0")/.."

LOG=.setup.log
PYTHON="${PYTHON:-python3}"
export UV_PYTHON_DOWNLOADS=never # use the Python that made .venv; never fetch one

step() { printf 'setup: %s\n' "$*"; }
fail() {
    printf 'setup: FAILED: %s\nsetup: the full output is in %s; its end:\n' "$1" "$LOG" >&2
    tail -n 15 "$LOG" | sed 's/^/    /' >&2
    exit 1
}
: >"$LOG"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    fail "ifmesh needs Python >= 3.11; '$PYTHON' is $("$PYTHON" --version 2>&1 || echo missing) (set PYTHON=…)"
fi
command -v git >/dev/null || fail "git is not installed (apt-get install git)"

if [ ! -x .venv/bin/python ]; then
    step "creating .venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv .venv >>"$LOG" 2>&1 || fail "python -m venv .venv"
fi

# uv's pin, read from uv.lock: one source of truth for its version and hashes.
UV_PIN=.venv/uv-requirement.txt
.venv/bin/python - uv.lock >"$UV_PIN" <<'EOF' || fail "reading uv's pin from uv.lock"
import sys, tomllib
lock = tomllib.load(open(sys.argv[1], "rb"))
uv = next(p for p in lock["package"] if p["name"] == "uv")
files = [*uv.get("wheels", []), *([uv["sdist"]] if "sdist" in uv else [])]
print(f"uv=={uv['version']} " + " ".join(f"--hash={f['hash']}" for f in files))
EOF
UV_VERSION=$(sed 's/^uv==\([^ ]*\).*/\1/' "$UV_PIN")
if [ "$(.venv/bin/uv --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    step "installing uv $UV_VERSION from PyPI (version and hashes from uv.lock)"
    .venv/bin/python -m pip install --require-hashes --no-deps -r "$UV_PIN" >>"$LOG" 2>&1 ||
        fail "pip install uv==$UV_VERSION"
fi

if [ "${1:-}" = lock ]; then
    step "refreshing uv.lock within pyproject.toml's ranges (uv lock --upgrade)"
    .venv/bin/uv lock --upgrade >>"$LOG" 2>&1 || fail "uv lock"
fi

step "installing the locked dependencies into .venv (uv sync --locked)"
.venv/bin/uv sync --locked --extra dev --python .venv/bin/python >>"$LOG" 2>&1 ||
    fail "uv sync --locked: if pyproject.toml changed, run 'make lock' and commit uv.lock"
step "ready: $(.venv/bin/python --version), $(.venv/bin/python -m pip freeze 2>/dev/null | wc -l) packages (log: $LOG)"
