//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCredentialRotation runs restartOnCredentialChange on the data golden,
// whose token file /run/agenix/archil-data is made as agenix makes it (a
// generation directory, /run/agenix a symlink to it). A touch and the same
// token moved into place restart nothing; a new token moved into place
// (mv -f, as agenix does with symlink = false, and most tools that write a
// file atomically), while a write is held back, remounts the disk: the
// write reaches the backing store (the stop flushed it) and the client runs
// with the new token (archil-fake's expect-token accepts only that one).
// Last, agenix's default activation (a new generation directory, the
// symlink switched, the old generation removed) is measured: systemd's
// path unit re-watches on the symlink's change before the removal reaches
// it, so it is seen only by chance; the README says so.
func TestCredentialRotation(t *testing.T) {
	s := setup(t)
	g := needGolden(t, s, credFile)
	m := g.mnt()
	if len(g.Creds) != 1 || !strings.HasPrefix(g.Creds[0].Path, agenixDir+"/") {
		t.Fatalf("%s: want one credential under %s, have %+v", g.Unit, agenixDir, g.Creds)
	}
	file := g.Creds[0].Path
	name := strings.TrimPrefix(file, agenixDir+"/")
	watch := "archil-token-" + g.Name
	c := NewContainer(t)
	c.EnableGoldens(g.Unit, watch+".path")
	c.Knob("flush-delay", "600")
	c.Boot()
	c.WaitState(g.Unit, "active", 30*time.Second)
	c.WaitState(watch+".path", "active", 10*time.Second)

	invocation := func() string { return c.Prop(g.Unit, "InvocationID") }
	// triggered waits for the watch service to have run once more than n
	// times, and returns how it ended.
	runs := func() int { return strings.Count(c.Journal("-u", watch+".service"), "Starting ") }
	triggered := func(c *Container, n int) string {
		c.t.Helper()
		c.WaitFor(watch+".service to run", 10*time.Second, func() bool { return runs() > n })
		c.WaitFor(watch+".service to finish", 10*time.Second, func() bool {
			st := c.Prop(watch+".service", "ActiveState")
			return st == "inactive" || st == "failed"
		})
		return c.Prop(watch+".service", "Result")
	}
	// moveIntoPlace writes token next to the file and renames it over it.
	moveIntoPlace := func(c *Container, token string) {
		c.t.Helper()
		c.ShIn([]byte(token+"\n"), fmt.Sprintf("umask 077 && cat > %[1]s.tmp && chmod 0400 %[1]s.tmp && mv -f %[1]s.tmp %[1]s", file))
	}
	// agenix activation n: the secrets of a new generation, the symlink
	// switched to it, the previous generation removed.
	activate := func(c *Container, n int, token string) {
		c.t.Helper()
		gen, prev := agenixGeneration(n), agenixGeneration(n-1)
		c.ShIn([]byte(token+"\n"), fmt.Sprintf("umask 077 && mkdir -p %s && cat > %s/%s && chmod 0400 %s/%s && ln -sfT %s %s && rm -rf %s",
			gen, gen, name, gen, name, gen, agenixDir, prev))
	}

	t.Run("touch", func(t *testing.T) {
		c := c.T(t)
		before, n := invocation(), runs()
		c.MustSh("touch " + file)
		if r := triggered(c, n); r != "success" && r != "exec-condition" {
			t.Errorf("%s.service ended with %s", watch, r)
		}
		if invocation() != before {
			t.Errorf("a touch of %s restarted %s", file, g.Unit)
		}
		t.Logf("touch: %s ran (PathChanged fires on the close of a write), skipped the restart: %q",
			watch+".service", lastLine(c.Journal("-u", watch+".service")))
	})

	t.Run("same-token", func(t *testing.T) {
		c := c.T(t)
		before, n := invocation(), runs()
		moveIntoPlace(c, s.token)
		triggered(c, n)
		if invocation() != before {
			t.Errorf("the same token moved into place restarted %s", g.Unit)
		}
	})

	t.Run("new-token", func(t *testing.T) {
		c := c.T(t)
		before, n, calls0 := invocation(), runs(), len(c.Calls(m.MP))
		data := fmt.Sprintf("rotation-%d", time.Now().UnixNano())
		c.MustSh(fmt.Sprintf("echo %s > %q/rotation.txt", data, m.MP))
		if b, err := c.ReadFile(backingPath(m.Disk) + "/rotation.txt"); err == nil && strings.Contains(string(b), data) {
			t.Fatal("the write reached the backing store at once: flush-delay knob not working")
		}
		rotated := s.token + "-rotated"
		c.WriteFile(fakeState+"/expect-token", []byte(rotated), 0o600)
		start := time.Now()
		moveIntoPlace(c, rotated)
		if r := triggered(c, n); r != "success" {
			t.Errorf("%s.service ended with %s:\n%s", watch, r, c.Journal("-u", watch+".service"))
		}
		c.WaitFor("a new invocation of "+g.Unit, 30*time.Second, func() bool { return invocation() != before })
		c.WaitState(g.Unit, "active", 30*time.Second)
		record("rotation: new token file to remounted", ms(time.Since(start)))
		c.AssertUp(m)
		if b, err := c.ReadFile(backingPath(m.Disk) + "/rotation.txt"); err != nil || !strings.Contains(string(b), data) {
			t.Errorf("the write pending at the rotation is not in the backing store (%v, %q)", err, b)
		}
		calls := c.Calls(m.MP)[calls0:]
		if !hasUnmount(calls, m.MP) {
			t.Errorf("no archil unmount (the flushing stop) before the remount")
		}
		last := calls[len(calls)-1]
		if last.Sub() != "mount" || last.TokenLen != len(rotated) {
			t.Errorf("the client's last call %v has a token of %d bytes, want the new one's %d", last.Argv, last.TokenLen, len(rotated))
		}
		s.GrepToken(t, "the journal", c.Journal("-b", "-o", "verbose"))
		if strings.Contains(c.Journal("-b", "-o", "verbose"), rotated) {
			t.Errorf("TOKEN LEAK: the rotated token is in the journal")
		}
	})

	t.Run("agenix-generation", func(t *testing.T) {
		c := c.T(t)
		before, n := invocation(), runs()
		third := s.token + "-third"
		c.WriteFile(fakeState+"/expect-token", []byte(third), 0o600)
		activate(c, 2, third)
		seen := "missed"
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && seen == "missed" {
			if runs() > n {
				seen = "seen"
			}
			time.Sleep(100 * time.Millisecond)
		}
		record("rotation: agenix generation switch seen by the path unit", seen)
		t.Logf("agenix's generation switch: %s by %s.path (restarted: %v)", seen, watch, invocation() != before)
		c.MustSh("systemctl try-restart " + g.Unit)
		c.WaitState(g.Unit, "active", 30*time.Second)
		c.AssertUp(m)
	})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
