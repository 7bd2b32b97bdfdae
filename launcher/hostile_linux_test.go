package launcher

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/archil-nix/archil-launch/internal/testkit"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// The findings of a review of the launcher as a local attacker sees it,
// each replayed against the launcher as it is: by an unprivileged user in
// a tight loop where the finding is a race, for raceRounds rounds.

const raceRounds = 200

// secretDir is a root-only directory with a 0600 file: what an attacker
// would have root chmod, mount over or unmount.
func secretDir(t *testing.T, root string) (dir, file string) {
	t.Helper()
	dir = filepath.Join(root, "secret")
	mkdirOwned(t, dir, 0o700, 0)
	file = filepath.Join(dir, "file")
	testkit.Must(t, os.WriteFile(file, []byte("root's"), 0o600))
	return dir, file
}

// assertMode fails when path's mode is not mode: what the attacker tried
// to change through a planted symlink.
func assertMode(t *testing.T, path string, mode os.FileMode, round int) {
	t.Helper()
	fi, err := os.Lstat(path)
	testkit.Must(t, err)
	if fi.Mode().Perm() != mode {
		t.Fatalf("round %d: %s has mode %v, want %v: root changed it through the attacker's link", round, path, fi.Mode().Perm(), mode)
	}
}

// Finding 1, chmod through a swapped symlink: under a directory the user
// can write, the path is refused before anything is made; in a sticky
// directory, what root makes cannot be renamed by the user, and a link or
// directory the user planted first is refused by name. Root never changes
// the mode of anything the attacker points at.
func TestAttackChmodThroughSymlink(t *testing.T) {
	root := attackRoot(t)
	secret, file := secretDir(t, root)
	home := filepath.Join(root, "home")
	mkdirOwned(t, home, 0o755, 0)
	alice := filepath.Join(home, "alice")
	mkdirOwned(t, alice, 0o755, nobody)
	sticky := filepath.Join(root, "sticky")
	mkdirOwned(t, sticky, os.ModeSticky|0o777, 0)
	startAttacker(t, secret, filepath.Join(alice, "mnt"), filepath.Join(sticky, "archil"))
	log := logline.Discard()

	t.Run("user-writable parent", func(t *testing.T) {
		cfg := preflightConfig(filepath.Join(alice, "mnt", "data"))
		for i := range raceRounds {
			err := Preflight(cfg, log, nil)
			if err == nil || !strings.Contains(err.Error(), alice+" is owned by uid 65534 (mode 0755)") {
				t.Fatalf("round %d: %v, want the refusal naming %s, its owner and mode", i, err, alice)
			}
			assertMode(t, secret, 0o700, i)
			assertMode(t, file, 0o600, i)
			assertNothingOfRoot(t, alice, i)
		}
	})

	t.Run("sticky parent", func(t *testing.T) {
		cfg := preflightConfig(filepath.Join(sticky, "archil", "data"))
		made, refused := 0, 0
		for i := range raceRounds {
			clearAs(t, filepath.Join(sticky, "archil"))
			err := Preflight(cfg, log, nil)
			switch {
			case err == nil:
				made++
				for _, d := range []string{filepath.Join(sticky, "archil"), cfg.MountPoint} {
					fi, err := os.Lstat(d)
					testkit.Must(t, err)
					if st := fi.Sys().(*syscall.Stat_t); !fi.IsDir() || st.Uid != 0 || fi.Mode().Perm() != 0o755 {
						t.Fatalf("round %d: %s is %v uid %d, want root's 0755 directory", i, d, fi.Mode(), st.Uid)
					}
				}
			case refusedEntry(err, filepath.Join(sticky, "archil")):
				refused++
			default:
				t.Fatalf("round %d: unexpected error %v", i, err)
			}
			assertMode(t, secret, 0o700, i)
			assertMode(t, file, 0o600, i)
		}
		t.Logf("%d rounds: %d made the mount point, %d refused the attacker's entry", raceRounds, made, refused)
	})
}

// preflightConfig is a config for Preflight alone at mp.
func preflightConfig(mp string) *config.Config {
	return &config.Config{Name: "test", MountPoint: mp, Archil: "/bin/false", StopTimeout: time.Second}
}

// assertNothingOfRoot fails when root made anything under dir.
func assertNothingOfRoot(t *testing.T, dir string, round int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	testkit.Must(t, err)
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue // the attacker removed it meanwhile
		}
		if fi.Sys().(*syscall.Stat_t).Uid == 0 {
			t.Fatalf("round %d: root made %s under a user's directory", round, filepath.Join(dir, e.Name()))
		}
	}
}

// clearAs removes path and what is below it, whoever made it: the state
// before a round.
func clearAs(t *testing.T, path string) {
	t.Helper()
	for range 100 {
		if err := os.RemoveAll(path); err == nil {
			if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
				return
			}
		}
	}
}

// Finding 2, a mount redirected outside the validated path: in a sticky
// directory, a mount point the attacker planted as a symlink is refused,
// one root made cannot be swapped for a link between the check and the
// client's mount, and under a user's directory the path is refused. No
// archil mount ever appears anywhere but at the mount point.
func TestAttackMountRedirect(t *testing.T) {
	bin := buildFake(t, t.TempDir())
	root := attackRoot(t)
	decoy := filepath.Join(root, "decoy")
	mkdirOwned(t, decoy, 0o755, nobody)
	sticky := filepath.Join(root, "sticky")
	mkdirOwned(t, sticky, os.ModeSticky|0o777, 0)
	home := filepath.Join(root, "alice")
	mkdirOwned(t, home, 0o755, nobody)
	mp := filepath.Join(sticky, "mnt")
	startAttacker(t, decoy, mp, filepath.Join(home, "mnt"))

	f := newFixture(t, bin)
	t.Cleanup(func() { detachUnder(t, root) })
	mounted, refused := 0, 0
	for i := range raceRounds {
		clearAs(t, mp)
		if i%2 == 0 {
			// Half the rounds start with root's mount point in place: the
			// attacker can then only try to rename it away.
			_ = os.Mkdir(mp, 0o755)
		}
		f.cfg.MountPoint = mp
		r := f.start()
		if err, ready := readyOrDone(t, r); !ready {
			if err == nil || !refusedEntry(err, mp) {
				t.Fatalf("round %d: %v, want a refusal naming %s", i, err, mp)
			}
			refused++
		} else {
			mounted++
			assertOnlyMountAt(t, mp, i)
			if err := r.stop(); err != nil {
				t.Fatalf("round %d: stop: %v\n%s", i, err, f.out)
			}
		}
		if n := archilMounts(t); n != 0 {
			t.Fatalf("round %d: %d archil mounts left", i, n)
		}
	}
	t.Logf("%d rounds: %d mounted at %s, %d refused the attacker's link", raceRounds, mounted, mp, refused)
	if mounted == 0 {
		t.Fatal("no round mounted: the swap after the check was never tried")
	}

	f.cfg.MountPoint = filepath.Join(home, "mnt")
	for i := range raceRounds {
		err := Preflight(f.cfg, logline.Discard(), nil)
		if err == nil || !strings.Contains(err.Error(), home+" is owned by uid 65534") {
			t.Fatalf("round %d: %v, want the refusal naming %s", i, err, home)
		}
	}
}

// refusedEntry reports whether err refuses the entry at p that another
// user planted.
func refusedEntry(err error, p string) bool {
	for _, why := range []string{" is not a real directory", " is owned by uid 65534", " keeps appearing and vanishing"} {
		if strings.Contains(err.Error(), p+why) {
			return true
		}
	}
	return false
}

// readyOrDone waits for the run's READY=1 (ready) or its end (its error).
func readyOrDone(t *testing.T, r *running) (error, bool) {
	t.Helper()
	timeout := time.After(hangGuard)
	for {
		select {
		case err := <-r.done:
			r.done <- err // for the cleanup's wait
			return err, false
		case n := <-r.f.notes:
			if strings.Contains(n, "READY=1") {
				return nil, true
			}
		case <-timeout:
			t.Fatalf("neither READY=1 nor an end within %s\n%s", hangGuard, r.f.out)
		}
	}
}

// assertOnlyMountAt fails unless the only archil mount is at mp.
func assertOnlyMountAt(t *testing.T, mp string, round int) {
	t.Helper()
	data, err := os.ReadFile(mountinfo.Path)
	testkit.Must(t, err)
	for line := range strings.Lines(string(data)) {
		e, err := mountinfo.ParseLine(strings.TrimSuffix(line, "\n"))
		testkit.Must(t, err)
		if e.FSType == archilFSType && e.MountPoint != mp {
			t.Fatalf("round %d: an archil mount at %s, not at %s", round, e.MountPoint, mp)
		}
	}
	if top, err := mountinfo.CurrentTop(mp); err != nil || !isArchil(top) {
		t.Fatalf("round %d: no archil mount at %s: %+v %v", round, mp, top, err)
	}
}

// Finding 5, two launchers of one mount point: started at once, one gets
// the lock and mounts, the other is refused naming the holder, and never
// unmounts the first one's live mount.
func TestTwoLaunchersOneMountPoint(t *testing.T) {
	bin := buildFake(t, t.TempDir())
	f := newFixture(t, bin)
	second := *f.cfg
	second.Name = "other"
	for i := range raceRounds {
		a := f.start()
		b := startWith(f, &second)
		var winner *running
		var loser error
		for winner == nil || loser == nil {
			select {
			case err := <-a.done:
				a.done <- err // for the cleanup's wait
				loser, winner = err, b
			case err := <-b.done:
				b.done <- err
				loser, winner = err, a
			case <-time.After(hangGuard):
				t.Fatalf("round %d: neither launcher gave up\n%s", i, f.out)
			}
		}
		var locked *LockedError
		if !errors.As(loser, &locked) || locked.Holder != os.Getpid() || !strings.Contains(loser.Error(), "holds its lock") {
			t.Fatalf("round %d: the second launcher returned %v, want it refused naming the holder %d", i, loser, os.Getpid())
		}
		winner.waitReady()
		if err := winner.stop(); err != nil {
			t.Fatalf("round %d: %v\n%s", i, err, f.out)
		}
	}
	mounts, unmounts := 0, 0
	for _, c := range f.calls() {
		switch {
		case slices.Contains(c.Argv, "mount"):
			mounts++
		case slices.Contains(c.Argv, "unmount"):
			unmounts++
		}
	}
	if mounts != raceRounds || unmounts != raceRounds {
		t.Errorf("%d mount and %d unmount calls, want %d each: one launcher per round, stopped once", mounts, unmounts, raceRounds)
	}
}

// startWith is f.start for another config of the same fixture.
func startWith(f *fixture, cfg *config.Config) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{f: f, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- run(ctx, nil, cfg, f.logger(), f.result()) }()
	f.t.Cleanup(cancel)
	return r
}
