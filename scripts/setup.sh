#!/usr/bin/env bash
# Bootstraps everything `make test` and `make demo` need on a fresh machine:
# the Debian tools the integration tests drive for real, then the project's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests and the demo use (command → package).
declare -A SYSTEM_DEPS=(
    [git]=git
    [redis-server]=redis-server
    [ip]=iproute2
    [chromium]=chromium
    [firefox-esr]=firefox-esr
    [strace]=strace
    [promtool]=prometheus
    [curl]=curl
    [systemd-analyze]=systemd
)

missing=()
for cmd in "${!SYSTEM_DEPS[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${SYSTEM_DEPS[$cmd]}")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" = 0 ]; then
        echo "setup: installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    elif [ "${CI:-}" = true ]; then
        echo "setup: CI needs ${missing[*]} but is not root; cannot install" >&2
        exit 1
    else
        echo "setup: warning: missing ${missing[*]} (install them with apt-get); tests that need them will skip" >&2
    fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
echo "setup: installing ifmesh and its dev tools into .venv"
.venv/bin/python -m pip install --quiet -e '.[dev]'
