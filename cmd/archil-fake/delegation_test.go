package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archil-nix/archil-launch/internal/testkit"
)

const (
	heldMsg    = "is checked out by another client"
	expiresMsg = "went away without unmounting"
)

// refused runs a mount that must fail on the delegation, quickly, and
// returns its stderr.
func (f *fake) refused(mp, want string, extra ...string) string {
	f.t.Helper()
	start := time.Now()
	stderr, code := f.run(append([]string{"mount", disk, mp, "--region", region}, extra...)...)
	if code != 1 || !strings.HasPrefix(stderr, "error: mount failed: disk "+disk+" ") || !strings.Contains(stderr, want) {
		f.t.Errorf("second writer at %s: exit %d, want 1 and %q\n%s", mp, code, want, stderr)
	}
	if d := time.Since(start); d > quickly {
		f.t.Errorf("refusal took %v", d)
	}
	if mounted(mp) {
		f.t.Errorf("second writer mounted at %s", mp)
	}
	return stderr
}

// A writer, a read-only and a shared mount of one disk are all up; a
// second writer is refused; the read-only one serves no writes.
func testCoexist(t *testing.T, f *fake) {
	f.knob("flush-delay", "600")
	ro, shared, other := f.mountPoint("ro"), f.mountPoint("shared"), f.mountPoint("other")
	w := f.startServer()
	writeFile(t, filepath.Join(f.mp, "pending"), "from the writer")
	r := f.startAt(ro, "--read-only")
	sh := f.startAt(shared, "--shared")
	f.refused(other, heldMsg)
	f.refused(other, heldMsg, "--no-fork")

	// One cache: the read-only mount did not drop the writer's pending
	// write, and shows it.
	for _, mp := range []string{f.mp, ro, shared} {
		if got := readFile(t, filepath.Join(mp, "pending")); got != "from the writer" {
			t.Errorf("%s shows %q", mp, got)
		}
	}
	for name, op := range map[string]func(string) error{
		"create": func(mp string) error { return os.WriteFile(filepath.Join(mp, "new"), []byte("x"), 0o644) },
		"append": func(mp string) error {
			fh, err := os.OpenFile(filepath.Join(mp, "pending"), os.O_WRONLY|os.O_APPEND, 0)
			if err == nil {
				fh.Close()
			}
			return err
		},
		"mkdir":  func(mp string) error { return os.Mkdir(filepath.Join(mp, "d"), 0o755) },
		"remove": func(mp string) error { return os.Remove(filepath.Join(mp, "pending")) },
		"rename": func(mp string) error { return os.Rename(filepath.Join(mp, "pending"), filepath.Join(mp, "p2")) },
		"chmod":  func(mp string) error { return os.Chmod(filepath.Join(mp, "pending"), 0o600) },
	} {
		if err := op(ro); !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s through the read-only mount: %v, want EROFS", name, err)
		}
	}
	if opts := mountOptions(ro); !strings.HasPrefix(opts, "ro,") {
		t.Errorf("read-only mount has options %q", opts)
	}
	if opts := mountOptions(f.mp); !strings.HasPrefix(opts, "rw,") {
		t.Errorf("writer has options %q", opts)
	}
	f.mustRun("unmount", ro)
	f.mustRun("unmount", shared)
	f.mustRun("unmount", f.mp)
	for _, s := range []*fgServer{w, r, sh} {
		if code := s.wait(t); code != 0 {
			t.Errorf("exit %d\n%s", code, &s.stderr)
		}
	}
	if got := readFile(t, f.backing("pending")); got != "from the writer" {
		t.Errorf("backing has %q", got)
	}
	// Released by the clean unmount: another mount point may write now.
	f.startAt(other)
	f.mustRun("unmount", other)
}

// A writer killed without unmounting keeps the delegation until the ttl
// has passed since its last renewal; then it is free.
func testKilledHolder(t *testing.T, f *fake) {
	const ttl = 1.5
	f.knob("delegation-ttl", "1.5")
	other := f.mountPoint("other")
	s := f.startServer()
	s.cmd.Process.Kill()
	s.wait(t)
	killed := time.Now()
	if !strings.Contains(f.refused(other, expiresMsg), "its delegation expires in ") {
		t.Error("the refusal does not say when the delegation expires")
	}
	// Renewals are at most renewEvery apart: still held before ttl minus that.
	time.Sleep(time.Until(killed.Add(time.Duration(ttl*float64(time.Second)) - renewEvery - 300*time.Millisecond)))
	f.refused(other, expiresMsg)
	time.Sleep(time.Until(killed.Add(time.Duration(ttl * float64(time.Second)))))
	f.startAt(other)
	f.mustRun("unmount", other)
}

// The same mount point is the same client come back (a launcher's
// restart): it takes its delegation over at once, dead or alive, and so
// does --force anywhere. SIGTERM is a clean exit: it releases.
func testTakeOver(t *testing.T, f *fake) {
	f.knob("delegation-ttl", "600")
	other, third := f.mountPoint("other"), f.mountPoint("third")
	s := f.startServer()
	s.cmd.Process.Kill()
	s.wait(t)
	for mounted(f.mp) {
		testkit.Must(t, syscall.Unmount(f.mp, syscall.MNT_DETACH))
	}
	s = f.startServer() // the dead client's own mount point
	f.refused(other, heldMsg)
	forced := f.startAt(other, "--force")
	f.refused(third, heldMsg)
	forced.cmd.Process.Signal(syscall.SIGTERM)
	if code := forced.wait(t); code != 0 {
		t.Errorf("exit %d after SIGTERM\n%s", code, &forced.stderr)
	}
	// The first holder was taken over: its exit must not free what it no
	// longer holds, and nobody holds it now.
	f.startAt(third)
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.wait(t)
	f.refused(other, heldMsg)
	f.mustRun("unmount", third)
}

// delegation-strict: a client killed at a mount point keeps the
// delegation from its successor at that very mount point too; only the
// ttl or --force frees it.
func testStrictDelegation(t *testing.T, f *fake) {
	f.knob("delegation-strict", "1")
	f.knob("delegation-ttl", "600")
	s := f.startServer()
	s.cmd.Process.Kill()
	s.wait(t)
	for mounted(f.mp) {
		testkit.Must(t, syscall.Unmount(f.mp, syscall.MNT_DETACH))
	}
	f.refused(f.mp, expiresMsg)
	f.startAt(f.mp, "--force")
	f.mustRun("unmount", f.mp)
}

// Two writers of one disk started at once on two mount points: exactly
// one mounts, every round.
func testWriterRace(t *testing.T, f *fake) {
	rounds := 300
	if testing.Short() {
		rounds = 20
	}
	mps := [2]string{f.mp, f.mountPoint("other")}
	start := time.Now()
	for i := range rounds {
		var s [2]*fgServer
		for j := range s {
			s[j] = f.spawn("mount", disk, mps[j], "--region", region, "--no-fork")
		}
		winner := -1
		waitFor(t, "one winner and one loser", func() bool {
			for j := range s {
				if s[j].exited() && mounted(mps[1-j]) {
					winner = 1 - j
					return true
				}
			}
			return s[0].exited() && s[1].exited()
		})
		if winner < 0 {
			t.Fatalf("round %d: both exited\n%s\n%s", i, &s[0].stderr, &s[1].stderr)
		}
		loser := s[1-winner]
		if code := loser.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(loser.stderr.String(), heldMsg) {
			t.Fatalf("round %d: loser exit %d\n%s", i, code, &loser.stderr)
		}
		if mounted(mps[1-winner]) {
			t.Fatalf("round %d: both mounted", i)
		}
		s[winner].cmd.Process.Signal(syscall.SIGTERM)
		if code := s[winner].wait(t); code != 0 {
			t.Fatalf("round %d: winner exit %d\n%s", i, code, &s[winner].stderr)
		}
	}
	t.Logf("%d rounds in %v", rounds, time.Since(start))
}

// ignore-read-only plays a client that takes --read-only and ignores it:
// a writable mount that holds the delegation (what the launcher's own
// read-only flag is for).
func testIgnoreReadOnly(t *testing.T, f *fake) {
	f.knob("ignore-read-only", "1")
	f.startAt(f.mp, "--read-only")
	writeFile(t, filepath.Join(f.mp, "w"), "written")
	f.refused(f.mountPoint("other"), heldMsg)
	f.mustRun("unmount", f.mp)
	if got := readFile(t, f.backing("w")); got != "written" {
		t.Errorf("backing has %q", got)
	}
}

// mountOptions returns the per-mount options of the mount at mp.
func mountOptions(mp string) string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	opts := ""
	for line := range strings.Lines(string(b)) {
		fields := strings.Fields(line)
		if len(fields) > 5 && fields[4] == mp {
			opts = fields[5]
		}
	}
	return opts
}
