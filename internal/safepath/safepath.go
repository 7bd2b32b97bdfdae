// Package safepath walks to a mount point from / one component at a time,
// by descriptor and without following a symlink, and refuses a path that a
// user other than root could redirect. Every directory above the mount
// point must be a real directory owned by root and writable by no one else;
// the one exception is a root-owned sticky directory such as /tmp, whose
// next component must then be root-owned or missing (its owner alone may
// rename it there). This is the check systemd's chase(CHASE_SAFE) and
// sshd's StrictModes make: a user who can rename a component between two of
// root's calls could make root chmod, mount or unmount somewhere else.
//
// Missing directories are made from the held parent with mkdirat and given
// their mode with fchmod on a descriptor of the new directory, never by
// path.
//
// Nothing here has a deadline of its own: a hung FUSE filesystem on the
// path blocks these calls, so callers run them through package bounded.
package safepath

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/mountinfo"
)

// Chain is the walk to a target path: its parent directory held open when
// it exists, else the deepest existing directory above it and the missing
// directories in between.
type Chain struct {
	target  string
	dir     int      // descriptor of the deepest existing directory on the way
	dirPath string   // its path
	missing []string // names below dir still missing, down to the target's parent
	sticky  bool     // dir is a root-owned sticky directory writable by others
}

// UnsafeError says which component of the path is unsafe and why. Its text
// names the component, its owner and its mode.
type UnsafeError struct {
	Target    string // the path walked to
	Component string // the path of the offending component
	Problem   string
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("unsafe path to %s: %s %s", e.Target, e.Component, e.Problem)
}

// rule is what every directory above a target must be.
const rule = "every directory above a mount point must be a real directory owned by root and writable by no one else"

// Walk opens every existing directory above target, checking each, and
// returns the chain. target must be absolute and clean. The caller closes
// the chain.
func Walk(target string) (*Chain, error) {
	if !path.IsAbs(target) || path.Clean(target) != target || target == "/" {
		return nil, fmt.Errorf("safepath: %q is not a clean absolute path below /", target)
	}
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("failed to open /: %w", err)
	}
	c := &Chain{target: target, dir: fd, dirPath: "/"}
	if c.sticky, err = c.checkDir(fd, "/"); err != nil {
		c.Close()
		return nil, err
	}
	names := strings.Split(target[1:], "/")
	parents := names[:len(names)-1]
	for i, name := range parents {
		p := path.Join(c.dirPath, name)
		next, err := unix.Openat(c.dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			c.missing = parents[i:]
			return c, nil
		}
		if err != nil {
			err = c.openError(c.dir, name, p, false, err)
			c.Close()
			return nil, err
		}
		sticky, err := c.checkDir(next, p)
		if err != nil {
			unix.Close(next)
			c.Close()
			return nil, err
		}
		c.replaceDir(next, p, sticky)
	}
	// The target itself is not looked at here: a mount on it (a stale
	// one to clear, say) would answer for it, or hang. StatTarget and
	// Create apply the sticky rule to it.
	return c, nil
}

// Target is the path walked to.
func (c *Chain) Target() string { return c.target }

// ParentExists reports whether the target's parent exists (then the chain
// holds it).
func (c *Chain) ParentExists() bool { return len(c.missing) == 0 }

// Close releases the held directory.
func (c *Chain) Close() {
	if c.dir >= 0 {
		unix.Close(c.dir)
		c.dir = -1
	}
}

// StatTarget is lstat of the target through its held parent. In a
// sticky directory others may write, a target that is not root's is
// refused: its owner may swap it at any time.
func (c *Chain) StatTarget() (*unix.Stat_t, error) {
	if !c.ParentExists() {
		return nil, unix.ENOENT
	}
	var st unix.Stat_t
	if err := unix.Fstatat(c.dir, path.Base(c.target), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, err
	}
	if c.sticky && st.Uid != 0 {
		return nil, c.stickyError(c.target, &st)
	}
	return &st, nil
}

// OpenTarget opens the target through its held parent with flags (and
// mode, for O_CREAT), never following a symlink there.
func (c *Chain) OpenTarget(flags int, mode uint32) (int, error) {
	if !c.ParentExists() {
		return -1, unix.ENOENT
	}
	return unix.Openat(c.dir, path.Base(c.target), flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
}

// Create makes every missing directory down to the target itself, each
// 0755 whatever the umask, and returns the paths it made. A directory that
// appears meanwhile is checked like one found by Walk and not changed: it
// is not the launcher's.
func (c *Chain) Create() ([]string, error) {
	made, err := c.CreateParents()
	if err != nil {
		return made, err
	}
	fd, p, created, err := c.mkdir(path.Base(c.target), true)
	if err != nil {
		return made, err
	}
	unix.Close(fd)
	if created {
		made = append(made, p)
	}
	return made, nil
}

// CreateParents is Create for the directories above the target: the chain
// then holds the target's parent.
func (c *Chain) CreateParents() ([]string, error) {
	var made []string
	for len(c.missing) > 0 {
		fd, p, created, err := c.mkdir(c.missing[0], false)
		if err != nil {
			return made, err
		}
		if created {
			made = append(made, p)
		}
		c.replaceDir(fd, p, false)
		c.missing = c.missing[1:]
	}
	return made, nil
}

// mkdir makes name in the held directory and returns a descriptor of it.
// isTarget: name is the target, to which only the sticky rule applies. In
// a sticky directory another user's entry may come and go at any moment:
// one that vanishes between the mkdir and the open is tried again.
func (c *Chain) mkdir(name string, isTarget bool) (fd int, p string, created bool, err error) {
	p = path.Join(c.dirPath, name)
	for range 64 {
		err = unix.Mkdirat(c.dir, name, 0o755)
		if errors.Is(err, unix.EEXIST) {
			fd, err = c.openExisting(name, p, isTarget)
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return fd, p, false, err
		}
		if err != nil {
			return -1, p, false, fmt.Errorf("failed to create %s: %w", p, err)
		}
		fd, err = c.openMade(name, p, isTarget)
		return fd, p, err == nil, err
	}
	return -1, p, false, &UnsafeError{Target: c.target, Component: p, Problem: "keeps appearing and vanishing (another user makes and removes it)"}
}

// openMade opens the directory mkdir just made. Not O_PATH: fchmod needs a
// real descriptor. Nobody but root can write the directory it is in (or,
// if sticky, remove what root made there), so this is the directory just
// made; the checks say so.
func (c *Chain) openMade(name, p string, isTarget bool) (int, error) {
	fd, err := unix.Openat(c.dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, c.openError(c.dir, name, p, isTarget, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Uid != 0 {
		unix.Close(fd)
		return -1, &UnsafeError{Target: c.target, Component: p, Problem: "changed owner right after it was created"}
	}
	if err := unix.Fchmod(fd, 0o755); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("failed to set mode of %s: %w", p, err)
	}
	return fd, nil
}

// openExisting opens a directory that appeared in the held one after Walk
// and applies the rules to it.
func (c *Chain) openExisting(name, p string, isTarget bool) (int, error) {
	fd, err := unix.Openat(c.dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return -1, err // gone again: mkdir tries anew
	}
	if err != nil {
		return -1, c.openError(c.dir, name, p, isTarget, err)
	}
	if isTarget {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("failed to inspect %s: %w", p, err)
		}
		if c.sticky && st.Uid != 0 {
			unix.Close(fd)
			return -1, c.stickyError(p, &st)
		}
		return fd, nil
	}
	if _, err := c.checkDir(fd, p); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (c *Chain) replaceDir(fd int, p string, sticky bool) {
	unix.Close(c.dir)
	c.dir, c.dirPath, c.sticky = fd, p, sticky
}

// checkDir applies the rule to the directory open as fd and reports
// whether it is a sticky directory that others may write.
func (c *Chain) checkDir(fd int, p string) (sticky bool, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, fmt.Errorf("failed to inspect %s: %w", p, err)
	}
	if err := c.checkFuseOwner(fd, p); err != nil {
		return false, err
	}
	perm := st.Mode & 0o7777
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return false, &UnsafeError{Target: c.target, Component: p, Problem: "is not a directory; " + rule}
	case st.Uid != 0:
		return false, &UnsafeError{Target: c.target, Component: p, Problem: fmt.Sprintf("is owned by uid %d (mode %04o); %s", st.Uid, perm, rule)}
	case perm&0o022 != 0 && perm&unix.S_ISVTX == 0:
		return false, &UnsafeError{Target: c.target, Component: p, Problem: fmt.Sprintf("is writable by group or others (mode %04o, owner uid 0); %s", perm, rule)}
	}
	return perm&0o022 != 0, nil
}

// fuseSuperMagic is statfs's f_type of every FUSE filesystem.
const fuseSuperMagic = 0x65735546

// checkFuseOwner refuses a directory on a FUSE filesystem that root did
// not mount: its server answers for owners and modes, so a user's own
// (with user_allow_other) could pass the checks and then lead a later
// lookup anywhere.
func (c *Chain) checkFuseOwner(fd int, p string) error {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil || fs.Type != fuseSuperMagic {
		return nil // not FUSE; a failed statfs shows again at the next step
	}
	e, err := mountinfo.OfFd(fd)
	if err != nil {
		return fmt.Errorf("failed to identify the mount of %s: %w", p, err)
	}
	owner := "another user"
	if e != nil {
		if id, ok := e.Option("user_id"); ok {
			owner = "uid " + id
		}
	}
	if owner != "uid 0" {
		return &UnsafeError{Target: c.target, Component: p, Problem: "is on a FUSE filesystem mounted by " + owner + ", whose server says what owners and modes are; " + rule}
	}
	return nil
}

func (c *Chain) stickyError(p string, st *unix.Stat_t) error {
	return &UnsafeError{Target: c.target, Component: p, Problem: fmt.Sprintf(
		"is owned by uid %d in the sticky directory %s, which others may write: its owner could rename it; it must be root's or missing",
		st.Uid, c.dirPath)}
}

// openError explains a failed open of name in dir: a symlink or a
// non-directory is unsafe, anything else is an error as it is. What it is
// is looked at again for the message, and may have changed since.
func (c *Chain) openError(dir int, name, p string, isTarget bool, err error) error {
	if !errors.Is(err, unix.ELOOP) && !errors.Is(err, unix.ENOTDIR) {
		return fmt.Errorf("failed to open %s: %w", p, err)
	}
	var st unix.Stat_t
	kind := "is not a real directory"
	if unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		kind += " (it is a symlink)"
	}
	if isTarget {
		return &UnsafeError{Target: c.target, Component: p, Problem: kind + "; refusing to mount there"}
	}
	return &UnsafeError{Target: c.target, Component: p, Problem: kind + "; " + rule}
}
