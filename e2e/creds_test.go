//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestCredentials starts every token golden with its real credential
// source (a root-only file made at boot under /run, LoadCredentialEncrypted
// of a systemd-creds file, ImportCredential from /etc/credstore, the
// authToken store file), then looks for the token everywhere it must not
// be.
func TestCredentials(t *testing.T) {
	s := setup(t)
	c := NewContainer(t)
	c.Boot()
	kinds := []string{credFile, credEncrypted, credImport, credStore}
	var started []*golden
	for _, kind := range kinds {
		g := needGolden(t, s, kind)
		t.Run(kind, func(t *testing.T) {
			c := c.T(t)
			for _, cr := range g.Creds {
				if cr.Path != "" {
					out := c.MustSh(fmt.Sprintf("stat -c '%%a %%U' %q", cr.Path))
					t.Logf("%s: %s source %s: mode/owner %s", g.Unit, kind, cr.Path, strings.TrimSpace(out))
				}
			}
			d := c.Start(g.Unit)
			c.AssertUp(g.mnt())
			record("start to active: "+g.Unit, ms(d))
			calls := c.Calls(g.MountPoint())
			last := calls[len(calls)-1]
			if last.Sub() != "mount" || last.TokenLen != len(s.token) {
				t.Errorf("client's last call %v: token length %d, want %d", last.Argv, last.TokenLen, len(s.token))
			}
			for _, a := range last.Argv {
				if strings.Contains(a, "auth-token") {
					t.Errorf("--auth-token on the client's command line: %v", last.Argv)
				}
			}
			if !contains(last.Env, "ARCHIL_MOUNT_TOKEN") {
				t.Errorf("ARCHIL_MOUNT_TOKEN not in the client's environment: %v", last.Env)
			}
			// The module's `environment` option: Environment= in the unit,
			// the names in passEnv, handed to the client.
			if pe, ok := g.Config["passEnv"].([]any); ok {
				for _, n := range pe {
					if !contains(last.Env, n.(string)) {
						t.Errorf("passEnv %s not in the client's environment: %v", n, last.Env)
					}
				}
			}
			for _, bad := range []string{"NOTIFY_SOCKET", "CREDENTIALS_DIRECTORY", "INVOCATION_ID", "WATCHDOG_USEC"} {
				if contains(last.Env, bad) {
					t.Errorf("%s leaked into the client's environment: %v", bad, last.Env)
				}
			}
			started = append(started, g)
		})
	}
	if len(started) == 0 {
		t.Fatal("no token golden started")
	}

	// The token must appear nowhere an operator or another user can read.
	var units []string
	for _, g := range started {
		units = append(units, g.Unit)
	}
	show := c.MustSh("systemctl show --no-pager " + strings.Join(units, " "))
	s.GrepToken(t, "systemctl show", show)
	cat := c.MustSh("systemctl cat --no-pager " + strings.Join(units, " "))
	s.GrepToken(t, "systemctl cat", cat)
	cmdlines := c.MustSh(`for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < $f 2>/dev/null; echo; done`)
	s.GrepToken(t, "/proc/*/cmdline", cmdlines)
	s.GrepToken(t, "the journal", c.Journal("-b", "-o", "verbose"))
	s.GrepToken(t, "mount configs", c.MustSh("cat /etc/archil/mounts.d/*.json"))
	s.GrepToken(t, "mountinfo", c.MustSh("cat /proc/1/mountinfo"))

	for _, args := range []string{"--check", "--check --json"} {
		out, err := c.Sh("archil-launch " + args)
		t.Logf("archil-launch %s (exit %v):\n%s", args, err, out)
		s.GrepToken(t, "archil-launch "+args, out)
		for _, g := range started {
			out, err := c.Sh(fmt.Sprintf("archil-launch %s --config %q", args, g.ConfigPath))
			s.GrepToken(t, "archil-launch "+args+" --config "+g.ConfigPath, out)
			if !strings.Contains(out, g.Name) {
				t.Errorf("archil-launch %s --config %s does not name the mount %s (exit %v):\n%s", args, g.ConfigPath, g.Name, err, out)
			}
			if args == "--check --json" && !strings.HasPrefix(strings.TrimSpace(out), "{") {
				t.Errorf("--check --json is not one JSON object:\n%s", out)
			}
		}
	}
	// Run from a shell, --check sees what the running unit was given: its
	// credentials directory under /run/credentials.
	for _, g := range started {
		out, _ := c.Sh(fmt.Sprintf("archil-launch --check --json --config %q", g.ConfigPath))
		if !strings.Contains(out, `"source": "credentials-directory"`) || !strings.Contains(out, `"location": "/run/credentials/`+g.Unit+`/`) {
			t.Errorf("--check of running %s does not find the unit's credentials directory:\n%s", g.Unit, out)
		}
	}
	for _, g := range started {
		c.Stop(g.Unit)
		c.AssertDown(g.mnt())
	}
	// With the unit stopped, --check looks where systemd will look: the
	// unit's LoadCredential= and LoadCredentialEncrypted= files.
	for kind, source := range map[string]string{credFile: "unit LoadCredential", credEncrypted: "unit LoadCredentialEncrypted"} {
		g := s.goldenOf(kind)
		if g == nil {
			t.Errorf("no golden of kind %s", kind)
			continue
		}
		out, _ := c.Sh(fmt.Sprintf("archil-launch --check --json --config %q", g.ConfigPath))
		s.GrepToken(t, "archil-launch --check --json (unit stopped)", out)
		if !strings.Contains(out, `"source": "`+source+`"`) || !strings.Contains(out, `"state": "found"`) {
			t.Errorf("--check of stopped %s does not find the credential through %s:\n%s", g.Unit, source, out)
		}
	}
	// With the unit stopped, --check finds the credstore file itself.
	if g := s.goldenOf(credImport); g != nil {
		out, _ := c.Sh(fmt.Sprintf("archil-launch --check --json --config %q", g.ConfigPath))
		s.GrepToken(t, "archil-launch --check --json (unit stopped)", out)
		if !strings.Contains(out, "/etc/credstore/") {
			t.Errorf("--check does not report the credstore source for %s:\n%s", g.Unit, out)
		}
		if !strings.Contains(out, fmt.Sprint(len(s.token))) {
			t.Errorf("--check does not report the token's length (%d) for %s:\n%s", len(s.token), g.Unit, out)
		}
	}
	s.GrepToken(t, "the journal after stop", c.Journal("-b", "-o", "verbose"))
}
