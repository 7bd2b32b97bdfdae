package launcher

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archil-nix/archil-launch/internal/testkit"
)

// TestBinary runs the archil-launch binary as systemd would and checks
// what only a separate process shows: exit statuses, the one-line error,
// SIGTERM, and a start after the previous launcher was SIGKILLed.
func TestBinary(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("no /dev/fuse: %v", err)
	}
	dir := t.TempDir()
	bin := buildFake(t, dir)
	launch := buildLauncher(t, dir)

	t.Run("SIGTERM", func(t *testing.T) {
		f := newFixture(t, bin)
		f.knob("flush-delay", "600")
		cmd := f.startBinary(launch)
		waitNoteOnly(t, f, "READY=1")
		// No core dump, not even to a core_pattern pipe, of the launcher
		// or of the client that has the token in its environment.
		for _, pid := range []int{cmd.Process.Pid, f.mountPid()} {
			limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
			testkit.Must(t, err)
			if !regexp.MustCompile(`Max core file size +1 +1 +bytes`).Match(limits) {
				t.Errorf("pid %d core limit is not 1 byte:\n%s", pid, limits)
			}
		}
		testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "a"), []byte("a"), 0o644))
		testkit.Must(t, cmd.Process.Signal(syscall.SIGTERM))
		if err := f.waitBinary(cmd); err != nil {
			t.Fatalf("archil-launch: %v\n%s", err, f.out)
		}
		if b, err := os.ReadFile(filepath.Join(f.state, "backing", "acme_data", "a")); err != nil || string(b) != "a" {
			t.Errorf("backing store has %q, %v", b, err)
		}
		f.assertClean(nil)
	})

	// A descriptor the launcher inherited does not reach the client, and a
	// hangup stops the mount as cleanly as SIGTERM.
	t.Run("InheritedFDAndSIGHUP", func(t *testing.T) {
		f := newFixture(t, bin)
		// Whoever runs the tests (nohup, a CI runner) may have left SIGHUP
		// ignored, and the launcher would inherit that.
		f.wrapper = []string{"env", "--default-signal=HUP"}
		stray, err := os.CreateTemp(f.dir, "stray")
		testkit.Must(t, err)
		defer stray.Close()
		cmd := f.startBinary(launch, stray)
		waitNoteOnly(t, f, "READY=1")
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", f.mountPid()))
		testkit.Must(t, err)
		for _, fd := range fds {
			if target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", f.mountPid(), fd.Name())); target == stray.Name() {
				t.Errorf("the client inherited the launcher's descriptor %s (%s)", fd.Name(), target)
			}
		}
		testkit.Must(t, cmd.Process.Signal(syscall.SIGHUP))
		if err := f.waitBinary(cmd); err != nil {
			t.Fatalf("archil-launch after SIGHUP: %v\n%s", err, f.out)
		}
		f.assertClean(nil)
	})

	// Under nohup a hangup was meant to be ignored: the mount stays.
	t.Run("SIGHUPUnderNohup", func(t *testing.T) {
		f := newFixture(t, bin)
		f.wrapper = []string{"nohup"}
		cmd := f.startBinary(launch)
		waitNoteOnly(t, f, "READY=1")
		testkit.Must(t, cmd.Process.Signal(syscall.SIGHUP))
		time.Sleep(200 * time.Millisecond) // a stop would have begun by now
		f.assertMounted()
		testkit.Must(t, cmd.Process.Signal(syscall.SIGTERM))
		if err := f.waitBinary(cmd); err != nil {
			t.Fatalf("archil-launch: %v\n%s", err, f.out)
		}
		if strings.Count(f.out.String(), "stopping:") != 1 {
			t.Errorf("want one stop, by SIGTERM:\n%s", f.out)
		}
		f.assertClean(nil)
	})

	t.Run("ChildFailure", func(t *testing.T) {
		f := newFixture(t, bin)
		f.knob("crash-after", "0.5")
		cmd := f.startBinary(launch)
		err := f.waitBinary(cmd)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 3 {
			t.Fatalf("archil-launch: %v, want exit status 3\n%s", err, f.out)
		}
		var errLines []string
		for _, l := range strings.Split(f.out.String(), "\n") {
			if strings.HasPrefix(l, "archil-launch: error: ") {
				errLines = append(errLines, l)
			}
		}
		if len(errLines) != 1 || !strings.Contains(errLines[0], "exit status 3") || !strings.Contains(errLines[0], "crashing") {
			t.Errorf("error lines %q, want one with the status and the client's last stderr", errLines)
		}
		f.assertClean(nil)
	})

	t.Run("RestartAfterSIGKILL", func(t *testing.T) {
		f := newFixture(t, bin)
		cmd := f.startBinary(launch)
		waitNoteOnly(t, f, "READY=1")
		testkit.Must(t, cmd.Process.Kill())
		_ = f.waitBinary(cmd)
		// Whatever the killed launcher left (its client gets SIGTERM
		// from the kernel; a live or dead mount may remain), the next
		// start must get the mount up again.
		cmd = f.startBinary(launch)
		waitNoteOnly(t, f, "READY=1")
		f.assertMounted()
		testkit.Must(t, cmd.Process.Signal(syscall.SIGTERM))
		if err := f.waitBinary(cmd); err != nil {
			t.Fatalf("archil-launch: %v\n%s", err, f.out)
		}
		f.assertClean(nil)
	})
}
