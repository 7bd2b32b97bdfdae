package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// store models the disk: backing is the object storage (the truth), cache
// is the local copy the FUSE mount serves. Changes made through the mount
// are reported with changed and copied to backing ("flushed") delay after
// they were made; with no delay, synchronously.
type store struct {
	cache, backing string
	delay          time.Duration

	mu      sync.Mutex
	pending map[string]time.Time // cache-relative path -> when it is due

	flushMu sync.Mutex   // one copy to backing at a time
	flushed atomic.Int64 // paths copied to backing, for metrics
}

func newStore(cache, backing string, delay time.Duration) *store {
	return &store{cache: cache, backing: backing, delay: delay, pending: map[string]time.Time{}}
}

// pull makes the cache a copy of backing, dropping anything never flushed.
func (s *store) pull() error {
	if err := mirror(s.backing, s.cache); err != nil {
		return fmt.Errorf("failed to sync cache from backing: %w", err)
	}
	return nil
}

// changed records that rel (relative to the cache root) changed. Without a
// delay it is flushed before changed returns.
func (s *store) changed(rel string) error {
	if s.delay == 0 {
		s.flushMu.Lock()
		defer s.flushMu.Unlock()
		if err := s.flushOne(rel); err != nil {
			logf("error", "flush %q: %v", rel, err)
			return err
		}
		logf("debug", "flushed %q", rel)
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pending[rel]; !ok {
		s.pending[rel] = time.Now().Add(s.delay)
	}
	logf("trace", "pending %q", rel)
	return nil
}

// run flushes pending changes as they fall due, until stop is closed.
func (s *store) run(stop <-chan struct{}) {
	if s.delay == 0 {
		return
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			if n, err := s.flush(now); err != nil {
				logf("error", "flush: %v", err)
			} else if n > 0 {
				logf("info", "flushed %d files", n)
			}
		}
	}
}

// flushAll flushes every pending change now, ignoring the delay.
func (s *store) flushAll() (int, error) {
	return s.flush(time.Time{})
}

// flush copies the changes due at now (all of them if now is zero) to
// backing and returns how many it copied.
func (s *store) flush(now time.Time) (int, error) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	var due []string
	for rel, at := range s.pending {
		if now.IsZero() || !at.After(now) {
			due = append(due, rel)
			delete(s.pending, rel)
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, rel := range due {
		if err := s.flushOne(rel); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rel, err))
		}
	}
	return len(due), errors.Join(errs...)
}

// pendingCount is the number of changed paths not yet in backing.
func (s *store) pendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

func (s *store) flushOne(rel string) error {
	dst := filepath.Join(s.backing, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("failed to create parent in backing: %w", err)
	}
	if err := mirror(filepath.Join(s.cache, rel), dst); err != nil {
		return err
	}
	s.flushed.Add(1)
	return nil
}

// discard forgets every pending change (unmount --force) and returns how
// many there were.
func (s *store) discard() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.pending)
	clear(s.pending)
	return n
}

// mirror makes dst an exact copy of src: regular files, directories and
// symlinks, recursively; dst is removed if src does not exist.
func mirror(src, dst string) error {
	si, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return os.RemoveAll(dst)
	}
	if err != nil {
		return err
	}
	switch si.Mode().Type() {
	case 0, fs.ModeDir, fs.ModeSymlink:
	default:
		return nil // devices, fifos, sockets: not stored
	}
	di, err := os.Lstat(dst)
	if err == nil && di.Mode().Type() != si.Mode().Type() {
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
		di, err = nil, fs.ErrNotExist
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := mirrorEntry(src, dst, si, di); err != nil {
		return err
	}
	return copyOwner(dst, si)
}

// copyOwner gives dst the owner of si where it differs. A unit whose
// system call filter removes @chown (the hardened units do) makes chown
// fail with EPERM; ownership is then left as it is rather than failing the
// mount, as a client that stores ownership as metadata would.
func copyOwner(dst string, si fs.FileInfo) error {
	st, ok := si.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if di, err := os.Lstat(dst); err == nil {
		if dt, ok := di.Sys().(*syscall.Stat_t); ok && dt.Uid == st.Uid && dt.Gid == st.Gid {
			return nil
		}
	}
	if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil && !errors.Is(err, syscall.EPERM) {
		return err
	}
	return nil
}

// mirrorEntry copies src to dst, whose old state is di (nil if missing or
// of another type).
func mirrorEntry(src, dst string, si, di fs.FileInfo) error {
	switch si.Mode().Type() {
	case fs.ModeDir:
		return mirrorDir(src, dst, si, di == nil)
	case fs.ModeSymlink:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if di != nil {
			if err := os.Remove(dst); err != nil {
				return err
			}
		}
		return os.Symlink(target, dst)
	default:
		if di != nil && di.Size() == si.Size() && di.ModTime().Equal(si.ModTime()) && di.Mode() == si.Mode() {
			return nil
		}
		return copyFile(src, dst, si)
	}
}

func mirrorDir(src, dst string, si fs.FileInfo, create bool) error {
	if create {
		if err := os.Mkdir(dst, si.Mode().Perm()); err != nil {
			return err
		}
	} else if err := os.Chmod(dst, si.Mode().Perm()); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, e := range entries {
		keep[e.Name()] = true
		if err := mirror(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	old, err := os.ReadDir(dst)
	if err != nil {
		return err
	}
	for _, e := range old {
		if !keep[e.Name()] {
			if err := os.RemoveAll(filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyFile replaces dst by a copy of src atomically (temp file, rename).
func copyFile(src, dst string, si fs.FileInfo) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".archil-fake-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(si.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chtimes(tmp.Name(), si.ModTime(), si.ModTime()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
