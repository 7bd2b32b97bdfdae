#!/usr/bin/env bash
# Runs every test: unit and testscript tests, FUSE mount tests (each in a
# private mount namespace), NixOS module evaluation against nixpkgs lib,
# and the systemd 257 container suite. Needs root on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

# nixpkgs lib is pinned in shared/, beside the repository.
export NIXPKGS_LIB="${NIXPKGS_LIB:-$(cd .. && pwd)/shared/nixpkgs-lib}"
[ -d "$NIXPKGS_LIB/lib" ] || { echo "test: nixpkgs lib not found at $NIXPKGS_LIB (set NIXPKGS_LIB)" >&2; exit 1; }

go vet ./...
go vet -tags e2e ./e2e/
# The container suite runs alone, after the rest, so that nothing else
# competes with its boots for the two cores.
go test -count=1 -timeout 20m $(go list ./... | grep -v /e2e)
figures=$(mktemp)
trap 'rm -f "$figures"' EXIT
ARCHIL_E2E_FIGURES=$figures go test -tags e2e -count=1 -timeout 20m ./e2e/
echo "systemd 257 container suite, figures:"
cat "$figures"
