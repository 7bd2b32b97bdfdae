//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestIAM runs the IAM golden against the metadata mock inside the
// container: with a role it mounts; with no role it fails with a clear
// message and systemd retries until a role is there.
func TestIAM(t *testing.T) {
	s := setup(t)
	g := needGolden(t, s, "iam")
	m := g.mnt()
	c := NewContainer(t)
	endpoint := func(port int) {
		c.DropIn(g.Unit, "50-imds", imdsDropIn(port))
	}
	endpoint(imdsPort)
	// Retry fast for the test.
	c.DropIn(g.Unit, "60-fast-restart", "[Service]\nRestartSec=500ms\nRestartMaxDelaySec=2s\n")
	c.Boot()
	c.WaitState("e2e-imds.service", "active", 10*time.Second)
	c.WaitState("e2e-imds-norole.service", "active", 10*time.Second)
	c.WaitFor("IMDS mocks listening", 10*time.Second, func() bool {
		_, err := c.Sh(fmt.Sprintf("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && exec 4<>/dev/tcp/127.0.0.1/%d'", imdsPort, imdsNoRole))
		return err == nil
	})

	t.Run("role", func(t *testing.T) {
		c := c.T(t)
		d := c.Start(g.Unit)
		c.AssertUp(m)
		record("start to active: "+g.Unit+" (IAM)", ms(d))
		last := c.Calls(m.MP)
		call := last[len(last)-1]
		if call.TokenLen != 0 || contains(call.Env, "ARCHIL_MOUNT_TOKEN") {
			t.Errorf("IAM mount got a token: %+v", call)
		}
		if !contains(call.Env, "AWS_EC2_METADATA_SERVICE_ENDPOINT") {
			t.Errorf("the client did not get AWS_EC2_METADATA_SERVICE_ENDPOINT: %v", call.Env)
		}
		if ro, _ := g.Config["readOnly"].(bool); ro {
			out, err := c.Sh(fmt.Sprintf("touch %q/new-file", m.MP))
			if err == nil || !strings.Contains(out, "Read-only file system") {
				t.Errorf("readOnly mount %s is writable: %v %q", m.MP, err, out)
			}
			if !strings.Contains(strings.Join(c.MountInfo(m.MP), "\n"), " ro,") {
				t.Errorf("readOnly mount %s lacks the per-mount ro flag: %v", m.MP, c.MountInfo(m.MP))
			}
		}
		j := c.Journal("-u", g.Unit)
		if !strings.Contains(j, "baskinc-role") {
			t.Errorf("the journal does not name the role found (baskinc-role):\n%s", tail(j, 20))
		}
		out, err := c.Sh(fmt.Sprintf("AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:%d archil-launch --check --config %q", imdsPort, g.ConfigPath))
		t.Logf("--check (exit %v):\n%s", err, out)
		if !strings.Contains(out, "baskinc-role") {
			t.Errorf("--check does not report the IAM role")
		}
		c.Stop(g.Unit)
		c.AssertDown(m)
	})

	t.Run("no-role-then-role", func(t *testing.T) {
		c := c.T(t)
		endpoint(imdsNoRole)
		c.DaemonReload()
		c.MustSh("systemctl reset-failed " + g.Unit + " || true")
		since := c.Now()
		if out, err := c.Sh("systemctl start " + g.Unit); err == nil {
			t.Fatalf("started without a role:\n%s", out)
		}
		// Restart=on-failure: it keeps trying.
		c.WaitFor("two automatic restarts", 20*time.Second, func() bool {
			return c.PropInt(g.Unit, "NRestarts") >= 2
		})
		j := c.Journal("-u", g.Unit, "--since", since)
		if !strings.Contains(strings.ToLower(j), "role") {
			t.Errorf("no clear message about the missing role in the journal:\n%s", tail(j, 30))
		}
		if !strings.Contains(j, "Scheduled restart job") {
			t.Errorf("no automatic restart in the journal:\n%s", tail(j, 30))
		}
		for _, l := range strings.Split(j, "\n") {
			if strings.Contains(strings.ToLower(l), "role") && strings.Contains(l, "archil-launch") {
				t.Logf("failure message: %s", l)
				break
			}
		}
		// The role appears (the instance profile is attached): the next
		// retry succeeds without anyone restarting the unit by hand.
		endpoint(imdsPort)
		c.DaemonReload()
		c.WaitState(g.Unit, "active", 30*time.Second)
		c.AssertUp(m)
		t.Logf("recovered after %d automatic restarts", c.PropInt(g.Unit, "NRestarts"))
		c.Stop(g.Unit)
		c.AssertDown(m)
	})
}
