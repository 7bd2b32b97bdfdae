package launcher

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/safepath"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// LockDir holds one lock file per mount point. /run is a tmpfs: a lock
// outlives no boot, and a launcher's is released by the kernel whenever
// it dies.
const LockDir = "/run/archil-launch"

// MountLock is a launcher's exclusive claim on a mount point: two launchers
// of one mount point (two units, a template instance and a hand-run
// launcher) would otherwise each take the other's live mount for one a
// killed launcher left, and unmount it, forever in turn under Restart=.
type MountLock struct {
	f *os.File
}

// LockedError says that another process holds a mount point's lock.
type LockedError struct {
	MountPoint string
	Lock       string
	Holder     int // 0 when it cannot be told
}

func (e *LockedError) Error() string {
	holder := "another process"
	if e.Holder > 0 {
		holder = "process " + strconv.Itoa(e.Holder)
	}
	return fmt.Sprintf("mount point %s is in use: %s holds its lock %s (another archil-launch of the same mount point)", e.MountPoint, holder, e.Lock)
}

// LockPath is the lock file of mount point mp: systemd's path escaping of
// it (as in a .mount unit's name), or for a path too long for a file name
// its hash, under a name escaping never makes (a leading dot).
func LockPath(mp string) string {
	name := escapePath(mp)
	if len(name) > 200 {
		sum := sha256.Sum256([]byte(mp))
		name = ".sha256-" + hex.EncodeToString(sum[:])
	}
	return filepath.Join(LockDir, name+".lock")
}

// lockMountPoint takes mp's lock, creating LockDir (0755, root's, by
// descriptor, every directory on the way checked as for a mount point) and
// the lock file (0600) as needed. It never waits: a lock
// held is an error naming the holder. The lock is held until Release or
// the process's end; the descriptor is close-on-exec, so no child holds
// it after the launcher.
func lockMountPoint(mp string) (*MountLock, error) {
	path := LockPath(mp)
	c, err := safepath.Walk(path)
	if err != nil {
		return nil, fmt.Errorf("failed to lock %s: %w", mp, err)
	}
	defer c.Close()
	if _, err := c.CreateParents(); err != nil {
		return nil, fmt.Errorf("failed to create %s: %w", LockDir, err)
	}
	// Release removes the file: a lock taken on a file unlinked meanwhile
	// (its holder released it between our open and our flock) is no lock.
	// Try again on the file now at the path.
	for range 8 {
		l, again, err := lockFile(c, mp, path)
		if !again {
			return l, err
		}
	}
	return nil, fmt.Errorf("failed to lock %s: %s keeps being replaced", mp, path)
}

// lockFile makes one attempt; again reports a lock file that was removed
// or replaced before it was locked.
func lockFile(c *safepath.Chain, mp, path string) (l *MountLock, again bool, err error) {
	fd, err := c.OpenTarget(unix.O_RDWR|unix.O_CREAT|unix.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("failed to open the lock %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, false, fmt.Errorf("failed to lock %s: %s is not a regular file", mp, path)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, &LockedError{MountPoint: mp, Lock: path, Holder: flockHolder(f)}
		}
		return nil, false, fmt.Errorf("failed to lock %s: %w", path, err)
	}
	now, err := c.StatTarget()
	var st unix.Stat_t
	if err != nil || unix.Fstat(fd, &st) != nil || now.Ino != st.Ino || now.Dev != st.Dev {
		f.Close()
		return nil, true, nil
	}
	return &MountLock{f: f}, false, nil
}

// Release removes the lock file and gives the lock up: removed while still
// held, so that no other launcher holds a lock on it by then (see
// lockMountPoint). LockDir is root's alone, so the path is the file.
func (l *MountLock) Release() {
	if l != nil && l.f != nil {
		_ = os.Remove(l.f.Name())
		l.f.Close()
		l.f = nil
	}
}

// LockHolder reports which process holds mp's lock (0: none), looking
// without taking it: --check must never keep a launcher from starting.
func LockHolder(mp string) (int, error) {
	path := LockPath(mp)
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("failed to open the lock %s: %w", path, err)
	}
	defer f.Close()
	return flockHolder(f), nil
}

// flockHolder finds the holder of a flock on f's file in /proc/locks:
//
//	1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF
//
// (the device in hex, the inode in decimal); waiters are marked "->".
func flockHolder(f *os.File) int {
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		return 0
	}
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	locks, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer locks.Close()
	sc := bufio.NewScanner(locks)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) >= 6 && w[1] == "FLOCK" && w[5] == want {
			if pid, err := strconv.Atoi(w[4]); err == nil {
				return pid
			}
		}
	}
	return 0
}

// escapePath is systemd's path escaping (systemd-escape --path): the
// slashes at the ends dropped, the others turned into "-", every byte but
// [A-Za-z0-9:_.] (and a leading ".") written as \xNN.
func escapePath(p string) string {
	p = strings.Trim(p, "/")
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case c == '.' && i == 0, !escapeKeeps(c):
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func escapeKeeps(c byte) bool {
	return config.IsAlnum(c) || c == ':' || c == '_' || c == '.'
}
