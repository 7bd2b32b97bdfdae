package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/bounded"
	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/archil-nix/archil-launch/internal/safepath"
	"github.com/archil-nix/archil-launch/internal/smallfile"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// probeTimeout bounds the statfs that tells a live archil mount from a dead
// one; a mount that does not answer within it is treated as live but hung.
const probeTimeout = 5 * time.Second

// Preflight makes cfg.MountPoint ready for a new mount; the caller holds
// the mount point's lock. It walks to the mount point by descriptor and
// refuses a path a user other than root could redirect (package safepath),
// creates the directory (0755, parents too) when missing, and clears an
// archil mount left there by a launcher that died: a dead one is detached,
// a live one is first flushed with `archil unmount`. Anything else there is
// refused and left exactly as it was: another filesystem's mount, a
// non-empty directory, a non-directory. beforeFlush, when not nil, is
// called before such a flush: it can take up to cfg.StopTimeout. Every
// look at the filesystem is bounded: a hung FUSE mount on the way fails the
// preflight, it does not hang it.
func Preflight(cfg *config.Config, log *logline.Logger, beforeFlush func()) error {
	mp := cfg.MountPoint
	l, err := lookAt(mp, probeTimeout)
	if err != nil {
		return err
	}
	// A call that timed out may still use the chain's descriptor: it is
	// left to that call then (the launcher exits on the error anyway).
	abandoned := false
	defer func() {
		if !abandoned {
			l.chain.Close()
		}
	}()
	for i := 0; l.top != nil; i++ {
		if !isArchil(l.top) {
			return fmt.Errorf("mount point %s already has a %s mount on it; refusing to mount over it", mp, l.top.FSType)
		}
		if i == maxStack {
			return fmt.Errorf("failed to clear %s: more than %d archil mounts stacked", mp, maxStack)
		}
		if _, err := clearStale(cfg, l.top, log, beforeFlush); err != nil {
			return err
		}
		if l.top, err = mountinfo.CurrentTop(mp); err != nil {
			return err
		}
		if l.top == nil {
			if l.state, err = targetState(l.chain); err != nil {
				abandoned = errors.Is(err, bounded.ErrTimeout)
				return err
			}
		}
	}
	switch l.state {
	case targetMissing:
		made, err := bounded.Do(probeTimeout, l.chain.Create, nil)
		if err != nil {
			abandoned = errors.Is(err, bounded.ErrTimeout)
			return fmt.Errorf("failed to create mount point %s: %w", mp, err)
		}
		log.Info("created mount point", "mount_point", mp, "created", strings.Join(made, " "))
	case targetEmpty:
		log.Info("mount point ready", "mount_point", mp)
	default:
		return fmt.Errorf("mount point %s %s; refusing to mount there", mp, l.state)
	}
	return nil
}

// look is what lookAt found at a mount point.
type look struct {
	chain *safepath.Chain  // the walk to it, its parent held
	top   *mountinfo.Entry // the mount on top of it, nil for none
	state string           // with none, what is there (targetStateNow)
}

// lookAt walks to mp by descriptor, reads the mount on top of it and, when
// there is none, what is there: one bounded call, as what preflight does
// before every start (a goroutine and a timer each are start-up time).
func lookAt(mp string, d time.Duration) (*look, error) {
	l, err := bounded.Do(d, func() (*look, error) {
		c, err := safepath.Walk(mp)
		if err != nil {
			return nil, err
		}
		l := &look{chain: c}
		if l.top, err = mountinfo.CurrentTop(mp); err == nil && l.top == nil {
			l.state, err = targetStateNow(c)
		}
		if err != nil {
			c.Close()
			return nil, err
		}
		return l, nil
	}, func(l *look) { l.chain.Close() })
	if err != nil {
		return nil, fmt.Errorf("failed to check the path to mount point %s: %w", mp, err)
	}
	return l, nil
}

// What is at a mount point, once no mount is on it.
const (
	targetMissing = "is missing"
	targetEmpty   = "is an empty directory"
	targetFull    = "is not empty (its files would be hidden under the mount)"
	targetSymlink = "is a symlink"
)

// targetState says what the chain's target is, through its held parent:
// one of the states above, or "is not a directory (it is ...)". Bounded.
func targetState(c *safepath.Chain) (string, error) {
	state, err := bounded.Do(probeTimeout, func() (string, error) { return targetStateNow(c) }, nil)
	if err != nil {
		return "", fmt.Errorf("failed to inspect mount point %s: %w", c.Target(), err)
	}
	return state, nil
}

func targetStateNow(c *safepath.Chain) (string, error) {
	st, err := c.StatTarget()
	switch {
	case errors.Is(err, unix.ENOENT):
		return targetMissing, nil
	case err != nil:
		return "", err
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return targetSymlink, nil
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return "is not a directory (it is " + smallfile.StatKind(st.Mode) + ")", nil
	}
	// O_NONBLOCK and O_DIRECTORY: a FIFO swapped in meanwhile fails the
	// open at once instead of blocking it.
	fd, err := c.OpenTarget(unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	f := os.NewFile(uintptr(fd), c.Target())
	defer f.Close()
	_, err = f.Readdirnames(1)
	switch {
	case errors.Is(err, io.EOF):
		return targetEmpty, nil
	case err != nil:
		return "", err
	}
	return targetFull, nil
}

// clearStale removes the archil mount top from cfg.MountPoint, acting on it
// only through a descriptor of its root while that is still top's. It
// reports whether `archil unmount` flushed it (false for a dead mount,
// which has nothing left to flush, and when a fallback was needed).
func clearStale(cfg *config.Config, top *mountinfo.Entry, log *logline.Logger, beforeFlush func()) (flushed bool, err error) {
	mp := cfg.MountPoint
	isTop := func(p *pinned) bool { return isArchil(&p.entry) && p.entry.ID == top.ID && p.entry.Dev == top.Dev }
	err = statfsWithin(context.Background(), mp, probeTimeout)
	if errors.Is(err, unix.ENOTCONN) || errors.Is(err, unix.ECONNABORTED) {
		// The client died; nothing can be flushed any more.
		log.Warn("detaching dead archil mount (its client is gone)", "mount_point", mp, "mount_id", top.ID)
		if _, err := detachArchil(mp, isTop, log); err != nil {
			return false, fmt.Errorf("failed to detach the dead archil mount at %s: %w", mp, err)
		}
		return false, nil
	}
	// A launcher was killed and left its client running (or hung: the
	// statfs did not answer): flush it the safe way first.
	hung := errors.Is(err, errStatfsTimeout)
	log.Warn("found a live archil mount left by a launcher that is gone; unmounting it with archil unmount", "mount_point", mp, "mount_id", top.ID)
	if beforeFlush != nil {
		beforeFlush()
	}
	if err := archilUnmount(cfg, cfg.StopTimeout, log); err != nil {
		log.Warn("archil unmount of the leftover mount failed; detaching it, pending writes may be lost", "error", err)
	} else if gone, err := awaitGone(mp, leaveGrace); err != nil {
		return false, err
	} else if gone {
		log.Info("archil unmount flushed the leftover mount", "mount_point", mp)
		return true, nil
	}
	p, err := pinTop(mp)
	if err != nil {
		return false, err
	}
	if p == nil || !isTop(p) {
		p.close()
		return false, nil
	}
	if hung {
		// Nothing answers on it: fail what is stuck there, so that no
		// program hangs on the detached mount for good.
		p.abort(log)
	}
	err = p.detach()
	p.close()
	if err != nil {
		return false, fmt.Errorf("failed to detach the leftover archil mount at %s: %w", mp, err)
	}
	log.Info("detached leftover archil mount", "mount_point", mp, "mount_id", top.ID)
	return false, nil
}
