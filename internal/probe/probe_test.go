package probe

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/archil-nix/archil-launch/internal/testkit"
)

// script writes an executable shell script that first records its pid
// (its process group) in <path>.pid.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "probe.sh")
	testkit.Must(t, os.WriteFile(p, []byte("#!/bin/sh\necho $$ > \"$0.pid\"\n"+body+"\n"), 0o755))
	return p
}

func TestRun(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		budget  time.Duration
		state   string
		exit    string
		lines   []string
		trunc   bool
		orphans bool // the script leaves a child whose pid is in <path>.child
	}{
		{name: "answers", body: `echo "Archil Client: v0.8.8"; echo "Protocol: 3"`,
			state: OK, exit: "exit status 0", lines: []string{"Archil Client: v0.8.8", "Protocol: 3"}},
		{name: "fails", body: `echo "error: unrecognized subcommand 'version'" >&2; exit 1`,
			state: Failed, exit: "exit status 1", lines: []string{"error: unrecognized subcommand 'version'"}},
		{name: "dies of a signal", body: `kill -SEGV $$`, state: Failed, exit: "signal: segmentation fault"},
		{name: "hangs", body: `echo started; sleep 1000 & echo $! > "$0.child"; wait`, budget: 300 * time.Millisecond,
			state: TimedOut, exit: "signal: killed", lines: []string{"started"}, orphans: true},
		{name: "answers and leaves a child", body: `sleep 1000 & echo $! > "$0.child"; echo done`,
			state: OK, exit: "exit status 0", lines: []string{"done"}, orphans: true},
		{name: "reads stdin", body: `cat; readlink /proc/self/fd/0; pwd`,
			state: OK, exit: "exit status 0", lines: []string{"/dev/null", "/"}},
		{name: "floods", body: `head -c 100000 /dev/zero | tr '\0' x`, state: OK, exit: "exit status 0", trunc: true},
		{name: "gets only its environment", body: `echo "A=$A TOKEN=${ARCHIL_MOUNT_TOKEN-unset}"`,
			state: OK, exit: "exit status 0", lines: []string{"A=1 TOKEN=unset"}},
	}
	t.Setenv("ARCHIL_MOUNT_TOKEN", "tok-Fixture-9f8e7d6c5b4a")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := script(t, c.body)
			budget := c.budget
			if budget == 0 {
				budget = 10 * time.Second
			}
			ctx, cancel := context.WithTimeout(context.Background(), budget)
			defer cancel()
			r := Run(ctx, Command{Path: path, Env: []string{"A=1", "PATH=" + os.Getenv("PATH")}})
			t.Logf("%s: %s, %s in %s", c.name, r.State, r.Exit, r.Took)
			if r.State != c.state || r.Exit != c.exit || r.Err != nil || r.Stuck {
				t.Fatalf("got %+v", r)
			}
			if c.lines != nil && !slices.Equal(r.Lines(), c.lines) {
				t.Errorf("lines %q, want %q", r.Lines(), c.lines)
			}
			if r.Truncated != c.trunc || len(r.Output) > MaxOutput || (c.trunc && len(r.Output) != MaxOutput) {
				t.Errorf("output of %d bytes, truncated %v", len(r.Output), r.Truncated)
			}
			assertGroupGone(t, readPid(t, path+".pid"))
			if c.orphans {
				assertGone(t, readPid(t, path+".child"))
			}
		})
	}
}

func TestRunDoesNotStart(t *testing.T) {
	dir := t.TempDir()
	noShebang := filepath.Join(dir, "garbage")
	testkit.Must(t, os.WriteFile(noShebang, []byte("\x7fELF? no"), 0o755))
	for _, path := range []string{filepath.Join(dir, "absent"), noShebang, dir} {
		r := Run(context.Background(), Command{Path: path})
		if r.State != Failed || r.Err == nil || r.Exit != "" || r.Exited() || !strings.Contains(r.Err.Error(), path) {
			t.Errorf("%s: %+v", path, r)
		}
	}
}

func TestClean(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"  a\tb  ", "a b"},
		{"\x1b[1;31mred\x1b[0m", "red"},
		{"\x1b]0;title\x07x", "0;titlex"},
		{"bell\x07 nul\x00 del\x7f", "bell nul del"},
		{"over\rwrite", "overwrite"},
		{"c1\u0085\u009bx", "c1x"},
		{"bidi\u202eevil", "bidievil"},
		{"bad \xff utf8", "bad \ufffd utf8"},
		{"lone escape \x1b", "lone escape"},
	}
	for _, c := range cases {
		if got := Clean(c.in); got != c.want {
			t.Errorf("Clean(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	r := Result{Output: []byte("first\r\n\n  \x1b[2K\n second \n")}
	if got := r.Lines(); !slices.Equal(got, []string{"first", "second"}) {
		t.Errorf("Lines: %q", got)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	testkit.Must(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	testkit.Must(t, err)
	return pid
}

func assertGroupGone(t *testing.T, pgid int) {
	t.Helper()
	testkit.WaitNoLive(t, "process group "+strconv.Itoa(pgid), func(p testkit.Proc) bool { return p.Pgrp == pgid })
}

func assertGone(t *testing.T, pid int) {
	t.Helper()
	testkit.WaitNoLive(t, "pid "+strconv.Itoa(pid), func(p testkit.Proc) bool { return p.Pid == pid })
}
