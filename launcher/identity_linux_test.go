package launcher

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/archil-nix/archil-launch/internal/testkit"
)

const fusectl = "/sys/fs/fuse/connections"

// mountFusectl mounts fusectl in the test's mount namespace, as most hosts
// have it: only then does an abort by connection number reach a FUSE
// connection at all.
func mountFusectl(t *testing.T) {
	t.Helper()
	err := unix.Mount("fusectl", fusectl, "fusectl", 0, "")
	if errors.Is(err, unix.EBUSY) {
		return // mounted already
	}
	testkit.Must(t, err)
	t.Cleanup(func() { _ = unix.Unmount(fusectl, unix.MNT_DETACH) })
}

// Findings 4 and 8, an abort or a detach that hits a stranger: our client's
// mount goes away, and another FUSE mount takes its connection number
// (minors are reused lowest first) and, at the same mount point, its
// mount id too. Aborting and detaching "our" mount then must touch
// neither: the stranger still answers and is still mounted.
func TestAbortAndDetachSpareAStranger(t *testing.T) {
	mountFusectl(t)
	bin := buildFake(t, t.TempDir())
	f := newFixture(t, bin)
	stranger := *f
	strangerCfg := *f.cfg
	strangerCfg.DiskName = "acme/stranger"
	stranger.cfg = &strangerCfg
	log := logline.Discard()
	ours := f.cfg.MountPoint
	elsewhere := filepath.Join(f.dir, "elsewhere")
	sameDev, sameID := 0, 0
	for i := range raceRounds {
		a := startClientAt(t, f, ours)
		top, err := mountinfo.CurrentTop(ours)
		testkit.Must(t, err)
		id := readIdentity(ours, top)
		testkit.Must(t, archilUnmount(f.cfg, hangGuard, log))
		reapOrphan(t, a)

		at := elsewhere
		if i%2 == 1 {
			at = ours // the same mount point: the mount id comes back too
		}
		b := startClientAt(t, &stranger, at)
		theirs, err := mountinfo.CurrentTop(at)
		testkit.Must(t, err)
		if theirs.Dev == id.dev {
			sameDev++
			if theirs.ID == id.id {
				sameID++
			}
		}
		m := &Mount{cfg: f.cfg, log: log, ident: id}
		m.abortOwn()
		testkit.Must(t, m.detachLeft())

		now, err := mountinfo.CurrentTop(at)
		testkit.Must(t, err)
		if now == nil || now.ID != theirs.ID {
			t.Fatalf("round %d: the stranger's mount at %s is gone (was %+v, now %+v)", i, at, theirs, now)
		}
		name := filepath.Join(at, "alive")
		if err := os.WriteFile(name, []byte("x"), 0o644); err != nil {
			t.Fatalf("round %d: the stranger's mount does not answer (aborted?): %v", i, err)
		}
		cfgB := strangerCfg
		cfgB.MountPoint = at
		testkit.Must(t, archilUnmount(&cfgB, hangGuard, log))
		reapOrphan(t, b)
	}
	t.Logf("%d rounds: the stranger had our connection number in %d, and our mount id too in %d", raceRounds, sameDev, sameID)
	if sameDev == 0 || sameID == 0 {
		t.Fatal("no round reused our connection number and mount id: the test proved nothing")
	}
}
