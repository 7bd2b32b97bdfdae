package launcher

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/safepath"
	"github.com/archil-nix/archil-launch/internal/testkit"
)

// The mount point and every parent created for it are 0755 whatever the
// umask; a directory that existed keeps its mode.
func TestCreateMountPointIgnoresUmask(t *testing.T) {
	top := t.TempDir()
	testkit.Must(t, os.Chmod(top, 0o711))
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	mp := filepath.Join(top, "a", "b", "mnt")
	c, err := safepath.Walk(mp)
	testkit.Must(t, err)
	defer c.Close()
	_, err = c.Create()
	testkit.Must(t, err)
	for _, dir := range []string{filepath.Join(top, "a"), filepath.Join(top, "a", "b"), mp} {
		fi, err := os.Stat(dir)
		testkit.Must(t, err)
		if fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, want 0755", dir, fi.Mode().Perm())
		}
	}
	if fi, err := os.Stat(top); err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("existing %s changed: %v %v", top, fi.Mode(), err)
	}
}

// anyArchil accepts every archil mount, for tests that clean up after
// themselves.
func anyArchil(p *pinned) bool { return isArchil(&p.entry) }
