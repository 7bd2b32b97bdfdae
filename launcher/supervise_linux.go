package launcher

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"golang.org/x/sys/unix"
)

// stuckCheck is how often Supervise looks for a client that is dying but
// stuck on its own mount: no event reports that (see proc), and it would
// otherwise go unnoticed for good. It is the launcher's only timer when
// the watchdog is off; each check costs a few context switches, so it is
// rare (the case is rare too).
var stuckCheck = 30 * time.Second

// Supervise watches a ready mount until ctx is done (it returns nil: the
// caller stops the mount) or something fails: the client exits, or its
// mount leaves the mount point while it runs (the caller aborts). A mount
// of someone else's made over ours is logged, not a failure: ours is still
// there and in use (open files, working directories), and killing the
// client would lose its pending writes. With a watchdog interval it calls
// ping every half interval, but only while a statfs of the mount answers
// within that half.
func (m *Mount) Supervise(ctx context.Context, watchdog time.Duration, ping func()) error {
	mp := m.cfg.MountPoint
	var wd *watchdogProbe
	if watchdog > 0 {
		wd = &watchdogProbe{mp: mp, half: watchdog / 2, next: time.Now().Add(watchdog / 2)}
		m.log.Info("watchdog on", "interval", watchdog)
	}
	nextStuck := time.Now().Add(stuckCheck)
	covered := false
	for {
		next := nextStuck
		if wd != nil && wd.next.Before(next) {
			next = wd.next
		}
		ev, err := m.watch.wait(max(time.Until(next), 0))
		if err != nil {
			return err
		}
		if !time.Now().Before(nextStuck) {
			nextStuck = time.Now().Add(stuckCheck)
			ev.exited = ev.exited || m.child.leaderDead()
		}
		switch {
		case ev.cancelled || ctx.Err() != nil:
			return nil
		case ev.exited:
			return fmt.Errorf("archil exited while mounted")
		case ev.mounts:
			stack, err := m.watch.stack(mp)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(stack, func(e mountinfo.Entry) bool { return e.ID == m.ident.id && e.Dev == m.ident.dev })
			if i < 0 {
				return fmt.Errorf("mount at %s disappeared while archil was running", mp)
			}
			if now := i != len(stack)-1; now != covered {
				covered = now
				if covered {
					top := stack[len(stack)-1]
					m.log.Warn("another mount covers the archil mount; it stays mounted underneath", "mount_point", mp, "fstype", top.FSType, "source", top.Source)
				} else {
					m.log.Info("the archil mount is on top again", "mount_point", mp)
				}
			}
		}
		if wd != nil && !time.Now().Before(wd.next) {
			if err := wd.tick(); err != nil {
				m.log.Warn("withholding watchdog ping", "error", err)
			} else {
				ping()
			}
		}
	}
}

// watchdogProbe runs one statfs of the mount per half interval, at most one
// at a time: a ping at a tick vouches that the statfs started at the
// previous tick returned within the half interval in between.
type watchdogProbe struct {
	mp     string
	half   time.Duration
	next   time.Time
	result chan error // nil: no statfs in flight
}

// tick collects the last probe, starts the next, and says whether to ping.
// The first tick has no probe to collect: the readiness statfs, half an
// interval earlier, vouches for it.
func (w *watchdogProbe) tick() error {
	w.next = time.Now().Add(w.half)
	var err error
	if w.result != nil {
		select {
		case err = <-w.result:
			if err != nil {
				err = fmt.Errorf("failed to statfs %s: %w", w.mp, err)
			}
		default:
			// Still blocked: do not pile up another one behind it.
			return fmt.Errorf("statfs of %s has not returned for %s", w.mp, w.half)
		}
	}
	res := make(chan error, 1)
	w.result = res
	go func() {
		defer recoverStop()
		var st unix.Statfs_t
		res <- unix.Statfs(w.mp, &st)
	}()
	return err
}
