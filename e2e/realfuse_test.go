//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
)

// realDaemon is a real FUSE file system from Debian trixie that stands in
// for the client through e2e/archil-realfuse, under the golden unit of
// one credential kind.
type realDaemon struct {
	name  string // e2e/archil-realfuse's name for it
	pkg   string // its Debian package
	stack string
	kind  string // the golden it runs under
	// underPrivileged is what fails under the old SystemCallFilter=
	// ~@privileged (the control): "mount" or "unmount".
	underPrivileged string
}

var realDaemons = []realDaemon{
	{"bindfs", "bindfs", "libfuse2", credFile, "unmount"},
	{"convmvfs", "fuse-convmvfs", "libfuse3", credEncrypted, "mount"},
	{"rclone", "rclone", "Go through fusermount3", credImport, "mount"},
}

// realfuseDir holds the clients' symlinks to /usr/local/bin/archil-realfuse
// (the name picks the daemon) and, in subtype/, its fusermount helper
// (e2e/archil-realfuse's subtypeDir).
const realfuseDir = "/usr/local/lib/archil-e2e"

func (d realDaemon) client() string { return realfuseDir + "/archil-" + d.name }

func (d realDaemon) label() string { return d.name + " (" + d.stack + ")" }

// realMount is one daemon under its golden.
type realMount struct {
	realDaemon
	mnt
	g *golden
}

// TestRealFUSE runs each real daemon as the client of a golden unit (the
// unit as rendered; only the mount config's client path differs, as
// services.archil.package would set it): it must mount, be seen by PID 1,
// keep a write through stop and through poweroff, and stop cleanly with
// `archil unmount` (no fallback). The control puts the old
// SystemCallFilter=~@privileged back and sees each daemon fail.
func TestRealFUSE(t *testing.T) {
	s := setup(t)
	c := NewContainer(t)
	var mounts []realMount
	for _, d := range realDaemons {
		g := needGolden(t, s, d.kind)
		c.Symlink("/usr/local/bin/archil-realfuse", d.client())
		c.useClient(g, d.client())
		mounts = append(mounts, realMount{d, g.mnt(), g})
	}
	c.Symlink("/usr/local/bin/archil-realfuse", realfuseDir+"/subtype/fusermount")
	c.Boot()
	c.recordDaemons()

	t.Run("stop", func(t *testing.T) {
		c := c.T(t)
		for _, m := range mounts {
			since := c.Now()
			d := c.Start(m.Unit)
			record("real FUSE: start to READY: "+m.label(), ms(d))
			c.AssertUp(m.mnt)
			c.assertRealMount(m)
			data := fmt.Sprintf("stop-%d", time.Now().UnixNano())
			c.MustSh(fmt.Sprintf("echo %s > %q/stop.txt", data, m.MP))
			d = c.Stop(m.Unit)
			record("real FUSE: stop (archil unmount, exit 0): "+m.label(), ms(d))
			c.AssertDown(m.mnt)
			c.assertBacking(m, "stop.txt", data)
			c.assertCleanStop(m, since)
		}
	})

	data := map[string]string{}
	t.Run("poweroff: write", func(t *testing.T) {
		c := c.T(t)
		for _, m := range mounts {
			c.EnableGoldens(m.Unit)
			c.Start(m.Unit)
			data[m.Unit] = fmt.Sprintf("poweroff-%d", time.Now().UnixNano())
			c.MustSh(fmt.Sprintf("echo %s > %q/poweroff.txt", data[m.Unit], m.MP))
		}
	})
	shutdown := c.Now()
	d, console := c.Poweroff()
	record("real FUSE: poweroff with 3 mounts", ms(d))
	t.Run("poweroff: backing store", func(t *testing.T) {
		c := c.T(t)
		for _, m := range mounts {
			c.assertBacking(m, "poweroff.txt", data[m.Unit])
		}
	})
	c.Boot()
	t.Run("poweroff: journal", func(t *testing.T) {
		c := c.T(t)
		j := c.MustSh("journalctl --no-pager -b -1 -o short-monotonic --since " + shutdown)
		untouched := 0
		defer func() {
			// With the mount gone before systemd looks, it logs no
			// "Unmounting"; when it looks first, its umount finds "not
			// mounted". Either is safe once the order holds.
			record("real FUSE: poweroff: systemd found nothing left to unmount", fmt.Sprintf("%d of %d mounts", untouched, len(mounts)))
		}()
		for _, m := range mounts {
			// The order: archil unmount finished, the unit stopped, then
			// (if at all) systemd's umount of the mount point, then
			// umount.target.
			if checkShutdownOrder(t, 1, j, console, m.mnt) {
				untouched++
			}
			unit := c.Journal("-b", "-1", "-u", m.Unit, "--since", shutdown)
			assertNoFallback(t, m, unit)
			if !strings.Contains(unit, m.Unit+": Deactivated successfully") {
				t.Errorf("%s (%s): no clean exit at poweroff:\n%s", m.Unit, m.name, tail(unit, 20))
			}
			s.GrepToken(t, "the journal of "+m.Unit, unit)
		}
	})

	t.Run("control: SystemCallFilter=~@privileged", func(t *testing.T) {
		c := c.T(t)
		for _, m := range mounts {
			c.DropIn(m.Unit, "90-old-filter", "[Service]\nSystemCallFilter=~@privileged\n")
		}
		c.DaemonReload()
		for _, m := range mounts {
			c.WaitState(m.Unit, "active", 30*time.Second) // enabled: up since boot, with the new filter
			c.Stop(m.Unit)
			since := c.Now()
			_, startErr := c.Sh("systemctl start " + m.Unit)
			if m.underPrivileged == "unmount" {
				if startErr != nil {
					t.Fatalf("%s (%s) did not mount under ~@privileged:\n%s", m.Unit, m.name, c.Journal("-u", m.Unit, "--since", since))
				}
				c.Sh("systemctl stop " + m.Unit)
			} else if startErr == nil {
				t.Errorf("%s (%s) mounted under ~@privileged: the control does not reproduce", m.Unit, m.name)
			}
			c.Sh("systemctl stop " + m.Unit + "; systemctl reset-failed " + m.Unit)
			j := c.Journal("-u", m.Unit, "--since", since)
			// A daemon that mounts through the helper may be gone before
			// it logs the helper's words: they are in its log too.
			helper, _ := c.ReadFile(realfuseHelperLog)
			if l := lineWith(j+"\n"+string(helper), "setuid: Operation not permitted"); l == "" {
				t.Errorf("%s (%s): no 'setuid: Operation not permitted' under ~@privileged:\n%s", m.Unit, m.name, tail(j, 20))
			} else {
				t.Logf("%s under ~@privileged: %s", m.label(), l)
			}
			if m.underPrivileged == "unmount" && !strings.Contains(j, "archil unmount failed") {
				t.Errorf("%s (%s): the stop under ~@privileged did not fall back:\n%s", m.Unit, m.name, tail(j, 20))
			}
			record("real FUSE: under ~@privileged: "+m.label(), "fails to "+m.underPrivileged)
		}
	})
}

// useClient installs g's mount config with the client path set to client
// (what services.archil.package renders); the unit stays the golden.
func (c *Container) useClient(g *golden, client string) {
	c.t.Helper()
	cfg := maps.Clone(g.Config)
	cfg["archil"] = client
	b, err := json.Marshal(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.WriteFile(g.ConfigPath, append(b, '\n'), 0o644)
}

// recordDaemons records the packages' versions; a missing one fails.
func (c *Container) recordDaemons() {
	c.t.Helper()
	pkgs := []string{"libfuse2t64", "libfuse3-4", "fuse3"}
	for _, d := range realDaemons {
		pkgs = append(pkgs, d.pkg)
	}
	out := c.MustSh("dpkg-query -W -f '${Package} ${Version}\\n' " + strings.Join(pkgs, " "))
	record("real FUSE: packages", strings.Join(strings.Split(strings.TrimSpace(out), "\n"), ", "))
}

// realfuseHelperLog is archil-realfuse's helperLog.
const realfuseHelperLog = e2eState + "/realfuse-helper.log"

// assertRealMount checks that the daemon itself serves the mount: the
// launcher's child is the daemon's binary, the mount is root's
// (user_id=0), and the Go daemon went through the helper.
func (c *Container) assertRealMount(m realMount) {
	c.t.Helper()
	lines := c.MountInfo(m.MP)
	if len(lines) != 1 || !strings.Contains(lines[0], "user_id=0") {
		c.t.Errorf("%s (%s): want one fuse.archil mount with user_id=0, got %q", m.Unit, m.name, lines)
	}
	kids := c.Children(c.MainPID(m.Unit))
	if len(kids) != 1 {
		c.t.Fatalf("%s: launcher has children %v, want the daemon", m.Unit, kids)
	}
	if exe := strings.TrimSpace(c.MustSh(fmt.Sprintf("readlink /proc/%d/exe", kids[0]))); !strings.HasSuffix(exe, "/"+m.name) {
		c.t.Errorf("%s: the client process is %s, not %s", m.Unit, exe, m.name)
	}
	if m.name == "rclone" {
		j := c.Journal("-u", m.Unit, "-n", "50")
		if l := lineWith(j, "archil-realfuse: fusermount3 "); l == "" {
			c.t.Errorf("%s: rclone did not mount through fusermount3:\n%s", m.Unit, tail(j, 20))
		} else {
			c.t.Logf("%s: %s", m.label(), l)
		}
	}
}

// assertBacking checks that file in the disk's backing store holds want.
func (c *Container) assertBacking(m realMount, file, want string) {
	c.t.Helper()
	b, err := c.ReadFile(backingPath(m.Disk) + "/" + file)
	if err != nil || !strings.Contains(string(b), want) {
		c.t.Errorf("%s (%s): %s is not in the backing store (%v, %q)", m.Unit, m.name, file, err, b)
	}
}

// assertCleanStop checks the stop since the given time: exit 0,
// Result=success, `archil unmount` finished and nothing fell back.
func (c *Container) assertCleanStop(m realMount, since string) {
	c.t.Helper()
	j := c.Journal("-u", m.Unit, "--since", since)
	if r, st := c.Prop(m.Unit, "Result"), c.Prop(m.Unit, "ExecMainStatus"); r != "success" || st != "0" {
		c.t.Errorf("%s (%s): Result=%s ExecMainStatus=%s after stop:\n%s", m.Unit, m.name, r, st, tail(j, 30))
	}
	if !strings.Contains(j, "archil unmount finished") {
		c.t.Errorf("%s (%s): no 'archil unmount finished':\n%s", m.Unit, m.name, tail(j, 30))
	}
	assertNoFallback(c.t, m, j)
	c.s.GrepToken(c.t, "the journal of "+m.Unit, j)
}

func assertNoFallback(t *testing.T, m realMount, journal string) {
	t.Helper()
	for _, bad := range []string{"archil unmount failed", "pending writes may be lost", "Operation not permitted"} {
		if strings.Contains(journal, bad) {
			t.Errorf("%s (%s): %q in the journal:\n%s", m.Unit, m.name, bad, tail(journal, 30))
		}
	}
}

// lineWith returns the first line of text that contains sub, or "".
func lineWith(text, sub string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
