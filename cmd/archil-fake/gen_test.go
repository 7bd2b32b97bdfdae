package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"
)

// quickly is how long a refused command line may take: a launcher must
// see the client fail, never hang.
const quickly = 2 * time.Second

// Each generation refuses what the other added, on stderr, exit 1, at once.
func testGenerations(t *testing.T, f *fake) {
	mount := func(extra ...string) []string {
		return append([]string{"mount", disk, f.mp, "--region", region, "--no-fork"}, extra...)
	}
	for _, tc := range []struct {
		old  bool
		args []string
		want string
	}{
		{true, mount("--read-only"), "unexpected argument '--read-only' found"},
		{true, mount("--enable-xattrs"), "unexpected argument '--enable-xattrs' found"},
		{true, mount("--writeback-cache"), "unexpected argument '--writeback-cache' found"},
		{true, mount("--log-metrics"), "unexpected argument '--log-metrics' found"},
		{true, mount("--dentry-ttl-secs", "5"), "unexpected argument '--dentry-ttl-secs' found"},
		{true, []string{"version"}, "unrecognized subcommand 'version'"},
		{true, []string{"status", f.mp}, "unrecognized subcommand 'status'"},
		{true, []string{"metrics", f.mp, "--json"}, "unrecognized subcommand 'metrics'"},
		{true, append([]string{"-q"}, mount()...), "unexpected argument '-q' found"},
		{true, append([]string{"--verbose"}, mount()...), "unexpected argument '--verbose' found"},
		{true, []string{"unmount", "-f", f.mp}, "unexpected argument '-f' found"},
		{true, []string{"unmount", "--force", f.mp}, "unexpected argument '--force' found"},
		{false, mount("--disable-xattrs"), "unexpected argument '--disable-xattrs' found"},
	} {
		f.env["ARCHIL_FAKE_OLD_CLIENT"] = map[bool]string{true: "1", false: "0"}[tc.old]
		start := time.Now()
		stderr, code := f.run(tc.args...)
		if d := time.Since(start); d > quickly {
			t.Errorf("old=%v %q took %v", tc.old, tc.args, d)
		}
		if code != 1 || !strings.HasPrefix(stderr, "error: "+tc.want) {
			t.Errorf("old=%v %q: exit %d, want 1 and %q\n%s", tc.old, tc.args, code, tc.want, stderr)
		}
		if mounted(f.mp) {
			t.Fatalf("old=%v %q mounted", tc.old, tc.args)
		}
	}
	// What the old client does know.
	f.env["ARCHIL_FAKE_OLD_CLIENT"] = "1"
	f.mount("--disable-xattrs", "--statistics", "-f")
	f.mustRun("unmount", f.mp)
}

// A value flag takes the next argument whatever it is: `--region
// --no-fork` leaves no --no-fork, so the client daemonizes (the command
// returns with the mount up) as the real one would.
func testGetoptValue(t *testing.T, f *fake) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := f.command(ctx, "mount", disk, f.mp, "--region", "--no-fork").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	fstype, source, ok := mountEntry(f.mp)
	if !ok || fstype != "fuse.archil" || source != disk+"[--no-fork]" {
		t.Fatalf("mountinfo: %q %q %v, want the region --no-fork", fstype, source, ok)
	}
	f.mustRun("unmount", f.mp)
}

// The launcher's argv: --no-fork right after the mount point, typed flags,
// then extraArgs as --flag=value. The client stays in the foreground.
func testLauncherOrder(t *testing.T, f *fake) {
	s := f.spawn("--log-level", "info", "mount", disk, f.mp, "--no-fork", "--region", region,
		"--shared", "--enable-xattrs", "--writeback-cache", "--max-cache-mb", "100", "--target-cache-mb", "50",
		"--log-metrics", "--dentry-ttl-secs=5", "--nconnect=4", "--sts-region=us-east-1")
	waitFor(t, "mount", func() bool { return mounted(f.mp) || s.exited() })
	if !mounted(f.mp) || !s.alive() {
		t.Fatalf("not serving in the foreground\n%s", &s.stderr)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t); code != 0 {
		t.Errorf("exit %d\n%s", code, &s.stderr)
	}
}

// The probe knobs: <sub>-hang sleeps until killed, <sub>-fail exits 1.
func testProbeKnobs(t *testing.T, f *fake) {
	for _, tc := range []struct {
		knob string
		args []string
	}{
		{"version", []string{"version"}},
		{"version", []string{"--version"}},
		{"version", []string{"version", "--json"}},
		{"status", []string{"status", f.mp}},
		{"metrics", []string{"metrics", f.mp, "--json"}},
	} {
		f.knob(tc.knob+"-fail", "1")
		start := time.Now()
		stderr, code := f.run(tc.args...)
		if code != 1 || !strings.Contains(stderr, "simulated failure") || time.Since(start) > quickly {
			t.Errorf("%s-fail %q: exit %d after %v\n%s", tc.knob, tc.args, code, time.Since(start), stderr)
		}
		f.knob(tc.knob+"-fail", "0")

		f.knob(tc.knob+"-hang", "1")
		s := f.spawn(tc.args...)
		select {
		case <-s.done:
			t.Errorf("%s-hang %q: exited %v\n%s", tc.knob, tc.args, s.cmd.ProcessState, &s.stderr)
		case <-time.After(500 * time.Millisecond):
		}
		s.cmd.Process.Kill()
		<-s.done
		if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Errorf("%s-hang %q: ended %v, want killed", tc.knob, tc.args, s.cmd.ProcessState)
		}
		f.knob(tc.knob+"-hang", "0")
	}
	// Off again: version answers.
	if out, err := f.command(context.Background(), "version").Output(); err != nil || !strings.HasPrefix(string(out), "Archil Client: v") {
		t.Errorf("version: %v %q", err, out)
	}
}

// -q and -v set the log level, as --log-level does; status reports it.
func testQuietVerbose(t *testing.T, f *fake) {
	for _, tc := range []struct{ flag, level string }{
		{"-q", "error"},
		{"--quiet", "error"},
		{"-v", "debug"},
		{"--verbose", "debug"},
		{"-vv", "trace"},
	} {
		s := f.spawn(tc.flag, "mount", disk, f.mp, "--region", region, "--no-fork")
		waitFor(t, "mount", func() bool { return mounted(f.mp) || s.exited() })
		var st statusInfo
		decodeStrict(t, f.output("status", f.mp, "--json"), &st)
		if st.LogLevel != tc.level {
			t.Errorf("%s: log level %q, want %q", tc.flag, st.LogLevel, tc.level)
		}
		f.mustRun("unmount", f.mp)
		s.wait(t)
	}
}
