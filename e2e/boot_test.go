//go:build e2e

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBootOrdering enables every golden, reboots, and checks that each
// mount was up before remote-fs.target was reached, and that a unit
// ordered After=remote-fs.target sees the disks' files.
func TestBootOrdering(t *testing.T) {
	s := setup(t)
	c := NewContainer(t)
	var files []string
	for _, g := range s.goldens {
		files = append(files, g.MountPoint()+"/hello.txt")
	}
	c.WriteUnit("e2e-after-remote-fs.service", fmt.Sprintf(`[Unit]
Description=e2e: a consumer ordered after remote-fs.target
After=remote-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'cat %s > %s/after-remote-fs.txt'

[Install]
WantedBy=multi-user.target
`, strings.Join(files, " "), e2eState))
	c.Boot()
	for _, g := range s.goldens {
		c.EnableGoldens(g.Unit)
	}
	c.MustSh("systemctl enable e2e-after-remote-fs.service 2>&1")
	d := c.Reboot()
	record("boot with 5 golden mounts enabled, to running", ms(d))

	if st := c.Prop("e2e-after-remote-fs.service", "ActiveState"); st != "active" {
		t.Errorf("e2e-after-remote-fs.service is %s:\n%s", st, c.Journal("-u", "e2e-after-remote-fs.service"))
	}
	got, _ := c.ReadFile(e2eState + "/after-remote-fs.txt")
	for _, g := range s.goldens {
		if !strings.Contains(string(got), "hello from "+g.Name) {
			t.Errorf("the unit after remote-fs.target did not see %s/hello.txt; it read %q", g.MountPoint(), got)
		}
	}
	target := c.PropInt("remote-fs.target", "ActiveEnterTimestampMonotonic")
	consumer := c.PropInt("e2e-after-remote-fs.service", "ExecMainStartTimestampMonotonic")
	for _, g := range s.goldens {
		c.AssertUp(g.mnt())
		up := c.PropInt(g.Unit, "ActiveEnterTimestampMonotonic")
		started := c.PropInt(g.Unit, "ExecMainStartTimestampMonotonic")
		t.Logf("%-30s start %.3fs, active %.3fs; remote-fs.target %.3fs", g.Unit, float64(started)/1e6, float64(up)/1e6, float64(target)/1e6)
		if up == 0 || up > target {
			t.Errorf("%s became active at %d, after remote-fs.target at %d", g.Unit, up, target)
		}
		if n := c.PropInt(g.Unit, "NRestarts"); n != 0 {
			t.Errorf("%s needed %d restarts at boot", g.Unit, n)
		}
	}
	if consumer < target {
		t.Errorf("consumer started (%d) before remote-fs.target (%d)", consumer, target)
	}
	crit := c.MustSh("systemd-analyze critical-chain --no-pager remote-fs.target 2>&1 || true")
	t.Logf("critical chain:\n%s", crit)
}

// TestStopAndPoweroff writes data just before `systemctl stop` and just
// before a poweroff, with archil-fake holding writes back (flush-delay) so
// that only `archil unmount` gets them to the backing store; then checks
// the journal that our stop finished before systemd touched the mount
// point's .mount unit. Three poweroffs, a golden and a template instance.
func TestStopAndPoweroff(t *testing.T) {
	s := setup(t)
	g := needGolden(t, s, credFile)
	c := NewContainer(t)
	tpl := c.TemplateMount("pw", "token", nil)
	mounts := []mnt{g.mnt(), tpl}
	c.Knob("flush-delay", "600")
	c.Boot()

	t.Run("stop", func(t *testing.T) {
		c := c.T(t)
		for _, m := range mounts {
			c.Start(m.Unit)
			c.AssertUp(m)
			data := fmt.Sprintf("stop-%d", time.Now().UnixNano())
			c.MustSh(fmt.Sprintf("echo %s > %q/stop.txt", data, m.MP))
			if b, err := c.ReadFile(backingPath(m.Disk) + "/stop.txt"); err == nil && strings.Contains(string(b), data) {
				t.Fatalf("%s: the write reached the backing store at once: flush-delay knob not working", m.Disk)
			}
			n0 := len(c.Calls(m.MP))
			d := c.Stop(m.Unit)
			record("stop latency: "+m.Unit+" (flush of 1 pending write)", ms(d))
			c.AssertDown(m)
			b, err := c.ReadFile(backingPath(m.Disk) + "/stop.txt")
			if err != nil || !strings.Contains(string(b), data) {
				t.Errorf("%s: data written before stop is not in the backing store (%v, %q)", m.Unit, err, b)
			}
			if !hasUnmount(c.Calls(m.MP)[n0:], m.MP) {
				t.Errorf("%s: no `archil unmount %s` on stop", m.Unit, m.MP)
			}
			if r := c.Prop(m.Unit, "Result"); r != "success" {
				t.Errorf("%s: Result=%s after a clean stop", m.Unit, r)
			}
		}
	})

	c.EnableGoldens(g.Unit)
	c.MustSh("systemctl enable " + tpl.Unit + " 2>&1")

	c.Poweroff()

	// Each round: boot (the mounts come up at boot), write, power off,
	// check the backing store; the next boot reads the shutdown's journal.
	const poweroffs = 3
	// Per unit, the poweroffs where `archil unmount` finished before the
	// unit stopped and systemd had nothing left to unmount.
	shutdownOK := map[string]int{}
	var times []string
	var console string
	for i := 1; i <= poweroffs+1; i++ {
		c.Boot()
		if i > 1 {
			j := c.MustSh("journalctl --no-pager -b -1 -o short-monotonic")
			for _, m := range mounts {
				if checkShutdownOrder(t, i-1, j, console, m) {
					shutdownOK[m.Unit]++
				}
			}
		}
		if i > poweroffs {
			break
		}
		data := map[string]string{}
		n0 := map[string]int{}
		for _, m := range mounts {
			c.WaitState(m.Unit, "active", 30*time.Second)
			c.AssertUp(m)
			data[m.Unit] = fmt.Sprintf("poweroff-%d-%d", i, time.Now().UnixNano())
			c.MustSh(fmt.Sprintf("echo %s > %q/poweroff.txt", data[m.Unit], m.MP))
			n0[m.Unit] = len(c.Calls(m.MP))
		}
		var d time.Duration
		d, console = c.Poweroff()
		times = append(times, ms(d))
		for _, m := range mounts {
			b, err := c.ReadFile(backingPath(m.Disk) + "/poweroff.txt")
			if err != nil || !strings.Contains(string(b), data[m.Unit]) {
				t.Errorf("poweroff %d: %s: data written before poweroff is not in the backing store (%v, %q)", i, m.Unit, err, b)
			}
			if !hasUnmount(c.Calls(m.MP)[n0[m.Unit]:], m.MP) {
				t.Errorf("poweroff %d: %s: no `archil unmount` at shutdown", i, m.Unit)
			}
		}
	}
	record("poweroff with 2 mounts (each of 3)", strings.Join(times, ", "))
	for _, m := range mounts {
		record("poweroff: archil unmount done before systemd's umount: "+m.Unit, fmt.Sprintf("%d of %d", shutdownOK[m.Unit], poweroffs))
	}
}

func hasUnmount(calls []fakeCall, mp string) bool {
	for _, c := range calls {
		if c.Sub() == "unmount" && contains(c.Argv, mp) {
			return true
		}
	}
	return false
}

// checkShutdownOrder finds, in the journal of a shutdown, when our unit
// finished stopping and when systemd stopped the mount point's .mount
// unit. Our stop must come first. With `archil unmount` done, systemd has
// nothing left to unmount: it logs no "Unmounting" for the mount at all;
// that is what it returns.
func checkShutdownOrder(t *testing.T, i int, journal, console string, m mnt) bool {
	t.Helper()
	mountUnit := escapePath(m.MP) + ".mount"
	stopped, unmounting, deactivated, flushed, umountTarget := -1, -1, -1, -1, -1
	lines := strings.Split(journal, "\n")
	for n, l := range lines {
		switch {
		case strings.Contains(l, "archil unmount finished") && strings.Contains(l, "mount_point="+m.MP) && flushed < 0:
			flushed = n
		case strings.Contains(l, "Reached target umount.target") && umountTarget < 0:
			umountTarget = n
		case strings.Contains(l, "Stopped "+m.Unit) && stopped < 0:
			stopped = n
		case strings.Contains(l, "Unmounting "+mountUnit) && unmounting < 0:
			unmounting = n
		case strings.Contains(l, mountUnit+": Deactivated") && deactivated < 0:
			deactivated = n
		}
	}
	at := func(n int) string {
		if n < 0 {
			return "-"
		}
		return strings.Fields(lines[n])[0] + strings.Fields(lines[n])[1]
	}
	t.Logf("poweroff %d: %s: stopped at %s; %s: deactivated at %s, systemd 'Unmounting' at %s",
		i, m.Unit, at(stopped), mountUnit, at(deactivated), at(unmounting))
	if i == 1 {
		var ex []string
		for _, l := range lines {
			if strings.Contains(l, m.MP) || strings.Contains(l, m.Unit) || strings.Contains(l, mountUnit) ||
				strings.Contains(l, "umount.target") || strings.Contains(l, "Unmount") || strings.Contains(l, "poweroff.target") {
				ex = append(ex, l)
			}
		}
		t.Logf("poweroff %d, journal lines about %s:\n%s", i, m.Unit, tail(strings.Join(ex, "\n"), 40))
	}
	if stopped < 0 {
		t.Errorf("poweroff %d: no 'Stopped %s' in the journal of the shutdown", i, m.Unit)
		return false
	}
	// Present is enough: the launcher logs it before it exits, but its
	// stream and PID 1's "Stopped" reach journald by different sockets,
	// and the journal may list them the other way round.
	if flushed < 0 {
		t.Errorf("poweroff %d: %s: no 'archil unmount finished' for %s in the shutdown journal", i, m.Unit, m.MP)
	}
	if umountTarget >= 0 && umountTarget < stopped {
		t.Errorf("poweroff %d: umount.target reached before %s stopped", i, m.Unit)
	}
	if unmounting >= 0 && unmounting < stopped {
		t.Errorf("poweroff %d: systemd began unmounting %s before %s had stopped:\n%s\n%s", i, mountUnit, m.Unit, lines[unmounting], lines[stopped])
	}
	if strings.Contains(console, "Unmounting "+m.MP) || strings.Contains(console, "Unmounting "+mountUnit) {
		c := strings.Index(console, "Stopped "+m.Unit)
		u := strings.Index(console, "Unmounting ")
		if c < 0 || u < c {
			t.Errorf("poweroff %d: console shows systemd unmounting %s before %s stopped", i, m.MP, m.Unit)
		}
	}
	return unmounting < 0 && flushed >= 0
}

// escapePath is systemd-escape --path.
func escapePath(p string) string {
	p = strings.Trim(p, "/")
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case ch == '/':
			b.WriteByte('-')
		case ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || (ch == '.' && i > 0):
			b.WriteByte(ch)
		default:
			b.WriteString(`\x` + strconv.FormatInt(int64(ch)|0x100, 16)[1:])
		}
	}
	return b.String()
}

// TestShutdownOrderControl is the control for TestStopAndPoweroff: a
// template instance stripped of the ordering that protects it
// (DefaultDependencies=no, no After= on its .mount unit, only stopped at
// shutdown) races systemd's own umount. It reports how often the data
// still made it; it asserts only that the protected golden never lost any.
func TestShutdownOrderControl(t *testing.T) {
	s := setup(t)
	g := needGolden(t, s, credFile)
	c := NewContainer(t)
	bare := c.TemplateMount("bare", "token", nil)
	c.DropIn(bare.Unit, "70-no-ordering", `[Unit]
DefaultDependencies=no
Conflicts=shutdown.target
Before=shutdown.target
`)
	c.Knob("flush-delay", "600")
	mounts := []mnt{g.mnt(), bare}
	c.Boot()
	c.EnableGoldens(g.Unit)
	c.Poweroff()
	const rounds = 3
	kept := map[string]int{}
	for i := 1; i <= rounds; i++ {
		c.Boot()
		c.Start(bare.Unit)
		data := map[string]string{}
		for _, m := range mounts {
			c.WaitState(m.Unit, "active", 30*time.Second)
			data[m.Unit] = fmt.Sprintf("control-%d-%d", i, time.Now().UnixNano())
			c.MustSh(fmt.Sprintf("echo %s > %q/control.txt", data[m.Unit], m.MP))
		}
		c.Poweroff()
		for _, m := range mounts {
			if b, err := c.ReadFile(backingPath(m.Disk) + "/control.txt"); err == nil && strings.Contains(string(b), data[m.Unit]) {
				kept[m.Unit]++
			}
		}
	}
	c.Boot()
	j := c.MustSh("journalctl --no-pager -b -1 -o short-monotonic")
	var ex []string
	for _, l := range strings.Split(j, "\n") {
		if strings.Contains(l, bare.MP) || strings.Contains(l, "archil-bare") || strings.Contains(l, "srv-archil-bare") || strings.Contains(l, "umount.target") || strings.Contains(l, "Unmount") {
			ex = append(ex, l)
		}
	}
	t.Logf("last control poweroff, journal lines about %s:\n%s", bare.Unit, tail(strings.Join(ex, "\n"), 30))
	for _, m := range mounts {
		record("control: data kept over poweroff: "+m.Unit, fmt.Sprintf("%d of %d", kept[m.Unit], rounds))
	}
	if kept[g.Unit] != rounds {
		t.Errorf("%s lost data at poweroff: kept %d of %d", g.Unit, kept[g.Unit], rounds)
	}
	t.Logf("without ordering, %s kept its last write in %d of %d poweroffs", bare.Unit, kept[bare.Unit], rounds)
}
