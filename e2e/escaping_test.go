//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestUnitEscaping runs nixos/tests/golden/escaping: units rendered from
// mount points and secrets with spaces, "-", "%" and non-ASCII letters.
// systemd must read back each value as the mount config has it (an
// escaping slip would order the unit after some other .mount, expand a
// specifier, or load the credential from another path), and the mounts
// must come up from those units and stop cleanly.
func TestUnitEscaping(t *testing.T) {
	s := setup(t)
	set, err := loadGoldens(filepath.Join(moduleRoot, "nixos/tests/golden/escaping"))
	if err != nil {
		t.Fatal(err)
	}
	gs := set.Mounts
	c := NewContainer(t)
	c.Boot()
	for _, g := range gs {
		c.WriteUnit(g.Unit, string(g.UnitText))
		c.WriteFile(g.ConfigPath, g.ConfigText, 0o644)
		c.WriteFile(backingPath(g.Disk())+"/hello.txt", []byte("hello from "+g.Name+"\n"), 0o644)
		if g.AuthMethod() == "iam" {
			c.DropIn(g.Unit, "50-imds", imdsDropIn(imdsPort))
		}
		for _, cr := range g.Creds {
			// In the unit "%%" is a literal "%".
			c.WriteFile(strings.ReplaceAll(cr.Path, "%%", "%"), []byte(s.token+"\n"), 0o400)
		}
	}
	c.DaemonReload()
	for _, g := range gs {
		mp := g.MountPoint()
		after := strings.Fields(c.Prop(g.Unit, "After"))
		if want := escapePath(mp) + ".mount"; !contains(after, want) && !contains(after, showQuoted(want)) {
			t.Errorf("%s: After=%q lacks %s", g.Unit, after, want)
		}
		if got, want := c.Prop(g.Unit, "RequiresMountsFor"), filepath.Dir(mp); got != want && got != showQuoted(want) {
			t.Errorf("%s: RequiresMountsFor=%q, want %q", g.Unit, got, want)
		}
		if got := c.Prop(g.Unit, "Description"); !strings.Contains(got, " on "+mp+" (") {
			t.Errorf("%s: Description=%q does not name the mount point %q", g.Unit, got, mp)
		}
		for _, e := range g.Values("Service", "Environment") {
			kv := strings.ReplaceAll(strings.Trim(e, `"`), "%%", "%")
			if !strings.HasPrefix(kv, "PATH=") && !contains(strings.Fields(c.Prop(g.Unit, "Environment")), kv) {
				t.Errorf("%s: Environment=%q lacks %q", g.Unit, c.Prop(g.Unit, "Environment"), kv)
			}
		}
		// The credential path and the mount point work for real.
		c.Start(g.Unit)
		c.AssertUp(g.mnt())
		// READY=1 arrived with the status line: its backslashes doubled,
		// systemd reads the mount point back as it is.
		if got := c.Prop(g.Unit, "StatusText"); !strings.HasSuffix(got, " at "+mp) {
			t.Errorf("%s: StatusText=%q does not end in the mount point %q", g.Unit, got, mp)
		}
		c.Stop(g.Unit)
		c.AssertDown(g.mnt())
	}
}

// showQuoted is how systemctl show prints a value that needs quoting: in
// double quotes, backslashes doubled.
func showQuoted(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}
