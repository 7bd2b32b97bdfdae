package launcher

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/archil-nix/archil-launch/internal/testkit"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// TestUnmountHelpersLeaveOthersAlone puts a tmpfs where the launcher
// expects its mount and runs every way the launcher has of removing one:
// none may touch it.
func TestUnmountHelpersLeaveOthersAlone(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { detachUnder(t, dir) })
	mp := filepath.Join(dir, "mnt")
	testkit.Must(t, os.Mkdir(mp, 0o755))
	testkit.Must(t, unix.Mount("tmpfs", mp, "tmpfs", 0, "size=1m"))
	testkit.Must(t, os.WriteFile(filepath.Join(mp, "theirs"), []byte("x"), 0o644))
	before, err := mountinfo.CurrentTop(mp)
	testkit.Must(t, err)
	log := logline.Discard()

	if n, err := detachArchil(mp, anyArchil, log); n != 0 || err != nil {
		t.Errorf("detachArchil = %d, %v", n, err)
	}
	p, err := pinTop(mp)
	testkit.Must(t, err)
	if p == nil || p.entry.ID != before.ID || anyArchil(p) {
		t.Errorf("pinTop = %+v, want the tmpfs, not archil's", p)
	}
	p.close()
	// Its id and device, as if it were a covered archil mount of ours:
	// it is not archil's, so no connection of that number is aborted.
	abortCovered(mp, &identity{id: before.ID, dev: before.Dev}, log)
	m := &Mount{cfg: &config.Config{MountPoint: mp}, log: log}
	m.abortOwn()
	if err := m.detachLeft(); err != nil {
		t.Errorf("detachLeft: %v", err)
	}

	after, err := mountinfo.CurrentTop(mp)
	testkit.Must(t, err)
	if after == nil || after.ID != before.ID || after.FSType != "tmpfs" {
		t.Fatalf("top mount changed: %+v -> %+v", before, after)
	}
	if _, err := os.Stat(filepath.Join(mp, "theirs")); err != nil {
		t.Errorf("tmpfs content: %v", err)
	}
}
