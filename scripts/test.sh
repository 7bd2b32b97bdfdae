#!/usr/bin/env bash
# Runs every test: unit and testscript tests, FUSE mount tests (each in a
# private mount namespace), NixOS module evaluation against nixpkgs lib,
# and the systemd 257 container suite. Needs root on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

# nixpkgs' lib and the NixOS modules the module is evaluated in, looked
# for as nixos/nixpkgs_test.go does: the variable, else the pinned copy in
# shared/ beside the repository, else the nixpkgs on NIX_PATH.
find_nixpkgs() { # variable, shared dir, marker file
	local dir=${!1:-} shared
	shared="$(cd .. && pwd)/shared/$2"
	if [ -z "$dir" ]; then
		if [ -f "$shared/$3" ]; then dir=$shared; else dir=$(nix-instantiate --find-file nixpkgs 2>/dev/null || true); fi
	fi
	[ -n "$dir" ] && [ -f "$dir/$3" ] || { echo "test: no $3 in \$$1 (${!1:-unset}), $shared or <nixpkgs> on NIX_PATH: set $1 to a nixpkgs tree" >&2; exit 1; }
	export "$1=$dir"
}
find_nixpkgs NIXPKGS_LIB nixpkgs-lib lib/default.nix
find_nixpkgs NIXOS_MODULES nixpkgs-nixos nixos/lib/eval-config-minimal.nix

go vet ./...
go vet -tags e2e ./e2e/
# The container suite runs alone, after the rest, so that nothing else
# competes with its boots for the two cores.
go test -count=1 -timeout 20m $(go list ./... | grep -v -e /e2e -e /nixos)
# The NixOS module tests, with their timings (the goldens' evaluation under
# NixOS, the whole package).
nixlog=$(mktemp)
start=$(date +%s%N)
go test -count=1 -v ./nixos/ >"$nixlog" 2>&1 || { cat "$nixlog"; rm -f "$nixlog"; exit 1; }
grep -E '^(nixos:|ok )' "$nixlog"
echo "nixos: module tests took $(( ($(date +%s%N) - start) / 1000000 )) ms"
rm -f "$nixlog"
figures=$(mktemp)
trap 'rm -f "$figures"' EXIT
ARCHIL_E2E_FIGURES=$figures go test -tags e2e -count=1 -timeout 20m ./e2e/
echo "systemd 257 container suite, figures:"
cat "$figures"
