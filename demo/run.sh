#!/usr/bin/env bash
# Demo of archil-launch: mount a disk (the archil-fake test double, a real
# FUSE mount), write through it, stop with SIGTERM, and find the data in
# the backing store. Run as root (no sudo needed) from the repository root:
#
#     ./demo/run.sh
#
# Everything happens in a private mount namespace under a temp directory;
# nothing is mounted on the host.
set -euo pipefail

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

if [ "${1:-}" != "--inner" ]; then
	[ "$(id -u)" = 0 ] || die "run as root (mounting needs CAP_SYS_ADMIN and /dev/fuse)"
	[ -f go.mod ] && [ -d cmd/archil-launch ] || die "run from the repository root"
	export PATH="/usr/local/go/bin:$PATH"
	command -v go >/dev/null || die "go is not installed"
	if [ ! -e /dev/fuse ]; then
		modprobe fuse 2>/dev/null || true
	fi
	if [ ! -e /dev/fuse ] && command -v apt-get >/dev/null; then
		step "installing fuse3"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q fuse3 >/dev/null
		modprobe fuse 2>/dev/null || true
	fi
	[ -e /dev/fuse ] || die "/dev/fuse is missing"

	work=$(mktemp -d /tmp/archil-demo.XXXXXX)
	# The namespace (and every mount in it) is gone before this runs.
	trap 'rm -rf "$work"' EXIT
	step "building archil-launch, archil-fake and a notify listener into $work/bin"
	go build -o "$work/bin/archil-launch" ./cmd/archil-launch
	go build -o "$work/bin/archil" ./cmd/archil-fake
	go build -o "$work/bin/notifyd" ./demo/notifyd
	unshare --mount --propagation private bash "$0" --inner "$work"
	exit
fi

work=$2
bin=$work/bin
# The launcher takes a lock per mount point under /run/archil-launch: here
# in a /run of the demo's own, so that nothing is left on the host.
mount -t tmpfs -o mode=0755 tmpfs /run
mnt=$work/mnt/data
export ARCHIL_FAKE_STATE=$work/fake-state
token="demo-token-$RANDOM$RANDOM"

step "credential: a token file in a systemd-style credentials directory"
mkdir -p "$work/credentials" "$ARCHIL_FAKE_STATE"
printf '%s\n' "$token" > "$work/credentials/archil-token"
chmod 0400 "$work/credentials/archil-token"
printf '%s' "$token" > "$ARCHIL_FAKE_STATE/expect-token" # what the fake accepts
# Writes reach the fake's backing store only after an hour, or when
# `archil unmount` flushes them: the stop below must do the latter.
mkdir -p "$ARCHIL_FAKE_STATE/knobs"
echo 3600 > "$ARCHIL_FAKE_STATE/knobs/flush-delay"
ls -l "$work/credentials"

step "config (no secret in it)"
cat > "$work/mount.json" <<JSON
{
  "name": "demo",
  "diskName": "acme/demo-disk",
  "mountPoint": "$mnt",
  "region": "aws-us-east-1",
  "authMethod": "token",
  "archil": "$bin/archil",
  "passEnv": ["ARCHIL_FAKE_STATE"],
  "stopTimeoutSec": 10
}
JSON
cat "$work/mount.json"

step "starting archil-launch (as systemd would: NOTIFY_SOCKET, CREDENTIALS_DIRECTORY)"
"$bin/notifyd" -socket "$work/notify.sock" -ready-file "$work/ready" &
notifyd=$!
while [ ! -S "$work/notify.sock" ]; do sleep 0.05; done
NOTIFY_SOCKET=$work/notify.sock CREDENTIALS_DIRECTORY=$work/credentials \
	"$bin/archil-launch" --config "$work/mount.json" &
launcher=$!

for _ in $(seq 200); do
	[ -e "$work/ready" ] && break
	kill -0 "$launcher" 2>/dev/null || die "archil-launch exited before READY=1"
	sleep 0.05
done
[ -e "$work/ready" ] || die "no READY=1 within 10 s"

step "READY=1 received: the mount answers"
grep " $mnt " /proc/self/mountinfo | sed 's/^/    /'
child=$(pgrep -P "$launcher" || true)
if grep -qF "$token" "/proc/$launcher/cmdline" "/proc/$child/cmdline" 2>/dev/null; then
	die "the token is on a command line"
fi
echo "    the token is on no command line (launcher pid $launcher, client pid $child)"

echo "    lock held: $(ls /run/archil-launch)"

step "writing and reading a file through the mount"
echo "hello from $(hostname) at $(date -u +%T)" > "$mnt/hello.txt"
printf '    %s: ' "$mnt/hello.txt"; cat "$mnt/hello.txt"

step "SIGTERM to archil-launch (systemctl stop): archil unmount flushes, then exit"
kill -TERM "$launcher"
status=0
wait "$launcher" || status=$?
echo "    archil-launch exited with status $status"
kill "$notifyd" 2>/dev/null || true
wait "$notifyd" 2>/dev/null || true

step "after stop"
if grep -q " $mnt " /proc/self/mountinfo; then die "still mounted"; fi
echo "    $mnt is no longer mounted"
backing=$ARCHIL_FAKE_STATE/backing/acme_demo-disk/hello.txt
printf '    backing store %s: ' "$backing"; cat "$backing"
[ "$status" = 0 ] || die "archil-launch did not stop cleanly"
step "done"
