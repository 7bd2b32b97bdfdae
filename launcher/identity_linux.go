package launcher

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/bounded"
	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/internal/mountinfo"
)

// A mount is acted on only through what cannot change under the launcher.
// mountinfo's 32-bit ids are reused once a mount is gone, so are FUSE
// connection numbers (a device's minor, lowest first), and a path may lead
// elsewhere the next time it is resolved. So a detach or an abort goes
// through a descriptor of the mount's root: while the launcher holds it,
// the mount cannot go away, its ids and its connection stay its own, and
// /proc/self/fd/<fd> reaches that mount and no other.

// identity is the client's mount as WaitReady saw it.
type identity struct {
	id     int    // mountinfo id
	dev    string // major:minor
	unique uint64 // STATX_MNT_ID_UNIQUE, never reused while the system runs; 0 before Linux 6.8
}

// pinned is the root of the mount on top of a mount point, held open.
type pinned struct {
	fd     int
	entry  mountinfo.Entry
	unique uint64 // 0 when the kernel has no unique mount ids
}

// pinTop opens the top of mp and returns it pinned, or nil when nothing is
// mounted at mp. Bounded by probeTimeout: a hung FUSE mount above mp
// blocks the open.
func pinTop(mp string) (*pinned, error) {
	p, err := bounded.Do(probeTimeout, func() (*pinned, error) { return pinTopNow(mp) }, (*pinned).close)
	if err == bounded.ErrTimeout {
		return nil, fmt.Errorf("failed to open %s: %w", mp, err)
	}
	return p, err
}

func pinTopNow(mp string) (*pinned, error) {
	// O_PATH: nothing is opened on the filesystem itself, so a dead or
	// hung FUSE server is not asked.
	fd, err := unix.Open(mp, unix.O_PATH|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", mp, err)
	}
	p := &pinned{fd: fd}
	e, err := mountinfo.OfFd(fd)
	if err != nil || e == nil || e.MountPoint != mp {
		p.close()
		if err != nil {
			err = fmt.Errorf("failed to identify the mount at %s: %w", mp, err)
		}
		return nil, err
	}
	p.entry = *e
	p.unique = uniqueMountID(fd)
	return p, nil
}

// uniqueMountID is the unique id (STATX_MNT_ID_UNIQUE) of the mount fd is
// on, 0 when the kernel has none (before Linux 6.8).
func uniqueMountID(fd int) uint64 {
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH|unix.AT_STATX_DONT_SYNC, unix.STATX_MNT_ID_UNIQUE, &stx); err != nil || stx.Mask&unix.STATX_MNT_ID_UNIQUE == 0 {
		return 0
	}
	return stx.Mnt_id
}

func (p *pinned) close() {
	if p != nil && p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
}

// path reaches the pinned mount's root and nothing else: the kernel
// resolves the magic link to the descriptor's own mount.
func (p *pinned) path() string { return "/proc/self/fd/" + strconv.Itoa(p.fd) }

// detach lazily detaches the pinned mount.
func (p *pinned) detach() error { return unix.Unmount(p.path(), unix.MNT_DETACH) }

// abort fails every request pending on the pinned mount's FUSE connection:
// the only way to free a thread stuck on a server that is gone, be it one
// of the dead client's own (which keeps it from being reaped) or a program
// using the mount. Pinned, the mount's superblock lives, so its connection
// number is not another mount's. Without fusectl, a forced unmount of the
// pinned root aborts the connection (FUSE's umount_begin) and then fails:
// the descriptor held keeps the mount busy, so nothing is unmounted.
func (p *pinned) abort(log *logline.Logger) {
	if abortFusectl(p.entry.Dev) {
		log.Warn("aborted the FUSE connection", "mount_point", p.entry.MountPoint, "connection", p.entry.Dev)
		return
	}
	err := unix.Unmount(p.path(), unix.MNT_FORCE)
	log.Warn("aborted the FUSE connection with a forced unmount", "mount_point", p.entry.MountPoint, "unmounted", err == nil)
}

// abortFusectl writes to fusectl's abort file of the connection of device
// dev and reports whether that worked.
func abortFusectl(dev string) bool {
	_, minor, ok := strings.Cut(dev, ":")
	return ok && os.WriteFile("/sys/fs/fuse/connections/"+minor+"/abort", []byte("1"), 0) == nil
}

// is reports whether p is the mount id names.
func (id *identity) is(p *pinned) bool {
	return p.entry.ID == id.id && p.entry.Dev == id.dev && (id.unique == 0 || p.unique == id.unique)
}

// readIdentity names the mount top, which WaitReady just found answering at
// mp, by its ids, the unique one included when the kernel has it.
func readIdentity(mp string, top *mountinfo.Entry) *identity {
	id := &identity{id: top.ID, dev: top.Dev}
	if p, err := pinTop(mp); err == nil && p != nil {
		if p.entry.ID == top.ID && p.entry.Dev == top.Dev {
			id.unique = p.unique
		}
		p.close()
	}
	return id
}

// abortCovered aborts the connection of mount id at mp when another mount
// covers it, so that it cannot be pinned through the path. It acts only
// while mountinfo lists that mount, with that device, under another one:
// a mount of that id and device on top is not it (it would have pinned as
// ours), but a later mount that took both numbers once ours was gone. The
// connection number is then its own, but for the instant between the look
// and the write.
func abortCovered(mp string, id *identity, log *logline.Logger) {
	stack, err := mountinfo.CurrentStack(mp)
	if err != nil {
		return
	}
	i := slices.IndexFunc(stack, func(e mountinfo.Entry) bool { return isArchil(&e) && e.ID == id.id && e.Dev == id.dev })
	if i < 0 || i == len(stack)-1 {
		return
	}
	if abortFusectl(id.dev) {
		log.Warn("aborted the FUSE connection of the covered archil mount", "mount_point", mp, "connection", id.dev)
	}
}
