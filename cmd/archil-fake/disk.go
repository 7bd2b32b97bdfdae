package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/archil-nix/archil-launch/internal/fakedisk"
)

// Every fake process serving a disk coordinates through the files of
// $STATE/disks/<disk>/ and flock(2), which the kernel drops when a process
// dies, however it dies:
//
//	lock           LOCK_EX while one process decides who gets what
//	users          every server of the disk holds LOCK_SH for its life
//	lease          the root write delegation (see lease.go)
//	<nonce>.alive  the delegation holder holds LOCK_EX for its life
//
// All mounts of a disk serve one cache directory, as clients on one
// machine share its page cache; it is pulled from backing (dropping what
// was never flushed) only by a server that finds no other live one, so a
// second mount never throws away the first one's pending writes.

// diskUse is what one server holds of its disk.
type diskUse struct {
	dir   string
	users *os.File    // LOCK_SH on users
	del   *delegation // nil when the mount takes none
}

// useDisk takes the disk of a for a server: under the disk's lock it
// claims the root delegation if the mount takes one, and calls pull if no
// other server uses the disk.
func (s *state) useDisk(a *mountArgs, pull func() error) (_ *diskUse, err error) {
	name, _, _ := strings.Cut(a.disk, ":")
	u := &diskUse{dir: s.path("disks", fakedisk.Key(name))}
	if err := os.MkdirAll(u.dir, 0o755); err != nil {
		return nil, fmt.Errorf("failed to create disk state directory: %w", err)
	}
	unlock, err := u.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer func() {
		if err != nil {
			u.closeLocked()
		}
	}()
	if a.takesDelegation() {
		if u.del, err = claim(u.dir, name, a, s.claimRules()); err != nil {
			return nil, err
		}
	}
	if u.users, err = os.OpenFile(filepath.Join(u.dir, "users"), os.O_RDONLY|os.O_CREATE, 0o644); err != nil {
		return nil, fmt.Errorf("failed to open disk users: %w", err)
	}
	first, err := tryFlock(u.users, syscall.LOCK_EX)
	if err != nil {
		return nil, fmt.Errorf("failed to lock disk users: %w", err)
	}
	if first {
		if err := pull(); err != nil {
			return nil, err
		}
	}
	// Not atomic when converting from LOCK_EX, but the disk's lock keeps
	// everyone else out meanwhile.
	switch ok, err := tryFlock(u.users, syscall.LOCK_SH); {
	case err != nil:
		return nil, fmt.Errorf("failed to share disk users: %w", err)
	case !ok:
		return nil, errors.New("failed to share disk users: held exclusively")
	}
	if u.del != nil {
		u.del.startRenew()
	}
	return u, nil
}

// close releases the delegation and the use of the cache.
func (u *diskUse) close() {
	if u.del != nil {
		u.del.stopRenew()
	}
	unlock, err := u.lock()
	if err != nil {
		logf("error", "releasing the disk: %v", err)
		return
	}
	defer unlock()
	u.closeLocked()
}

func (u *diskUse) closeLocked() {
	if u.del != nil {
		u.del.releaseLocked()
		u.del = nil
	}
	if u.users != nil {
		u.users.Close()
		u.users = nil
	}
}

// lock takes the disk's lock and returns its release.
func (u *diskUse) lock() (func(), error) {
	return lockFile(filepath.Join(u.dir, "lock"))
}

// lockFile takes LOCK_EX on path, creating it, and returns its release.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("failed to lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// tryFlock takes how (LOCK_EX or LOCK_SH) on f without waiting and reports
// whether it got it.
func tryFlock(f *os.File, how int) (bool, error) {
	err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
