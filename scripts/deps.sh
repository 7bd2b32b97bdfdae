#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian machine (as
# root): FUSE, systemd-creds, Nix (for module evaluation), debootstrap and
# systemd-nspawn (for the systemd 257 container), a C compiler (for the
# start-up benchmark's stamp client) and the EC2 metadata mock.
# Sourced by scripts/test.sh and demo/run.sh; safe to run twice.
set -euo pipefail

export PATH="/usr/local/go/bin:$PATH"
export PATH="$(go env GOPATH)/bin:$PATH"

need_pkgs=()
for pair in fusermount3:fuse3 systemd-creds:systemd nix-instantiate:nix-bin \
	debootstrap:debootstrap systemd-nspawn:systemd-container gcc:gcc \
	unshare:util-linux; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need_pkgs+=("${pair#*:}")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
	echo "deps: installing ${need_pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if ! command -v ec2-metadata-mock >/dev/null 2>&1; then
	echo "deps: installing ec2-metadata-mock"
	CGO_ENABLED=0 go install github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock@v1.13.0
fi

[ -e /dev/fuse ] || modprobe fuse 2>/dev/null || true
if [ ! -e /dev/fuse ]; then
	echo "deps: /dev/fuse is missing and could not be loaded; mount tests cannot run" >&2
	exit 1
fi
