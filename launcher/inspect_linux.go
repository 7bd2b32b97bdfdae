package launcher

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/archil-nix/archil-launch/internal/smallfile"
)

// inspectStatfsTimeout bounds InspectMountPoint's look at a mount: a hung
// FUSE server must not hang the diagnostic.
const inspectStatfsTimeout = time.Second

// MountPointState is what Preflight would find at a mount point.
type MountPointState struct {
	OK     bool   // Preflight would go ahead
	State  string // missing, empty directory, live archil mount, stale, busy or error
	Detail string
}

// InspectMountPoint says what Preflight would find at mp, without acting
// on it: missing, empty directory, live archil mount, stale archil mount,
// or busy (another mount, a non-empty directory, a non-directory). It is
// what --check reports; it changes nothing.
func InspectMountPoint(ctx context.Context, mp string) MountPointState {
	item := MountPointState{Detail: mp}
	if err := checkRealParent(mp); err != nil {
		item.State, item.Detail = "busy", err.Error()
		return item
	}
	top, err := mountinfo.CurrentTop(mp)
	if err != nil {
		item.State, item.Detail = "error", err.Error()
		return item
	}
	if top != nil && !isArchil(top) {
		// No statfs: on an automount point it would trigger the mount.
		item.State, item.Detail = "busy", "a "+top.FSType+" filesystem is mounted at "+mp+"; the launcher will refuse it"
		return item
	}
	if top != nil {
		switch err := statfsWithin(ctx, mp, inspectStatfsTimeout); {
		case errors.Is(err, unix.ENOTCONN) || errors.Is(err, unix.ECONNABORTED):
			item.State, item.Detail = "stale", "dead archil mount at "+mp+" (client gone); the next start detaches it"
		case err != nil:
			item.State, item.Detail = "busy", "archil mount at "+mp+" does not answer: "+err.Error()
		default:
			item.OK, item.State = true, "live archil mount"
		}
		return item
	}
	fi, err := os.Lstat(mp)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		item.OK, item.State, item.Detail = true, "missing", mp+" (created at start)"
	case err != nil:
		item.State, item.Detail = "error", err.Error()
	case !fi.IsDir():
		item.State, item.Detail = "busy", mp+" is not a directory (it is "+smallfile.Kind(fi.Mode())+")"
	default:
		empty, err := isEmptyDir(mp)
		switch {
		case err != nil:
			item.State, item.Detail = "error", err.Error()
		case !empty:
			item.State, item.Detail = "busy", mp+" is a non-empty directory; the launcher will refuse it"
		default:
			item.OK, item.State = true, "empty directory"
		}
	}
	return item
}
