package launcher

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

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

// detachArchil lazily detaches every mount on top of mp that ours accepts
// and stops at the first it does not, which it leaves alone. It returns how
// many it detached.
func detachArchil(mp string, ours func(*mountinfo.Entry) bool, log hclog.Logger) (int, error) {
	n := 0
	for ; n < maxStack; n++ {
		top, err := mountinfo.CurrentTop(mp)
		if err != nil {
			return n, err
		}
		if !ours(top) {
			return n, nil
		}
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil {
			return n, fmt.Errorf("failed to detach the archil mount at %s: %w", mp, err)
		}
		log.Info("detached archil mount", "mount_point", mp, "mount_id", top.ID)
	}
	return n, fmt.Errorf("failed to clear %s: more than %d archil mounts stacked", mp, maxStack)
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

// unmountArchil removes the mount on top of mp, if ours accepts it, the
// hard way: umount(2), and a lazy detach if that fails (busy). It never
// touches another mount. It reports whether a mount was there.
func unmountArchil(mp string, ours func(*mountinfo.Entry) bool, log hclog.Logger) (bool, error) {
	top, err := mountinfo.CurrentTop(mp)
	if err != nil || !ours(top) {
		return false, err
	}
	if err := unix.Unmount(mp, 0); err != nil {
		log.Warn("umount failed, detaching lazily", "mount_point", mp, "error", err)
	} else {
		log.Info("unmounted with umount(2)", "mount_point", mp)
	}
	_, err = detachArchil(mp, ours, log)
	return true, err
}

// abortConnection fails every request pending on the FUSE connection of
// the archil mount with device dev (major:minor) at mp. It is the only way
// to free a thread stuck waiting on a server that is gone, be it one of
// the dead client's own (which keeps it from ever being reaped) or a
// program using the mount. It uses fusectl when that is mounted, else a
// forced umount of mp, which for FUSE aborts the connection first.
func abortConnection(mp, dev string, log hclog.Logger) {
	if _, minor, ok := strings.Cut(dev, ":"); ok {
		if err := os.WriteFile("/sys/fs/fuse/connections/"+minor+"/abort", []byte("1"), 0); err == nil {
			log.Warn("aborted the FUSE connection", "mount_point", mp, "connection", minor)
			return
		}
	}
	top, err := mountinfo.CurrentTop(mp)
	if err != nil || !isArchil(top) || (dev != "" && top.Dev != dev) {
		return
	}
	err = unix.Unmount(mp, unix.MNT_FORCE)
	log.Warn("aborted the FUSE connection with a forced unmount", "mount_point", mp, "unmounted", err == nil)
}

// archilUnmount runs `<archil> unmount <mp>`, which waits until pending
// writes reach the backing store, bounded by timeout; on timeout its whole
// process group is killed. The client gets the allow-listed environment
// without the token: unmount talks to the local mount, not the service.
func archilUnmount(cfg *config.Config, timeout time.Duration, log hclog.Logger) error {
	env := childEnv(os.Environ(), cfg.AuthMethod, cfg.PassEnv, "")
	p, err := startProc(cfg.Archil, unmountArgs(cfg), env)
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
