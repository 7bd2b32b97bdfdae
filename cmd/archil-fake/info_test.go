package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// output runs the fake and returns its stdout, failing on a non-zero exit.
func (f *fake) output(args ...string) string {
	f.t.Helper()
	out, err := f.command(context.Background(), args...).Output()
	if err != nil {
		f.t.Fatalf("%q: %v", args, err)
	}
	return string(out)
}

// decodeStrict decodes one JSON object into v, refusing unknown fields.
func decodeStrict(t *testing.T, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
}

func testVersionSubcommand(t *testing.T, f *fake) {
	lines := strings.Split(strings.TrimSpace(f.output("version")), "\n")
	for i, prefix := range []string{"Archil Client: v" + version08 + " ", "Protocol: ", "Latest Release: v"} {
		if i >= len(lines) || !strings.HasPrefix(lines[i], prefix) {
			t.Errorf("version line %d: want %q...\n%s", i, prefix, strings.Join(lines, "\n"))
		}
	}
	var v versionInfo
	decodeStrict(t, f.output("version", "--json"), &v)
	if v.Client != "v"+version08 || v.Protocol == "" || v.LatestRelease == "" {
		t.Errorf("version --json: %+v", v)
	}
}

func testStatus(t *testing.T, f *fake) {
	stderr, code := f.run("status", f.mp)
	if code != 1 || !strings.Contains(stderr, "not mounted") {
		t.Errorf("status with no client: exit %d\n%s", code, stderr)
	}
	before := time.Now()
	s := f.startAt(f.mp, "--read-only", "--enable-xattrs")
	var st statusInfo
	decodeStrict(t, f.output("status", f.mp, "--json"), &st)
	want := statusInfo{
		DiskID: diskID(disk), Disk: disk, MountPoint: f.mp, State: "mounted", LogLevel: "debug",
		Mode: "read-only", Xattrs: true, PID: s.cmd.Process.Pid, Version: version08,
	}
	mountedAt := st.MountedAt
	st.MountedAt = time.Time{}
	if st != want {
		t.Errorf("status --json:\n got %+v\nwant %+v", st, want)
	}
	if mountedAt.Before(before.Add(-time.Second)) || mountedAt.After(time.Now()) {
		t.Errorf("mounted at %v, started at %v", mountedAt, before)
	}
	if !strings.HasPrefix(st.DiskID, "dsk-") || len(st.DiskID) != 20 {
		t.Errorf("disk id %q", st.DiskID)
	}
	human := f.output("status", f.mp)
	for _, line := range []string{"Disk:            " + disk, "Disk ID:         " + st.DiskID, "State:           mounted", "Log level:       debug", "Mounted at:      "} {
		if !strings.Contains(human, line) {
			t.Errorf("status lacks %q:\n%s", line, human)
		}
	}
	f.mustRun("unmount", f.mp)
	s.wait(t)
}

func testMetrics(t *testing.T, f *fake) {
	f.startServer()
	writeFile(t, filepath.Join(f.mp, "a"), "12345")
	readFile(t, filepath.Join(f.mp, "a"))
	var m metricsSnapshot
	decodeStrict(t, f.output("metrics", f.mp, "--json", "--reset"), &m)
	if m.Writes < 1 || m.WriteBytes != 5 || m.Reads < 1 || m.ReadBytes < 5 || m.MetadataOps < 1 || m.FilesFlushed < 1 {
		t.Errorf("metrics after a write and a read: %+v", m)
	}
	decodeStrict(t, f.output("metrics", f.mp, "--json"), &m)
	if m.Writes != 0 || m.WriteBytes != 0 || m.FilesFlushed != 0 {
		t.Errorf("metrics after --reset: %+v", m)
	}
	if human := f.output("metrics", f.mp); !strings.Contains(human, "write_bytes:") {
		t.Errorf("metrics:\n%s", human)
	}
	f.mustRun("unmount", f.mp)
}

// unmount --force (and -f) unmounts without the flush: pending writes are
// lost, the client exits 0.
func testUnmountForce(t *testing.T, f *fake) {
	f.knob("flush-delay", "600")
	for _, flag := range []string{"--force", "-f"} {
		s := f.startServer()
		writeFile(t, filepath.Join(f.mp, "lost"), "lost")
		f.mustRun("unmount", flag, f.mp)
		if mounted(f.mp) {
			t.Errorf("%s: still mounted", flag)
		}
		if code := s.wait(t); code != 0 {
			t.Errorf("%s: exit %d\n%s", flag, code, &s.stderr)
		}
		if exists(f.backing("lost")) {
			t.Errorf("%s: the pending write was flushed", flag)
		}
	}
	f.mount()
	if exists(filepath.Join(f.mp, "lost")) {
		t.Error("remount shows the lost write")
	}
	f.mustRun("unmount", f.mp)
}
