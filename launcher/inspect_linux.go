package launcher

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/bounded"
	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/archil-nix/archil-launch/internal/safepath"
)

// inspectTimeout bounds each of InspectMountPoint's looks at the
// filesystem: a hung FUSE server must not hang the diagnostic.
const inspectTimeout = time.Second

// MountPointLive is MountPointState.State for a live archil mount: the
// one state in which the client's `status` can say more.
const MountPointLive = "live archil mount"

// MountPointState is what Preflight would find at a mount point.
type MountPointState struct {
	OK     bool   // Preflight would go ahead
	State  string // missing, empty directory, live archil mount, stale, unsafe path, busy or error
	Detail string
	Holder int // pid of the launcher holding the mount point's lock, 0 for none
}

// InspectMountPoint says what Preflight would find at mp, without acting
// on it: an unsafe path, a missing mount point, an empty directory, a live
// or a stale archil mount, or busy (another mount, a non-empty directory,
// a non-directory); and which launcher holds mp's lock. It is what --check
// reports; it changes nothing and takes no lock.
func InspectMountPoint(ctx context.Context, mp string) MountPointState {
	item := inspect(ctx, mp)
	holder, err := LockHolder(mp)
	if err != nil {
		item.OK, item.State, item.Detail = false, "error", err.Error()
	}
	item.Holder = holder
	return item
}

func inspect(ctx context.Context, mp string) MountPointState {
	item := MountPointState{Detail: mp}
	chain, err := bounded.Do(inspectTimeout, func() (*safepath.Chain, error) { return safepath.Walk(mp) }, (*safepath.Chain).Close)
	var unsafe *safepath.UnsafeError
	switch {
	case errors.As(err, &unsafe):
		item.State, item.Detail = "unsafe path", err.Error()+"; the launcher will refuse it"
		return item
	case err != nil:
		item.State, item.Detail = "error", "failed to check the path to "+mp+": "+err.Error()
		return item
	}
	defer chain.Close()
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
		switch err := statfsWithin(ctx, mp, inspectTimeout); {
		case errors.Is(err, unix.ENOTCONN) || errors.Is(err, unix.ECONNABORTED):
			item.State, item.Detail = "stale", "dead archil mount at "+mp+" (client gone); the next start detaches it"
		case err != nil:
			item.State, item.Detail = "busy", "archil mount at "+mp+" does not answer: "+err.Error()
		default:
			item.OK, item.State = true, MountPointLive
		}
		return item
	}
	state, err := bounded.Do(inspectTimeout, func() (string, error) { return targetStateNow(chain) }, nil)
	switch {
	case err != nil:
		item.State, item.Detail = "error", "failed to inspect "+mp+": "+err.Error()
	case state == targetMissing:
		item.OK, item.State, item.Detail = true, "missing", mp+" (created at start)"
	case state == targetEmpty:
		item.OK, item.State = true, "empty directory"
	default:
		item.State, item.Detail = "busy", mp+" "+state+"; the launcher will refuse it"
	}
	return item
}
