#!/usr/bin/env bash
# The Debian tools the tests drive for real (`make test` runs this before pytest; the demo needs
# none of them). As root it installs what is missing. As any other user it says once, up front,
# which test groups will skip and which package would enable them; with CI=true nothing may skip,
# so a missing tool is an error there.
set -euo pipefail
cd "$(dirname "$0")/.."

# command|Debian package|the tests that drive it
TOOLS=(
    "git|git|every git-sync, room and end-to-end test"
    "redis-server|redis-server|signaling scale-out over Redis (tests/integration/signaling)"
    "ip|iproute2|browser captures in a network namespace (tests/integration/sdp)"
    "chromium|chromium|Chromium SDP capture and interop (tests/integration/sdp)"
    "firefox-esr|firefox-esr|Firefox SDP capture (tests/integration/sdp)"
    "strace|strace|the no-outside-contact check of a browser capture (tests/integration/sdp)"
    "promtool|prometheus|alert rules and dashboards (tests/docs/test_static.py, test_deploy.py)"
    "systemd-analyze|systemd|the runbook's systemd units (tests/docs/test_deploy.py)"
    "curl|curl|runbook procedures that call the HTTP endpoints (tests/docs)"
    "turnserver|coturn|TURN relay tests and the degraded-link benchmark (tests/integration/faults)"
)

missing_packages=()
missing_lines=()
for entry in "${TOOLS[@]}"; do
    IFS='|' read -r command package group <<<"$entry"
    if ! command -v "$command" >/dev/null 2>&1; then
        missing_packages+=("$package")
        missing_lines+=("  skips: $group — apt-get install $package")
    fi
done
((${#missing_packages[@]})) || exit 0

if [ "$(id -u)" = 0 ]; then
    echo "test tools: installing ${missing_packages[*]} from Debian (log: .setup.log)"
    {
        apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                "${missing_packages[@]}"
    } >>.setup.log 2>&1 || {
        echo "test tools: FAILED: apt-get install ${missing_packages[*]} (see .setup.log)" >&2
        exit 1
    }
elif [ "${CI:-}" = true ]; then
    echo "test tools: CI=true needs ${missing_packages[*]}, and only root can install them" >&2
    exit 1
else
    echo "test tools: not root, so these test groups skip (install the package to enable them):"
    printf '%s\n' "${missing_lines[@]}"
fi
