package main

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/archil-nix/archil-launch/internal/testkit"
)

// The file system refuses writes itself, not only through the kernel's
// read-only mount: mounted here read-write (in this test's private mount
// namespace), a read-only fsys still answers EROFS to every change.
func TestReadOnlyFS(t *testing.T) {
	dir := t.TempDir()
	cache, backing, mp := filepath.Join(dir, "cache"), filepath.Join(dir, "backing"), filepath.Join(dir, "mnt")
	for _, d := range []string{cache, backing, mp} {
		testkit.Must(t, os.Mkdir(d, 0o755))
	}
	testkit.Must(t, os.WriteFile(filepath.Join(cache, "old"), []byte("old"), 0o644))
	sys := &fsys{store: newStore(cache, backing, 0), stats: newMetrics(), readOnly: true}
	root, err := newRoot(cache, sys)
	testkit.Must(t, err)
	a := &mountArgs{disk: disk, region: region, mountPoint: mp} // read-write in the kernel
	srv, _, err := mountFS(mp, root, a.fuseOptions())
	testkit.Must(t, err)
	t.Cleanup(func() {
		if srv.Unmount() != nil {
			syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	})
	if b, err := os.ReadFile(filepath.Join(mp, "old")); err != nil || string(b) != "old" {
		t.Fatalf("read: %q %v", b, err)
	}
	for name, op := range map[string]func() error{
		"create":   func() error { return os.WriteFile(filepath.Join(mp, "new"), nil, 0o644) },
		"open rw":  func() error { f, err := os.OpenFile(filepath.Join(mp, "old"), os.O_RDWR, 0); f.Close(); return err },
		"truncate": func() error { return os.Truncate(filepath.Join(mp, "old"), 0) },
		"mkdir":    func() error { return os.Mkdir(filepath.Join(mp, "d"), 0o755) },
		"symlink":  func() error { return os.Symlink("old", filepath.Join(mp, "l")) },
		"link":     func() error { return os.Link(filepath.Join(mp, "old"), filepath.Join(mp, "l")) },
		"rename":   func() error { return os.Rename(filepath.Join(mp, "old"), filepath.Join(mp, "o2")) },
		"remove":   func() error { return os.Remove(filepath.Join(mp, "old")) },
		"chmod":    func() error { return os.Chmod(filepath.Join(mp, "old"), 0o600) },
		"utimes":   func() error { return os.Chtimes(filepath.Join(mp, "old"), time.Now(), time.Now()) },
	} {
		if err := op(); !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s: %v, want EROFS", name, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(cache, "old")); err != nil || string(b) != "old" {
		t.Errorf("cache changed: %q %v", b, err)
	}
	if n := sys.stats.refused.Load(); n < 10 {
		t.Errorf("%d refusals counted, want at least 10", n)
	}
}
