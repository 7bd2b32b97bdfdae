package launcher

import (
	"fmt"

	"github.com/archil-nix/archil-launch/internal/mountinfo"
)

// Stop ends the mount on request: `archil unmount` (it flushes pending
// writes) bounded by cfg.StopTimeout, then umount and a lazy detach if the
// mount is still there, then the client is reaped (SIGTERM, SIGKILL after a
// grace period). Only a fuse.archil mount at the mount point is ever
// unmounted. It returns nil when `archil unmount` did the job, and an
// *ExitError (1) when a fallback was needed: pending writes may be lost.
func (m *Mount) Stop() error {
	m.finish.Do(func() { m.stopErr = m.stop(); m.finished.Store(true) })
	return m.stopErr
}

// Abort ends the mount after a failure: the client is reaped (SIGTERM,
// SIGKILL after a grace period) and what is left of its mount detached.
// It returns reason as an *ExitError with the client's exit status (1 when
// that was 0 or a signal), its last stderr lines included.
func (m *Mount) Abort(reason error) error {
	m.finish.Do(func() { m.stopErr = m.abort(); m.finished.Store(true) })
	err := fmt.Errorf("%w (archil %s)", reason, m.child.describe())
	if m.stopErr != nil {
		err = fmt.Errorf("%w; %w", err, m.stopErr)
	}
	return exitErr(m.child.exitCode(), err)
}

func (m *Mount) stop() error {
	defer m.watch.close()
	mp := m.cfg.MountPoint
	var fallback error
	top, err := mountinfo.CurrentTop(mp)
	switch {
	case err != nil:
		fallback = err
	case top == nil && m.ident == nil:
		// Cancelled before the client mounted anything: nothing to flush.
		m.log.Info("nothing mounted yet", "mount_point", mp)
	case top == nil:
		fallback = fmt.Errorf("the archil mount at %s was already gone; archil unmount not run", mp)
	case !m.ownsEntry(top):
		// Another mount covers ours: `archil unmount <path>` would reach
		// that one, which is not ours to touch.
		fallback = fmt.Errorf("a %s mount covers the archil mount at %s; archil unmount not run", top.FSType, mp)
	default:
		if err := archilUnmount(m.cfg, m.cfg.StopTimeout, m.log); err != nil {
			fallback = err
		} else {
			m.log.Info("archil unmount finished", "mount_point", mp)
			// Still there after the grace: the fallback below says so.
			if _, err := awaitGone(mp, leaveGrace); err != nil {
				fallback = err
			}
		}
	}
	if fallback != nil {
		m.log.Error("archil unmount failed; falling back to umount, pending writes may be lost", "error", fallback)
	}
	// A plain umount(2) would have to go by path: through a descriptor
	// the mount is always busy (the descriptor itself holds it), so the
	// fallback is the lazy detach, by descriptor.
	if n, err := detachArchil(mp, m.ownsPinned, m.log); err != nil {
		fallback = joinErr(fallback, err)
	} else if n > 0 && fallback == nil {
		fallback = fmt.Errorf("archil unmount returned but the mount at %s was still there", mp)
		m.log.Error("mount still there after archil unmount; unmounted it, pending writes may be lost", "mount_point", mp)
	}
	m.reapChild()
	// A client killed just now can leave a dead mount behind.
	if err := m.detachLeft(); err != nil {
		fallback = joinErr(fallback, err)
	}
	if fallback != nil {
		return exitErr(1, fmt.Errorf("failed to unmount %s cleanly: %w", mp, fallback))
	}
	return nil
}

// joinErr joins two errors on one line (errors.Join puts a newline
// between them, which splits a journal record).
func joinErr(a, b error) error {
	if a == nil {
		return b
	}
	return fmt.Errorf("%w; %w", a, b)
}

func (m *Mount) abort() error {
	defer m.watch.close()
	if m.child.exited() {
		// The server is gone: nothing will answer on its mount again.
		m.abortOwn()
	}
	m.reapChild()
	return m.detachLeft()
}

// ownsEntry reports whether e is the client's mount: the one WaitReady
// saw, or before that any archil mount (preflight left none at the mount
// point).
func (m *Mount) ownsEntry(e *mountinfo.Entry) bool {
	return isArchil(e) && (m.ident == nil || e.ID == m.ident.id && e.Dev == m.ident.dev)
}

// ownsPinned is ownsEntry for a pinned mount, its unique id included.
func (m *Mount) ownsPinned(p *pinned) bool {
	return isArchil(&p.entry) && (m.ident == nil || m.ident.is(p))
}

// abortOwn aborts the FUSE connection of the client's mount: pinned when it
// is on top, else (covered) while mountinfo still lists it.
func (m *Mount) abortOwn() {
	mp := m.cfg.MountPoint
	p, err := pinTop(mp)
	if err == nil && p != nil {
		defer p.close()
		if m.ownsPinned(p) {
			p.abort(m.log)
			return
		}
	}
	if m.ident != nil {
		abortCovered(mp, m.ident, m.log)
	}
}

// detachLeft detaches what is left of the client's mount on top of the
// mount point once the client is gone. Under a mount someone made over it,
// it stays: the other mount sits on its root, and detaching ours would
// take that one too (even through a descriptor of our root: the kernel
// takes the mounts on it along). The next start's preflight clears it
// once the other mount is gone.
func (m *Mount) detachLeft() error {
	_, err := detachArchil(m.cfg.MountPoint, m.ownsPinned, m.log)
	return err
}

// reapChild ends the client and logs how it went. A client stuck in the
// kernel on its own mount is freed by aborting the connection.
func (m *Mount) reapChild() {
	if m.child.terminate(killGrace) {
		m.log.Warn("archil did not exit on SIGTERM; killed it", "pid", m.child.Pid())
	}
	if !m.child.reaped {
		m.abortOwn()
		if m.child.waitGone(killGrace) {
			m.child.reap()
		}
	}
	if !m.child.reaped {
		m.log.Error("archil is stuck and could not be reaped", "pid", m.child.Pid())
		return
	}
	m.log.Info("archil exited", "pid", m.child.Pid(), "status", m.child.cmd.ProcessState.String())
}
