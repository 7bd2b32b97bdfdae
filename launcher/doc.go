// Package launcher runs one Archil mount as a systemd Type=notify service:
// the mount lifecycle. The config it runs comes from launcher/config; the
// --check diagnostics (launcher/check) use InspectMountPoint and nothing
// else of it.
//
// The lifecycle, in order:
//
//   - credential: broker.Resolve finds the token (or probes IAM);
//   - preflight: Preflight makes the mount point ready, detaching a stale
//     archil mount and refusing anything it does not own;
//   - child: Start execs `archil mount ... --no-fork` with an allow-listed
//     environment, the token in ARCHIL_MOUNT_TOKEN and never on a command
//     line;
//   - readiness: WaitReady waits for fuse.archil in mountinfo and a statfs
//     that answers, then Run sends READY=1;
//   - supervision: Supervise watches the child and the mount, and pings
//     the watchdog;
//   - stop: Stop runs `archil unmount` (which flushes pending writes), falls
//     back to umount and a lazy detach, and reaps the child.
//
// Run strings these together; sd_notify is sent from Run only.
package launcher
