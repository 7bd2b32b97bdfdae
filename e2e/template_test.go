//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTemplate starts token and IAM instances of archil-mount@.service:
// the token comes from /etc/credstore through ImportCredential=, an IAM
// instance starts although it has no credstore file.
func TestTemplate(t *testing.T) {
	c := NewContainer(t)
	tok := c.TemplateMount("tpl", "token", nil)
	iam := c.TemplateMount("tpliam", "iam", nil)
	c.Boot()
	c.WaitState("e2e-imds.service", "active", 10*time.Second)
	c.DropIn(iam.Unit, "50-imds", imdsDropIn(imdsPort))
	c.DaemonReload()

	d := c.Start(tok.Unit)
	c.AssertUp(tok)
	record("template: start to active (token)", ms(d))
	calls := c.Calls(tok.MP)
	if len(calls) == 0 || calls[len(calls)-1].TokenLen != len(c.s.token) {
		t.Fatalf("token instance: client did not get the token (calls %+v)", calls)
	}
	d = c.Start(iam.Unit)
	c.AssertUp(iam)
	record("template: start to active (IAM)", ms(d))
	calls = c.Calls(iam.MP)
	if last := calls[len(calls)-1]; last.TokenLen != 0 || contains(last.Env, "ARCHIL_MOUNT_TOKEN") {
		t.Errorf("IAM instance got a token in its environment: %+v", last)
	}
	sd := c.Stop(tok.Unit, iam.Unit)
	record("template: stop (2 units)", ms(sd))
	c.AssertDown(tok)
	c.AssertDown(iam)
}

// TestScale starts 10 template instances at once and stops them, then
// restarts one 100 times; nothing may be left behind.
func TestScale(t *testing.T) {
	c := NewContainer(t)
	var ms10 []mnt
	var units []string
	for i := 0; i < 10; i++ {
		m := c.TemplateMount(fmt.Sprintf("s%d", i), "token", nil)
		ms10 = append(ms10, m)
		units = append(units, m.Unit)
	}
	cyc := c.TemplateMount("cycle", "token", nil)
	c.Boot()
	before := c.Leftovers()

	d := c.Start(units...)
	record("scale: 10 mounts, start at once to all active", ms(d))
	for _, m := range ms10 {
		c.AssertUp(m)
	}
	// Each launcher answers, all in parallel: touch a file in every mount.
	var wg sync.WaitGroup
	for _, m := range ms10 {
		wg.Add(1)
		go func(m mnt) {
			defer wg.Done()
			if out, err := c.Sh(fmt.Sprintf("echo x > %q/w && cat %q/w", m.MP, m.MP)); err != nil || out != "x\n" {
				t.Errorf("%s: write/read: %v %q", m.MP, err, out)
			}
		}(m)
	}
	wg.Wait()
	d = c.Stop(units...)
	record("scale: 10 mounts, stop at once", ms(d))
	for _, m := range ms10 {
		c.AssertDown(m)
		if st := c.Prop(m.Unit, "Result"); st != "success" {
			t.Errorf("%s: Result=%s after stop", m.Unit, st)
		}
	}
	for _, m := range ms10 {
		if b, err := c.ReadFile(backingPath(m.Disk) + "/w"); err != nil || string(b) != "x\n" {
			t.Errorf("%s: write not in the backing store after stop: %v %q", m.Disk, err, b)
		}
	}

	// 100 restart cycles.
	const cycles = 100
	c.Start(cyc.Unit)
	pid0 := c.MainPID(cyc.Unit)
	start := time.Now()
	for i := 0; i < cycles; i++ {
		if out, err := c.Sh("systemctl restart " + cyc.Unit); err != nil {
			t.Fatalf("cycle %d: restart: %v\n%s", i, err, out)
		}
	}
	total := time.Since(start)
	c.AssertUp(cyc)
	if pid := c.MainPID(cyc.Unit); pid == pid0 {
		t.Errorf("restarts did not restart (same MainPID %d)", pid)
	}
	if n := c.PropInt(cyc.Unit, "NRestarts"); n != 0 {
		t.Errorf("%d automatic restarts during the cycles (a failure)", n)
	}
	if p := c.UnitPIDs(cyc.Unit); len(p) != 2 {
		t.Errorf("after %d cycles want 2 processes (launcher, client), got %v", cycles, p)
	}
	c.Stop(cyc.Unit)
	c.AssertDown(cyc)
	record("scale: restart cycles", fmt.Sprintf("%d in %s (%s per stop+start)", cycles, ms(total), ms(total/cycles)))
	mounts := 0
	for _, call := range c.Calls(cyc.MP) {
		if call.Sub() == "mount" {
			mounts++
		}
	}
	if mounts != cycles+1 {
		t.Errorf("want %d mount calls, got %d", cycles+1, mounts)
	}
	if left := diff(before, c.Leftovers()); len(left) != 0 {
		t.Errorf("left behind after 10 mounts and %d cycles:\n%s", cycles, strings.Join(left, "\n"))
	}
}
