//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestHarness boots the container, checks what the other tests rely on,
// and reboots it once: boot, exec, files in, journal, teardown.
func TestHarness(t *testing.T) {
	s := setupBase(t)
	for _, m := range s.missing {
		t.Logf("not there yet (fails the tests that need it): %s", m)
	}
	c := newContainer(t, s)
	d := c.Boot()
	record("boot to running (fresh overlay)", d.Round(time.Millisecond).String())

	if v := c.MustSh("systemctl --version | head -n1"); !strings.HasPrefix(v, "systemd 257") {
		t.Errorf("want systemd 257 in the container, got %q", v)
	}
	if out := c.MustSh("stat -fc %T /sys/fs/cgroup"); strings.TrimSpace(out) != "cgroup2fs" {
		t.Errorf("want cgroup v2 in the container, got %q", out)
	}
	c.MustSh("test -c /dev/fuse")
	if !strings.Contains(c.MustSh("cat /proc/filesystems"), "fuse") {
		t.Error("no fuse in /proc/filesystems")
	}
	// Files in, through the overlay and through nsenter (tmpfs).
	c.WriteFile("/etc/e2e/probe", []byte("overlay\n"), 0o644)
	c.WriteFile("/run/e2e/probe", []byte("tmpfs\n"), 0o600)
	if got := c.MustSh("cat /etc/e2e/probe /run/e2e/probe"); got != "overlay\ntmpfs\n" {
		t.Errorf("files in: got %q", got)
	}
	// The secrets unit ran at boot and made the /run credentials.
	if st := c.Prop("e2e-secrets.service", "ActiveState"); st != "active" {
		t.Errorf("e2e-secrets.service is %s", st)
	}
	c.WaitState("e2e-imds.service", "active", 10*time.Second)
	c.WaitFor("IMDS mock listening", 10*time.Second, func() bool {
		_, err := c.Sh(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/1338'`)
		return err == nil
	})
	// Journal: a message logged now is found.
	c.MustSh("systemd-cat -t e2e-probe echo harness-journal-probe")
	c.WaitFor("journal probe", 5*time.Second, func() bool {
		return strings.Contains(c.Journal("-t", "e2e-probe"), "harness-journal-probe")
	})
	d = c.Reboot()
	record("reboot: boot to running (kept overlay)", d.Round(time.Millisecond).String())
	if got := c.MustSh("cat /etc/e2e/probe; test ! -e /run/e2e/probe && echo gone"); got != "overlay\ngone\n" {
		t.Errorf("after reboot: got %q", got)
	}
	if !strings.Contains(c.MustSh("journalctl --no-pager -b -1 -t e2e-probe"), "harness-journal-probe") {
		t.Error("previous boot's journal not readable with -b -1")
	}
	pd, _ := c.Poweroff()
	record("poweroff (idle container)", pd.Round(time.Millisecond).String())
}
