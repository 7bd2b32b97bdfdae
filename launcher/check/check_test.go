package check

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/archil-nix/archil-launch/authsrc"
	"github.com/archil-nix/archil-launch/internal/testkit"
	"github.com/archil-nix/archil-launch/launcher/config"
)

type fakeUnits map[string]*UnitInfo

func (f fakeUnits) Query(context.Context, []*config.Config) map[string]*UnitInfo { return f }

func writeCheckConfig(t *testing.T, dir, name, extra string) string {
	t.Helper()
	return writeConfigFor(t, dir, name, "/bin/sh", extra)
}

// writeConfigFor writes the config of mount name, with client as its
// archil and extra JSON members, to dir/name.json.
func writeConfigFor(t *testing.T, dir, name, client, extra string) string {
	t.Helper()
	p := filepath.Join(dir, name+".json")
	body := `{"name":"` + name + `","diskName":"org/` + name + `","mountPoint":"` + filepath.Join(dir, "mnt-"+name) +
		`","region":"aws-us-east-1","authMethod":"token","archil":` + strconv.Quote(client) + extra + `}`
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Without --config, --check reads every *.json of the config directory and
// reports the unit's state; a failed unit is a problem.
func TestCheckConfigDirAndUnits(t *testing.T) {
	dir := t.TempDir()
	creds := t.TempDir()
	os.WriteFile(filepath.Join(creds, "archil-token"), []byte("tok-Fixture-9f8e7d6c5b4a\n"), 0o400)
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	writeCheckConfig(t, dir, "a", "")
	writeCheckConfig(t, dir, "b", "")
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)
	os.WriteFile(filepath.Join(dir, ".#a.json"), []byte("an editor's lock, ignored"), 0o644)
	c := &Checker{ConfigDir: dir, Units: fakeUnits{
		"a": {Name: "archil-mount-a.service", LoadState: "loaded", ActiveState: "active", SubState: "running"},
		"b": {Name: "archil-mount@b.service", LoadState: "loaded", ActiveState: "failed", SubState: "failed"},
	}}
	r := c.Check(context.Background(), nil)
	if len(r.Mounts) != 2 || r.Mounts[0].Name != "a" || r.Mounts[1].Name != "b" {
		t.Fatalf("mounts: %+v", r.Mounts)
	}
	if !r.Mounts[0].OK || r.Mounts[1].OK || r.OK {
		t.Fatalf("want a ok, b failing, report failing: %+v", r)
	}
	var out strings.Builder
	if err := r.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	var decoded map[string]any
	if err := json.Unmarshal([]byte(out.String()), &decoded); err != nil {
		t.Fatalf("--json is not one JSON object: %v", err)
	}
	if strings.Contains(out.String(), "tok-Fixture") {
		t.Fatal("report shows the token")
	}
	if !strings.Contains(out.String(), `"state": "failed (failed)"`) {
		t.Fatalf("unit state missing: %s", out.String())
	}
}

func TestCheckEmptyConfigDir(t *testing.T) {
	r := (&Checker{ConfigDir: t.TempDir(), Units: fakeUnits{}}).Check(context.Background(), nil)
	if r.OK || len(r.Mounts) != 0 {
		t.Fatalf("no configs must be a problem: %+v", r)
	}
}

// Two config files for one mount name would be one unit for two mounts.
func TestCheckDuplicateName(t *testing.T) {
	dir := t.TempDir()
	a := writeCheckConfig(t, dir, "a", "")
	b := filepath.Join(dir, "b.json")
	body, err := os.ReadFile(a)
	testkit.Must(t, err)
	testkit.Must(t, os.WriteFile(b, []byte(strings.Replace(string(body), "mnt-a", "mnt-b", 1)), 0o644))
	r := (&Checker{ConfigDir: dir, Units: fakeUnits{}}).Check(context.Background(), nil)
	for _, m := range r.Mounts {
		if !slices.ContainsFunc(m.Checks, func(c CheckItem) bool {
			return c.Check == "conflict" && strings.Contains(c.Detail, "also names its mount a")
		}) {
			t.Errorf("%s: no conflict reported: %+v", m.Name, m.Checks)
		}
	}
}

// Outside the unit, --check looks where systemd will: the unit's live
// credentials directory, then its LoadCredential= files.
func TestCheckFindsUnitCredentialFile(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	dir := t.TempDir()
	secret := filepath.Join(dir, "agenix-secret")
	os.WriteFile(secret, []byte("tok-Fixture-9f8e7d6c5b4a\n"), 0o400)
	p := writeCheckConfig(t, dir, "data", "")
	c := &Checker{Units: fakeUnits{"data": {
		Name: "archil-mount-data.service", LoadState: "loaded", ActiveState: "inactive", SubState: "dead",
		CredentialFiles: map[string][]authsrc.File{"archil-token": {{Path: secret}}},
	}}}
	r := c.Check(context.Background(), []string{p})
	var cred *CheckItem
	for i, it := range r.Mounts[0].Checks {
		if it.Check == "credential" {
			cred = &r.Mounts[0].Checks[i]
		}
	}
	if cred == nil || !cred.OK || cred.Credential.Source != "unit LoadCredential" || cred.Credential.Location != secret || cred.Credential.Length != 24 {
		t.Fatalf("credential: %+v", cred)
	}
}

func TestParseSystemctlShow(t *testing.T) {
	// systemd 257's order: properties as asked, not Id first.
	out := "LoadState=loaded\nActiveState=active\nSubState=running\nId=archil-mount-data.service\n\n" +
		"Id=archil-mount@data.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\n"
	units := parseSystemctlShow(out)
	u := units["archil-mount-data.service"]
	if u == nil || u.ActiveState != "active" || u.SubState != "running" || u.LoadState != "loaded" {
		t.Fatalf("got %+v", units)
	}
	if units["archil-mount@data.service"].LoadState != "not-found" {
		t.Fatalf("second block: %+v", units)
	}
}

func TestBusUnitPath(t *testing.T) {
	if got := busUnitPath("archil-mount@a_b.service"); got != "/org/freedesktop/systemd1/unit/archil_2dmount_40a_5fb_2eservice" {
		t.Fatal(got)
	}
}

func TestUnitItem(t *testing.T) {
	cases := []struct {
		unit  *UnitInfo
		ok    bool
		state string
	}{
		{nil, true, "unknown"},
		{&UnitInfo{Err: errors.New("no systemd")}, true, "unknown"},
		{&UnitInfo{Name: "archil-mount-x.service", LoadState: "not-found"}, true, "not installed"},
		{&UnitInfo{LoadState: "loaded", ActiveState: "active", SubState: "running"}, true, "active (running)"},
		{&UnitInfo{LoadState: "loaded", ActiveState: "activating", SubState: "auto-restart"}, false, "activating (auto-restart)"},
		{&UnitInfo{LoadState: "loaded", ActiveState: "failed", SubState: "failed"}, false, "failed (failed)"},
	}
	for _, c := range cases {
		if it := c.unit.item(); it.OK != c.ok || it.State != c.state {
			t.Errorf("%+v: got %+v", c.unit, it)
		}
	}
}

// --check asks the metadata service once per budget: a mount with a short
// imdsTimeoutSec must not pass on an answer a slower budget waited for.
func TestMemoProbeKeysOnBudget(t *testing.T) {
	var asked []time.Duration
	probe := memoProbe(func(_ context.Context, budget time.Duration) (*authsrc.Role, error) {
		asked = append(asked, budget)
		if budget < 2*time.Second {
			return nil, errors.New("no answer within budget")
		}
		return &authsrc.Role{Name: "r"}, nil
	})
	ctx := context.Background()
	for _, b := range []time.Duration{3 * time.Second, time.Second, 3 * time.Second, time.Second} {
		role, err := probe(ctx, b)
		if (b == time.Second) != (err != nil) || (err == nil && role.Name != "r") {
			t.Fatalf("budget %v: role %v, err %v", b, role, err)
		}
	}
	if len(asked) != 2 {
		t.Fatalf("want one probe per budget, got %v", asked)
	}
}
