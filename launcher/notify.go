package launcher

import (
	"fmt"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// This file is the launcher's only line to systemd. Run calls it; nothing
// below Run does, so an unmount elsewhere can never send STOPPING=1
// (rclone #7540).

// notify sends state on $NOTIFY_SOCKET. Not running under systemd (no
// socket) is fine and returns nil; a socket that is set but refuses the
// message is an error.
func notify(state string) error {
	if _, err := daemon.SdNotify(false, state); err != nil {
		return fmt.Errorf("failed to notify systemd: %w", err)
	}
	return nil
}

// notifyReady tells systemd the mount is usable. The readiness statfs just
// answered, which is also what a watchdog ping vouches for, so it pings
// too when the watchdog is on.
func notifyReady(status string, watchdog bool) error {
	state := "READY=1\nSTATUS=" + status
	if watchdog {
		state += "\nWATCHDOG=1"
	}
	return notify(state)
}

// watchdogInterval is WATCHDOG_USEC when WATCHDOG_PID names this process,
// else 0.
func watchdogInterval() (time.Duration, error) {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0, fmt.Errorf("failed to read the watchdog settings: %w", err)
	}
	return d, nil
}
