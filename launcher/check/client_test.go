package check

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/archil-nix/archil-launch/internal/probe"
	"github.com/archil-nix/archil-launch/internal/testkit"
	"github.com/archil-nix/archil-launch/launcher/config"
)

const fixtureToken = "tok-Fixture-9f8e7d6c5b4a"

// Stand-in clients: shell scripts that answer like a client would. Each
// records its calls in <path>.calls and its process group in <path>.pgids;
// one that hangs records its sleep in <path>.sleeps.
const (
	client08 = `case "$1" in
version) echo "Archil Client: v0.8.8-24-gdeadbee"; echo "Protocol: 7"; echo "Latest Release: v0.8.9";;
status) echo "Disk: org/data"; echo "Mount point: $2"; echo "State: mounted"; echo "Log level: info";;
*) exit 1;;
esac`
	clientOld = `case "$1" in
--version) echo "archil 0.7.3";;
*) echo "error: unrecognized subcommand '$1'" >&2; echo; echo "For more information, try '--help'." >&2; exit 1;;
esac`
	clientHangs     = `sleep 1000 & echo $! >> "$0.sleeps"; wait`
	clientStatusBad = `case "$1" in
version) echo "Archil Client: v0.8.8";;
status) echo "error: no client serves $2" >&2; exit 1;;
esac`
	clientStatusHangs = `case "$1" in
version) echo "Archil Client: v0.8.8";;
status) sleep 1000 & echo $! >> "$0.sleeps"; wait;;
esac`
	clientCrashes = `kill -SEGV $$`
	// It prints what must not reach it and what must, with escapes.
	clientLeaky = `printf '\033[31mtoken=%s creds=%s\a\n' "${ARCHIL_MOUNT_TOKEN-unset}" "${CREDENTIALS_DIRECTORY-unset}"; echo "proxy=${MY_PROXY-unset} stdin=$(readlink /proc/self/fd/0)"`
)

func standIn(t testing.TB, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	script := "#!/bin/sh\necho \"$*\" >> \"$0.calls\"\necho $$ >> \"$0.pgids\"\n" + body + "\n"
	testkit.Must(t, os.WriteFile(p, []byte(script), 0o755))
	return p
}

// pidsIn reads the pids a stand-in recorded in file, one a line.
func pidsIn(t *testing.T, file string) []int {
	t.Helper()
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil
	}
	testkit.Must(t, err)
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		testkit.Must(t, err)
		pids = append(pids, pid)
	}
	return pids
}

// assertNothingLeft checks that no process a stand-in started lives on:
// none of its process groups, none of its sleeps, no child of the test.
func assertNothingLeft(t *testing.T, clients ...string) {
	t.Helper()
	for _, c := range clients {
		for _, pgid := range pidsIn(t, c+".pgids") {
			testkit.WaitNoLive(t, "process group of "+c, func(p testkit.Proc) bool { return p.Pgrp == pgid })
		}
		for _, pid := range pidsIn(t, c+".sleeps") {
			testkit.WaitNoLive(t, "sleep of "+c, func(p testkit.Proc) bool { return p.Pid == pid })
		}
	}
	self := os.Getpid()
	testkit.WaitNoLive(t, "child of the test", func(p testkit.Proc) bool { return p.PPid == self })
}

func calls(t *testing.T, client string) []string {
	t.Helper()
	b, err := os.ReadFile(client + ".calls")
	testkit.Must(t, err)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestClientProbes runs the probes of one mount against each stand-in,
// for a mount point that is live or not.
func TestClientProbes(t *testing.T) {
	type want struct {
		state  string
		ok     bool
		detail string // regexp
		warn   string // regexp of the first warning, "" for none
	}
	cases := []struct {
		name    string
		client  string
		live    bool
		version want
		status  *want // nil: no status item
		calls   []string
	}{
		{"0.8 client", client08, false,
			want{probe.OK, true, `^Archil Client: v0\.8\.8-24-gdeadbee \| Protocol: 7 \| Latest Release: v0\.8\.9$`, ""}, nil,
			[]string{"version"}},
		{"0.8 client, live mount", client08, true,
			want{probe.OK, true, `^Archil Client: v0\.8\.8`, ""},
			&want{probe.OK, true, `^Disk: org/data \| Mount point: /srv/data \| State: mounted …$`, ""},
			[]string{"version", "status /srv/data"}},
		{"old client", clientOld, false,
			want{probe.OK, true, `^archil 0\.7\.3 \(from --version; old client version: exit status 1: error: unrecognized subcommand 'version' \| For more information, try '--help'\.\)$`, ""}, nil,
			[]string{"version", "--version"}},
		{"hangs", clientHangs, false,
			want{probe.TimedOut, true, `^version unknown \(a warning, not counted as a problem\)$`, `^hangs version: no answer within 2s; killed with its process group$`}, nil,
			[]string{"version"}},
		{"hangs, live mount", clientHangs, true,
			want{probe.TimedOut, true, `^version unknown`, `^hangs, live mount version: no answer within 2s`},
			&want{probe.TimedOut, false, `^no answer within 2s; killed with its process group$`, ""},
			[]string{"status /srv/data", "version"}},
		{"status fails", clientStatusBad, true,
			want{probe.OK, true, `^Archil Client: v0\.8\.8$`, ""},
			&want{probe.Failed, false, `^exit status 1: error: no client serves /srv/data$`, ""},
			[]string{"status /srv/data", "version"}},
		{"status hangs", clientStatusHangs, true,
			want{probe.OK, true, `^Archil Client: v0\.8\.8$`, ""},
			&want{probe.TimedOut, false, `^no answer within 2s`, ""},
			[]string{"status /srv/data", "version"}},
		{"old client, live mount", clientOld, true,
			want{probe.OK, true, `^archil 0\.7\.3 \(from --version`, ""},
			&want{"not supported", true, `^a client from before 0\.8 has no status \(exit status 1: error: unrecognized subcommand 'status' \| For more information, try '--help'\.\)$`, ""},
			[]string{"version", "--version", "status /srv/data"}},
		{"crashes", clientCrashes, false,
			want{probe.Failed, true, `^version unknown`, `^crashes version: signal: segmentation fault$`}, nil,
			[]string{"version"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client := standIn(t, t.TempDir(), c.name, c.client)
			cfg := &config.Config{Archil: client, MountPoint: "/srv/data", AuthMethod: config.AuthToken}
			start := time.Now()
			items := newClientProbes(1).probe(context.Background(), cfg, c.live)
			t.Logf("%s: probes took %s", c.name, time.Since(start))
			wants := []want{c.version}
			if c.status != nil {
				wants = append(wants, *c.status)
			}
			if len(items) != len(wants) {
				t.Fatalf("items: %+v", items)
			}
			for i, w := range wants {
				it := items[i]
				if it.State != w.state || it.OK != w.ok || !regexp.MustCompile(w.detail).MatchString(it.Detail) {
					t.Errorf("%s: got %s ok=%v %q, want %s ok=%v %q", it.Check, it.State, it.OK, it.Detail, w.state, w.ok, w.detail)
				}
				if (w.warn == "") != (len(it.Warnings) == 0) || (w.warn != "" && !regexp.MustCompile(w.warn).MatchString(it.Warnings[0])) {
					t.Errorf("%s: warnings %q, want %q", it.Check, it.Warnings, w.warn)
				}
				if len(it.Probes) == 0 || it.Probes[0].Command[0] != client {
					t.Errorf("%s: probes %+v", it.Check, it.Probes)
				}
			}
			got := calls(t, client)
			if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(c.calls))) {
				t.Errorf("calls %q, want %q", got, c.calls)
			}
			assertNothingLeft(t, client)
		})
	}
}

// The client gets the launcher's allow-list without the token, stdin from
// /dev/null, and what it prints reaches the report without its escapes.
func TestClientProbeEnvironment(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds")
	testkit.Must(t, os.Mkdir(creds, 0o700))
	testkit.Must(t, os.WriteFile(filepath.Join(creds, "archil-token"), []byte(fixtureToken+"\n"), 0o400))
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	t.Setenv("ARCHIL_MOUNT_TOKEN", fixtureToken)
	t.Setenv("MY_PROXY", "http://proxy:3128")
	client := standIn(t, dir, "leaky", clientLeaky)
	cfg := writeConfigFor(t, dir, "data", client, `,"passEnv":["MY_PROXY"]`)

	r := (&Checker{Units: fakeUnits{}}).Check(context.Background(), []string{cfg})
	var table, js strings.Builder
	testkit.Must(t, r.WriteTable(&table))
	testkit.Must(t, r.WriteJSON(&js))
	for name, out := range map[string]string{"table": table.String(), "json": js.String()} {
		if strings.Contains(out, fixtureToken) || strings.Contains(out, "\x1b") || strings.Contains(out, "\a") {
			t.Errorf("%s shows the token or an escape:\n%q", name, out)
		}
		if !strings.Contains(out, "token=unset creds=unset | proxy=http://proxy:3128 stdin=/dev/null") {
			t.Errorf("%s: the client did not get the mount's environment without the token:\n%s", name, out)
		}
	}
	if !r.OK {
		t.Errorf("report not OK:\n%s", table.String())
	}
	assertNothingLeft(t, client)
}

// Mounts that share a client share one version probe; a mount with
// another client gets its own.
func TestVersionProbeOncePerClient(t *testing.T) {
	dir := t.TempDir()
	shared := standIn(t, dir, "shared", client08)
	other := standIn(t, dir, "other", clientOld)
	var paths []string
	for i := range 10 {
		client := shared
		if i == 9 {
			client = other
		}
		paths = append(paths, writeConfigFor(t, dir, fmt.Sprintf("m%d", i), client, ""))
	}
	r := (&Checker{Units: fakeUnits{}}).Check(context.Background(), paths)
	if got := calls(t, shared); len(got) != 1 || got[0] != "version" {
		t.Errorf("shared client called %q, want one version", got)
	}
	if got := calls(t, other); strings.Join(got, ",") != "version,--version" {
		t.Errorf("other client called %q", got)
	}
	for i, m := range r.Mounts {
		it := findItem(t, m, "client version")
		want := "Archil Client"
		if i == 9 {
			want = "archil 0.7.3"
		}
		if it.State != probe.OK || !strings.HasPrefix(it.Detail, want) {
			t.Errorf("%s: %+v", m.Name, it)
		}
	}
}

// Ten mounts whose ten clients all hang: the probes run at once, so the
// whole --check takes about one probe budget (2 s), not ten. The time is
// printed, not asserted; what is asserted is that each probe was reported
// as timed out and killed, with nothing left behind.
func TestHungClientsProbedAtOnce(t *testing.T) {
	dir := t.TempDir()
	var paths, clients []string
	for i := range 10 {
		name := fmt.Sprintf("m%d", i)
		client := standIn(t, dir, "archil-"+name, clientHangs)
		clients = append(clients, client)
		paths = append(paths, writeConfigFor(t, dir, name, client, ""))
	}
	start := time.Now()
	r := (&Checker{Units: fakeUnits{}}).Check(context.Background(), paths)
	took := time.Since(start)
	t.Logf("--check of 10 mounts whose clients hang: %s (budget %s per probe)", took, probeBudget)
	for _, m := range r.Mounts {
		it := findItem(t, m, "client version")
		if it.State != probe.TimedOut || !it.OK || len(it.Probes) != 1 || it.Probes[0].Exit != "signal: killed" || it.Probes[0].Stuck {
			t.Errorf("%s: %+v", m.Name, it)
		}
	}
	var js strings.Builder
	testkit.Must(t, r.WriteJSON(&js))
	var decoded struct {
		Mounts []struct {
			Checks []struct {
				Check, State string
				Probes       []struct{ State string }
			}
		}
	}
	testkit.Must(t, json.Unmarshal([]byte(js.String()), &decoded))
	if got := decoded.Mounts[3].Checks[len(decoded.Mounts[3].Checks)-1]; got.Check != "client version" || got.Probes[0].State != "timed out" {
		t.Errorf("JSON: %+v", got)
	}
	assertNothingLeft(t, clients...)
}

func findItem(t *testing.T, m MountReport, check string) CheckItem {
	t.Helper()
	for _, it := range m.Checks {
		if it.Check == check {
			return it
		}
	}
	t.Fatalf("%s: no %q item in %+v", m.Name, check, m.Checks)
	return CheckItem{}
}

// BenchmarkClientProbes: the client probes of ten live mounts, each with a
// client of its own that answers at once: twenty probes, all at once.
func BenchmarkClientProbes(b *testing.B) {
	dir := b.TempDir()
	var cfgs []*config.Config
	for i := range 10 {
		client := standIn(b, dir, fmt.Sprintf("archil-%d", i), client08)
		cfgs = append(cfgs, &config.Config{Archil: client, MountPoint: "/srv/data", AuthMethod: config.AuthToken})
	}
	for b.Loop() {
		probes := newClientProbes(len(cfgs))
		for i, cfg := range cfgs {
			probes.start(context.Background(), i, cfg, true)
		}
		for _, items := range probes.wait() {
			if items[0].State != probe.OK || items[1].State != probe.OK {
				b.Fatalf("%+v", items)
			}
		}
	}
}
