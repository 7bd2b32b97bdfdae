package launcher

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// Bounds that are not configurable: how long a signalled client gets to
// exit before SIGKILL, and how many stacked archil mounts one cleanup
// removes before it gives up (there should never be more than one).
const (
	killGrace = 5 * time.Second
	maxStack  = 8
	// leaveGrace is how long the mount may stay after `archil unmount`
	// succeeded: a client may answer as soon as its writes are flushed,
	// a moment before the kernel drops the mount.
	leaveGrace = 2 * time.Second
)

// detachArchil lazily detaches every mount on top of mp that ours accepts,
// each through a descriptor of its root, and stops at the first it does
// not, which it leaves alone. It returns how many it detached.
func detachArchil(mp string, ours func(*pinned) bool, log *logline.Logger) (int, error) {
	for n := 0; n < maxStack; n++ {
		p, err := pinTop(mp)
		if err != nil || p == nil {
			return n, err
		}
		if !ours(p) {
			p.close()
			return n, nil
		}
		err = p.detach()
		p.close()
		if err != nil {
			return n, fmt.Errorf("failed to detach the archil mount at %s: %w", mp, err)
		}
		log.Info("detached archil mount", "mount_point", mp, "mount_id", p.entry.ID)
	}
	return maxStack, fmt.Errorf("failed to clear %s: more than %d archil mounts stacked", mp, maxStack)
}

// awaitGone waits up to d for the fuse.archil mount at mp to leave and
// reports whether it did; it wakes on mount table changes, not a timer.
func awaitGone(mp string, d time.Duration) (bool, error) {
	fd, err := unix.Open(mountinfo.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("failed to open mountinfo: %w", err)
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(d)
	for {
		// The fd was opened before this read: a change after it wakes
		// the poll below at once.
		top, err := mountinfo.CurrentTop(mp)
		if err != nil {
			return false, err
		}
		left := time.Until(deadline)
		if !isArchil(top) || left <= 0 {
			return !isArchil(top), nil
		}
		if err := pollFds([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}}, left); err != nil {
			return false, err
		}
	}
}

// archilUnmount runs `<archil> unmount <mp>`, which waits until pending
// writes reach the backing store, bounded by timeout; on timeout its whole
// process group is killed. The client gets the allow-listed environment
// without the token: unmount talks to the local mount, not the service.
func archilUnmount(cfg *config.Config, timeout time.Duration, log *logline.Logger) error {
	p, err := startProc(cfg.Archil, unmountArgs(cfg), ClientEnvWithoutToken(cfg))
	if err != nil {
		return err
	}
	log.Info("running archil unmount", "mount_point", cfg.MountPoint, "pid", p.Pid(), "timeout", timeout)
	ok, err := p.waitExit(timeout)
	if err != nil || !ok {
		p.signalGroup(unix.SIGKILL)
		if p.waitGone(killGrace) {
			p.reap()
		}
		return fmt.Errorf("archil unmount %s did not finish within %s", cfg.MountPoint, timeout)
	}
	if p.terminate(killGrace); !p.reaped {
		return fmt.Errorf("archil unmount %s exited but could not be reaped", cfg.MountPoint)
	}
	if st := p.cmd.ProcessState; !st.Success() {
		return fmt.Errorf("archil unmount %s failed: %s", cfg.MountPoint, p.describe())
	}
	return nil
}
