package launcher

import (
	"fmt"
	"strings"
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

// status is a STATUS= line for text. systemd splits a notification into
// lines with C-style unescaping (strv_split_newlines): a backslash must be
// doubled, or a mount point ending in one makes systemd drop the whole
// message, READY=1 with it; a newline would start another assignment.
func status(text string) string {
	return "STATUS=" + strings.NewReplacer(`\`, `\\`, "\n", " ").Replace(text)
}

// startMargin is what the unit's start timeout allows beyond the
// launcher's own bounds (TimeoutStartSec = readyTimeoutSec + 30 s).
const startMargin = 30 * time.Second

// extendTimeout asks systemd to give the start d more from now
// (EXTEND_TIMEOUT_USEC, systemd 236).
func extendTimeout(d time.Duration) string {
	return fmt.Sprintf("EXTEND_TIMEOUT_USEC=%d", d.Microseconds())
}

// notifyReady tells systemd the mount is usable. The readiness statfs just
// answered, which is also what a watchdog ping vouches for, so it pings
// too when the watchdog is on.
func notifyReady(statusText string, watchdog bool) error {
	state := "READY=1\n" + status(statusText)
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
