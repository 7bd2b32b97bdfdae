// Package launcher runs one Archil mount as a systemd Type=notify service.
//
// The lifecycle, in order:
//
//   - config: LoadConfig reads and validates the mount's JSON file;
//   - preflight: Preflight makes the mount point ready, detaching a stale
//     archil mount and refusing anything it does not own;
//   - credential: broker.Resolve finds the token (or probes IAM);
//   - child: Start execs `archil mount ... --no-fork` with an allow-listed
//     environment, the token in ARCHIL_MOUNT_TOKEN and never on a command
//     line;
//   - readiness: WaitReady waits for fuse.archil in mountinfo and a statfs
//     that answers, then Run sends READY=1; Supervise watches the child and
//     the mount, and pings the watchdog;
//   - stop: Stop runs `archil unmount` (which flushes pending writes), falls
//     back to umount and a lazy detach, and reaps the child.
//
// Run strings these together; sd_notify is sent from Run only.
package launcher
