package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/archil-nix/archil-launch/internal/smallfile"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// probeTimeout bounds the statfs that tells a live archil mount from a dead
// one; a mount that does not answer within it is treated as live but hung.
const probeTimeout = 5 * time.Second

// Preflight makes cfg.MountPoint ready for a new mount. It creates the
// directory (0755, parents too) when missing, and clears an archil mount
// left there by a launcher that died: a dead one is detached, a live one
// is first flushed with `archil unmount`. Anything else there is refused
// and left exactly as it was: another filesystem's mount, a non-empty
// directory, a non-directory. beforeFlush, when not nil, is called before
// such a flush: it can take up to cfg.StopTimeout.
func Preflight(cfg *config.Config, log hclog.Logger, beforeFlush func()) error {
	mp := cfg.MountPoint
	if err := checkRealParent(mp); err != nil {
		return err
	}
	for i := 0; ; i++ {
		top, err := mountinfo.CurrentTop(mp)
		if err != nil {
			return err
		}
		if top == nil {
			break
		}
		if !isArchil(top) {
			return fmt.Errorf("mount point %s already has a %s mount on it; refusing to mount over it", mp, top.FSType)
		}
		if i == maxStack {
			return fmt.Errorf("failed to clear %s: more than %d archil mounts stacked", mp, maxStack)
		}
		if err := clearStale(cfg, top, log, beforeFlush); err != nil {
			return err
		}
	}

	fi, err := os.Lstat(mp)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return createMountPoint(mp, log)
	case err != nil:
		return fmt.Errorf("failed to inspect mount point %s: %w", mp, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("mount point %s is a symlink; refusing to mount there", mp)
	case !fi.IsDir():
		return fmt.Errorf("mount point %s is not a directory (it is %s); refusing to mount there", mp, smallfile.Kind(fi.Mode()))
	}
	empty, err := isEmptyDir(mp)
	if err != nil {
		return err
	}
	if !empty {
		return fmt.Errorf("mount point %s is not empty; refusing to hide its files under the mount", mp)
	}
	log.Info("mount point ready", "mount_point", mp)
	return nil
}

// clearStale removes the archil mount top from cfg.MountPoint.
func clearStale(cfg *config.Config, top *mountinfo.Entry, log hclog.Logger, beforeFlush func()) error {
	mp := cfg.MountPoint
	err := statfsWithin(context.Background(), mp, probeTimeout)
	if errors.Is(err, unix.ENOTCONN) || errors.Is(err, unix.ECONNABORTED) {
		// The client died; nothing can be flushed any more.
		log.Warn("detaching dead archil mount (its client is gone)", "mount_point", mp, "mount_id", top.ID)
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("failed to detach the dead archil mount at %s: %w", mp, err)
		}
		return nil
	}
	// A launcher was killed and left its client running (or hung: the
	// statfs did not answer): flush it the safe way first.
	hung := errors.Is(err, errStatfsTimeout)
	log.Warn("found a live archil mount left by a previous run; unmounting it with archil unmount", "mount_point", mp, "mount_id", top.ID)
	if beforeFlush != nil {
		beforeFlush()
	}
	if err := archilUnmount(cfg, cfg.StopTimeout, log); err != nil {
		log.Warn("archil unmount of the leftover mount failed; detaching it, pending writes may be lost", "error", err)
	} else if _, err := awaitGone(mp, leaveGrace); err != nil {
		return err
	}
	now, err := mountinfo.CurrentTop(mp)
	if err != nil {
		return err
	}
	if hung && isArchil(now) && now.ID == top.ID {
		// Nothing answers on it: fail what is stuck there, so that no
		// program hangs on the detached mount for good.
		abortConnection(mp, top.Dev, log)
		if now, err = mountinfo.CurrentTop(mp); err != nil {
			return err
		}
	}
	if isArchil(now) && now.ID == top.ID {
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("failed to detach the leftover archil mount at %s: %w", mp, err)
		}
		log.Info("detached leftover archil mount", "mount_point", mp, "mount_id", top.ID)
	}
	return nil
}

// checkRealParent refuses a mount point whose parent directories pass
// through a symlink. The kernel lists a mount under its resolved path, so
// the launcher would never find its own mount by the configured one, and a
// link could lead into a directory the mountPoint rules forbid (/data ->
// /etc). The mount point itself is checked by Lstat later: resolving it
// could hang on a dead FUSE mount there.
func checkRealParent(mp string) error {
	parent := filepath.Dir(mp)
	existing, _, err := missingDirs(parent)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return fmt.Errorf("failed to resolve %s: %w", existing, err)
	}
	if resolved := filepath.Join(real, strings.TrimPrefix(parent, existing)); resolved != parent {
		return fmt.Errorf("mount point %s lies under a symlink (its directory is really %s); use the real path", mp, resolved)
	}
	return nil
}

// missingDirs returns the deepest of dir and its parents that exists, and
// the ones below it that do not, top down. Nothing is followed: a symlink
// exists.
func missingDirs(dir string) (existing string, missing []string, err error) {
	for existing = dir; ; existing = filepath.Dir(existing) {
		_, err := os.Lstat(existing)
		if err == nil || existing == "/" {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", nil, fmt.Errorf("failed to inspect %s: %w", existing, err)
		}
		missing = append(missing, existing)
	}
	slices.Reverse(missing)
	return existing, missing, nil
}

func createMountPoint(mp string, log hclog.Logger) error {
	// Each missing directory is made here, top down, so that each gets
	// 0755 whatever the umask (a unit's UMask=077 would make them 0700 and
	// the disk unreachable for other users); existing ones are not touched.
	_, missing, err := missingDirs(mp)
	if err != nil {
		return fmt.Errorf("failed to create mount point %s: %w", mp, err)
	}
	for _, dir := range missing {
		err := os.Mkdir(dir, 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue // made meanwhile by someone else: not ours to chmod
		}
		if err != nil {
			return fmt.Errorf("failed to create mount point %s: %w", mp, err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return fmt.Errorf("failed to set mode of %s: %w", dir, err)
		}
	}
	// Whatever raced in, the mount point must be a real directory now.
	if fi, err := os.Lstat(mp); err != nil || !fi.IsDir() {
		return fmt.Errorf("mount point %s is not a directory after creating it; refusing to mount there", mp)
	}
	log.Info("created mount point", "mount_point", mp)
	return nil
}

func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, fmt.Errorf("failed to open mount point %s: %w", dir, err)
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to list mount point %s: %w", dir, err)
	}
	return false, nil
}
