//go:build e2e

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFaults breaks the client and the launcher in the ways the design
// names, on the token golden whose credential comes from a root-only file
// (the agenix style), with a drop-in that shortens the restart delays.
func TestFaults(t *testing.T) {
	s := setup(t)
	g := needGolden(t, s, credFile)
	m := g.mnt()
	c := NewContainer(t)
	// Golden: RestartSec=10, RestartSteps=5, RestartMaxDelaySec=300. Keep
	// the steps, shrink the range to 0.5s .. 16s: each delay doubles, a
	// growth that stands out from PID 1's timer slack (up to 250ms).
	c.DropIn(g.Unit, "60-fast-restart", "[Service]\nRestartSec=500ms\nRestartMaxDelaySec=16s\n")
	hang := c.TemplateMount("hang", "token", map[string]any{"stopTimeoutSec": 3})
	c.Boot()

	t.Run("fail-first-3", func(t *testing.T) {
		c := c.T(t)
		c.Knob("fail-first", "3")
		c.Remove(fakeState + "/attempts")
		n0 := len(c.Calls(m.MP))
		since := c.Now()
		start := time.Now()
		c.MustSh("systemctl start --no-block " + g.Unit)
		c.WaitState(g.Unit, "active", 60*time.Second)
		record("fault: 3 failed mounts, then active after", ms(time.Since(start)))
		c.Knob("fail-first", "")
		c.AssertUp(m)
		var mounts []time.Time
		for _, call := range c.Calls(m.MP)[n0:] {
			if call.Sub() == "mount" {
				mounts = append(mounts, call.Time)
			}
		}
		if len(mounts) != 4 {
			t.Fatalf("want 4 mount attempts (3 failures, 1 success), got %d", len(mounts))
		}
		var gaps []string
		for i := 1; i < len(mounts); i++ {
			gaps = append(gaps, ms(mounts[i].Sub(mounts[i-1])))
		}
		t.Logf("time between mount attempts: %v", gaps)
		record("fault: gaps between attempts (RestartSec=0.5s..16s, 5 steps)", strings.Join(gaps, ", "))
		g1, g2, g3 := mounts[1].Sub(mounts[0]), mounts[2].Sub(mounts[1]), mounts[3].Sub(mounts[2])
		if !(g2 > g1+200*time.Millisecond && g3 > g2+200*time.Millisecond) {
			t.Errorf("restart delays do not grow: %v", gaps)
		}
		j := c.Journal("-u", g.Unit, "--since", since)
		var sched []string
		for _, l := range strings.Split(j, "\n") {
			if strings.Contains(l, "Scheduled restart job") {
				sched = append(sched, l)
			}
		}
		t.Logf("journal:\n%s", strings.Join(sched, "\n"))
		if len(sched) != 3 {
			t.Errorf("want 3 'Scheduled restart job' lines, got %d", len(sched))
		}
	})

	t.Run("kill-9-client", func(t *testing.T) {
		c := c.T(t)
		c.WaitState(g.Unit, "active", 10*time.Second)
		nr := c.PropInt(g.Unit, "NRestarts")
		launcher := c.MainPID(g.Unit)
		client := c.clientPID(launcher)
		since, start := c.Now(), time.Now()
		c.MustSh(fmt.Sprintf("kill -9 %d", client))
		c.WaitFor("an automatic restart", 30*time.Second, func() bool { return c.PropInt(g.Unit, "NRestarts") > nr })
		c.WaitState(g.Unit, "active", 30*time.Second)
		record("fault: kill -9 client, back to active after", ms(time.Since(start)))
		c.AssertUp(m)
		j := c.Journal("-u", g.Unit, "--since", since)
		if !strings.Contains(j, "Main process exited, code=exited, status=") || strings.Contains(j, "status=0/SUCCESS") {
			t.Errorf("the launcher did not exit non-zero after the client died:\n%s", tail(j, 30))
		}
		if c.MainPID(g.Unit) == launcher {
			t.Error("same launcher still running")
		}
	})

	t.Run("mount-dropped", func(t *testing.T) {
		c := c.T(t)
		c.Knob("drop-after", "2")
		// The launcher's PID in the same breath as the restart, and then a
		// new main process, not a grown NRestarts: on a slow machine the
		// drop may come before a separate first look.
		out := c.MustSh(fmt.Sprintf("systemctl restart %[1]s && systemctl show -P MainPID %[1]s", g.Unit))
		since := time.Now()
		c.Knob("drop-after", "") // only this mount drops
		launcher, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil || launcher == 0 {
			t.Fatalf("MainPID after restart: %q", out)
		}
		c.WaitFor("a new launcher", 30*time.Second, func() bool {
			pid := c.MainPID(g.Unit)
			return pid != 0 && pid != launcher
		})
		c.WaitState(g.Unit, "active", 30*time.Second)
		record("fault: mount dropped, back to active after", ms(time.Since(since)))
		c.AssertUp(m)
		if n := c.PropInt(g.Unit, "NRestarts"); n < 1 {
			t.Errorf("NRestarts = %d after the drop; want an automatic restart", n)
		}
		if j := c.Journal(fmt.Sprintf("_PID=%d", launcher)); !strings.Contains(j, "disappeared while archil was running") {
			t.Errorf("launcher %d did not report the dropped mount:\n%s", launcher, tail(j, 20))
		}
	})

	t.Run("kill-9-launcher", func(t *testing.T) {
		c := c.T(t)
		// Writes held back by the client, until `archil unmount`: only the
		// stop hook (ExecStopPost, the client left alive by
		// KillMode=process) can flush them once the launcher is dead.
		pending := c.pendingWrite(g.Unit, m)
		nr := c.PropInt(g.Unit, "NRestarts")
		launcher := c.MainPID(g.Unit)
		client := c.clientPID(launcher)
		since, start := c.Now(), time.Now()
		c.MustSh(fmt.Sprintf("kill -9 %d", launcher))
		defer func() {
			j := c.Journal("-u", g.Unit, "--since", since)
			b, _ := c.ReadFile(backingPath(m.Disk) + "/pending.txt")
			kept := "lost"
			if strings.Contains(string(b), pending) {
				kept = "kept"
			} else {
				t.Errorf("the write pending when the launcher was killed is not in the backing store (%q)\n%s", b, tail(j, 40))
			}
			record("fault: kill -9 launcher, a write pending in the client was", kept)
			if !strings.Contains(j, "the launcher is gone and its archil mount is still there") ||
				!strings.Contains(j, "archil unmount flushed the leftover mount") {
				t.Errorf("the stop hook did not flush the mount the launcher left:\n%s", tail(j, 40))
			}
			// The client's own words while it flushed: read by the hook
			// from the pipe the dead launcher no longer drains.
			if !strings.Contains(j, fmt.Sprintf("archil-fake[%d]: info: unmounting", client)) {
				t.Errorf("the client's output during the hook's flush is not in the journal:\n%s", tail(j, 40))
			}
			if _, err := c.Sh(fmt.Sprintf("test -e /proc/%d", client)); err == nil {
				t.Errorf("the killed launcher's client %d is still alive", client)
			}
		}()
		c.WaitFor("an automatic restart", 120*time.Second, func() bool { return c.PropInt(g.Unit, "NRestarts") > nr })
		c.WaitState(g.Unit, "active", 30*time.Second)
		record("fault: kill -9 launcher, back to active after", ms(time.Since(start)))
		c.AssertUp(m)
		if p := c.UnitPIDs(g.Unit); len(p) != 2 {
			t.Errorf("want launcher + client, got %v", p)
		}
	})

	c.Stop(g.Unit)
	c.AssertDown(m)

	t.Run("unmount-hangs", func(t *testing.T) {
		c := c.T(t)
		c.Start(hang.Unit)
		c.AssertUp(hang)
		c.Knob("unmount-hang", "1")
		defer c.Knob("unmount-hang", "")
		d := c.Stop(hang.Unit)
		record("fault: stop with a hanging `archil unmount` (stopTimeoutSec=3)", ms(d))
		if d < 3*time.Second || d > 15*time.Second {
			t.Errorf("stop took %s; want it bounded by stopTimeoutSec=3 (plus fallback), far below TimeoutStopSec", d)
		}
		c.AssertDown(hang)
		if out, _ := c.Sh(`for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = archil ] && echo ${p#/proc/}; done; true`); strings.TrimSpace(out) != "" {
			t.Errorf("archil processes left: %s", out)
		}
		j := c.Journal("-u", hang.Unit, "-n", "30")
		if !strings.Contains(strings.ToLower(j), "lost") {
			t.Errorf("the log does not say pending writes may be lost:\n%s", j)
		}
		t.Logf("Result=%s ExecMainStatus=%s", c.Prop(hang.Unit, "Result"), c.Prop(hang.Unit, "ExecMainStatus"))
	})

	// The launcher killed with a write pending, and the machine powered
	// off at once: the stop hook flushes during the shutdown, which it
	// does not hold up (no process left for systemd to wait on).
	t.Run("kill-9-launcher-then-poweroff", func(t *testing.T) {
		c := c.T(t)
		pending := c.pendingWrite(g.Unit, m)
		c.MustSh(fmt.Sprintf("kill -9 %d", c.MainPID(g.Unit)))
		d, console := c.Poweroff()
		record("fault: kill -9 launcher, then poweroff took", ms(d))
		if d > 90*time.Second {
			t.Errorf("poweroff took %s, beyond the unit's TimeoutStopSec: something held it up\n%s", d, tail(console, 30))
		}
		if b, err := c.ReadFile(backingPath(m.Disk) + "/pending.txt"); err != nil || !strings.Contains(string(b), pending) {
			t.Errorf("the write pending when the launcher was killed is not in the backing store after the poweroff (%v, %q)", err, b)
		}
	})
}

// pendingWrite restarts unit with the client holding writes back (until
// `archil unmount`) and writes pending.txt through m: it returns what it
// wrote, which only a flush puts into the backing store.
func (c *Container) pendingWrite(unit string, m mnt) string {
	c.t.Helper()
	c.Knob("flush-delay", "600")
	c.MustSh("systemctl restart " + unit)
	c.Knob("flush-delay", "")
	c.WaitState(unit, "active", 10*time.Second)
	pending := fmt.Sprintf("pending-%d", time.Now().UnixNano())
	c.MustSh(fmt.Sprintf("echo %s > %q/pending.txt", pending, m.MP))
	return pending
}

// clientPID returns the archil client under a launcher.
func (c *Container) clientPID(launcher int) int {
	c.t.Helper()
	for _, p := range c.Children(launcher) {
		comm, _ := c.Sh(fmt.Sprintf("cat /proc/%d/comm", p))
		if strings.TrimSpace(comm) == "archil" {
			return p
		}
	}
	c.t.Fatalf("no archil child under launcher %d", launcher)
	return 0
}
