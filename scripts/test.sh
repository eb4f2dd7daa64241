#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: installs the real peers the integration
# tests need (Debian packages, needs root), builds, and runs `dotnet test Aggregators.sln`.
# Prints one summary line "Tests: N passed, N failed, N skipped" at the end.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-test-deps.sh || { echo "test.sh: installing test peers failed" >&2; exit 1; }
else
  # Not root: install only if something is missing (the script says what), else carry on.
  bash scripts/install-test-deps.sh || { echo "test.sh: run as root (sudo scripts/test.sh) so the test peers can be installed" >&2; exit 1; }
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
dotnet test Aggregators.sln -c Release --nologo "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# Sum the per-assembly result lines ("Passed!  - Failed: 0, Passed: 12, Skipped: 0, ...").
summary=$(grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\1 \2 \3/' |
  awk '{f+=$1; p+=$2; s+=$3; n++} END {printf "%d passed, %d failed, %d skipped", p, f, s}')
assemblies=$(grep -cE '^(Passed|Failed)!' "$log" || true)
echo "Test assemblies run: ${assemblies}"
echo "Tests: ${summary}"
if [ "$rc" -eq 0 ] && [ "${assemblies}" -eq 0 ]; then
  echo "test.sh: no test assembly ran" >&2
  exit 1
fi
exit "$rc"
