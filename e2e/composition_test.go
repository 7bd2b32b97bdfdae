//go:build e2e

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConsumerOrdering: an application that needs a disk, named in the
// golden's requiredBy (inference.service for the models mount), gets the
// links NixOS makes (inference.service.requires/archil-mount-models.service)
// and the mount's Before=. Started alone, it pulls the mount in and starts
// only once the mount answers; stopping the mount stops it first, while
// the disk still answers, and the unmount comes after. The control, a unit
// with only RequiresMountsFor= on the disk, starts without the mount.
func TestConsumerOrdering(t *testing.T) {
	s := setup(t)
	g := needGolden(t, s, "iam")
	if !contains(g.Values("Unit", "Before"), "remote-fs.target inference.service") {
		t.Fatalf("%s is not ordered before inference.service: Before=%q", g.Unit, g.Values("Unit", "Before"))
	}
	m := g.mnt()
	c := NewContainer(t)
	app := e2eState + "/app"
	c.WriteUnit("inference.service", fmt.Sprintf(`[Unit]
Description=e2e: an application that cannot run without the models disk

[Service]
ExecStart=/bin/sh -c 'cat %[1]s/hello.txt > %[2]s-start.txt && exec sleep infinity'
ExecStop=/bin/sh -c 'date +%%%%s.%%%%N > %[2]s-stop.txt; cat %[1]s/hello.txt >> %[2]s-stop.txt'
`, m.MP, app))
	c.WriteUnit("e2e-rmf.service", fmt.Sprintf(`[Unit]
Description=e2e: a unit with only RequiresMountsFor= on the disk
RequiresMountsFor=%s

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
`, m.MP))
	c.EnableGoldens(g.Unit)
	// The mount takes a while to answer: a consumer not ordered after it
	// would start first.
	c.Knob("mount-delay", "2")
	c.Boot()
	c.WaitState("e2e-imds.service", "active", 10*time.Second)
	c.WaitState(g.Unit, "active", 30*time.Second)
	c.Stop(g.Unit)

	t.Run("requires-mounts-for-alone", func(t *testing.T) {
		c := c.T(t)
		c.Start("e2e-rmf.service")
		if st := c.Prop(g.Unit, "ActiveState"); st != "inactive" {
			t.Errorf("RequiresMountsFor= alone pulled in %s (%s): the control no longer shows what it should", g.Unit, st)
		}
		t.Logf("a unit with only RequiresMountsFor=%s started while %s was %s", m.MP, g.Unit, c.Prop(g.Unit, "ActiveState"))
		c.Stop("e2e-rmf.service")
	})

	t.Run("start", func(t *testing.T) {
		c := c.T(t)
		d := c.Start("inference.service")
		record("consumer: start of inference.service pulling in the mount (mount-delay 2s)", ms(d))
		c.AssertUp(m)
		up := c.PropInt(g.Unit, "ActiveEnterTimestampMonotonic")
		started := c.PropInt("inference.service", "ExecMainStartTimestampMonotonic")
		if started < up {
			t.Errorf("inference.service started at %d, before %s answered at %d", started, g.Unit, up)
		}
		if b, _ := c.ReadFile(app + "-start.txt"); !strings.Contains(string(b), "hello from "+g.Name) {
			t.Errorf("inference.service did not read the disk at its start: %q", b)
		}
	})

	t.Run("stop", func(t *testing.T) {
		c := c.T(t)
		n0 := len(c.Calls(m.MP))
		c.Stop(g.Unit)
		c.AssertDown(m)
		if st := c.Prop("inference.service", "ActiveState"); st != "inactive" {
			t.Errorf("inference.service is %s after its required mount stopped", st)
		}
		b, _ := c.ReadFile(app + "-stop.txt")
		stamp, rest, _ := strings.Cut(string(b), "\n")
		if !strings.Contains(rest, "hello from "+g.Name) {
			t.Errorf("inference.service's stop did not read the disk: %q", b)
		}
		appStopped, err := strconv.ParseFloat(strings.TrimSpace(stamp), 64)
		if err != nil {
			t.Fatalf("inference.service's stop time %q: %v", stamp, err)
		}
		var unmount time.Time
		for _, call := range c.Calls(m.MP)[n0:] {
			if call.Sub() == "unmount" {
				unmount = call.Time
				break
			}
		}
		if unmount.IsZero() {
			t.Fatalf("no archil unmount of %s", m.MP)
		}
		if at := float64(unmount.UnixNano()) / 1e9; at < appStopped {
			t.Errorf("archil unmount at %.3f began before inference.service stopped at %.3f", at, appStopped)
		} else {
			record("consumer: app stopped, then archil unmount after", fmt.Sprintf("%.0fms", (at-appStopped)*1000))
		}
	})
}

// TestHardeningAdditions: the vault golden's user adds to each hardening
// list (DeviceAllow, SystemCallFilter, RestrictAddressFamilies,
// CapabilityBoundingSet). The mount still starts, and systemd loaded both
// what the mount needs and what the user added.
func TestHardeningAdditions(t *testing.T) {
	s := setup(t)
	g := needGolden(t, s, credImport)
	c := NewContainer(t)
	c.Boot()
	c.Start(g.Unit)
	c.AssertUp(g.mnt())
	for prop, want := range map[string][]string{
		"DeviceAllow":             {"/dev/fuse rw", "/dev/net/tun rw"},
		"SystemCallFilter":        {"mount", "umount2", "add_key"}, // @mount and the user's @keyring
		"RestrictAddressFamilies": {"AF_UNIX", "AF_INET", "AF_PACKET"},
		"CapabilityBoundingSet":   {"cap_sys_admin", "cap_sys_nice"},
		"KeyringMode":             {"shared"},
	} {
		got := c.Prop(g.Unit, prop)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %s=%s lacks %s", g.Unit, prop, tail(got, 3), w)
			}
		}
	}
	c.Stop(g.Unit)
	c.AssertDown(g.mnt())
}
