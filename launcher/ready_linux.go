package launcher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// WaitReady waits until the client's mount is usable: fuse.archil on top of
// the mount point in mountinfo, made read-only when cfg.ReadOnly, and a
// statfs through it that returns. It wakes on mount-table changes, the
// client's exit and ctx, never on a timer, and gives up after
// cfg.ReadyTimeout. A done ctx returns ctx.Err(); the client exiting first
// returns an error with its status and last stderr lines.
func (m *Mount) WaitReady(ctx context.Context) error {
	mp := m.cfg.MountPoint
	deadline := time.Now().Add(m.cfg.ReadyTimeout)
	seen := false
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		top, err := m.watch.top(mp)
		if err != nil {
			return err
		}
		if isArchil(top) {
			if !seen {
				seen = true
				m.log.Info("mount visible", "mount_point", mp, "mount_id", top.ID)
				if m.cfg.ReadOnly {
					if err := setReadOnly(mp); err != nil {
						return err
					}
					m.log.Info("mount made read-only", "mount_point", mp)
				}
			}
			err := statfsWithin(ctx, mp, time.Until(deadline))
			switch {
			case err == nil:
				m.ident = readIdentity(mp, top)
				return nil
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.Is(err, errStatfsTimeout):
				return fmt.Errorf("mount at %s did not answer within %s: %w", mp, m.cfg.ReadyTimeout, err)
			case !m.child.exited():
				return fmt.Errorf("mount at %s does not answer: %w", mp, err)
			}
		}
		if m.child.exited() {
			return fmt.Errorf("archil exited before the mount was ready")
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("mount at %s did not appear within %s", mp, m.cfg.ReadyTimeout)
		}
		if _, err := m.watch.wait(left); err != nil {
			return err
		}
	}
}

// setReadOnly sets the per-mount read-only flag on the mount at mp, so a
// client that ignores --read-only (or predates it) serves no writes either.
// mount_setattr changes that one flag; older kernels get a bind remount that
// keeps the other per-mount flags.
func setReadOnly(mp string) error {
	err := unix.MountSetattr(unix.AT_FDCWD, mp, 0, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("failed to make the mount at %s read-only: %w", mp, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(mp, &st); err != nil {
		return fmt.Errorf("failed to read the mount flags of %s: %w", mp, err)
	}
	// ST_* and MS_* share values for these per-mount flags.
	keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
		unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	flags := unix.MS_REMOUNT | unix.MS_BIND | unix.MS_RDONLY | keep
	if err := unix.Mount("", mp, "", flags, ""); err != nil {
		return fmt.Errorf("failed to make the mount at %s read-only: %w", mp, err)
	}
	return nil
}
