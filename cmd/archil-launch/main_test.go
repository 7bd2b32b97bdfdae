package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/archil-nix/archil-launch/internal/mountns"
	"github.com/archil-nix/archil-launch/internal/testkit"
)

// TestMain registers archil-launch as a testscript command and runs every
// test, scripts included, in a private mount namespace.
func TestMain(m *testing.M) {
	testscript.Main(nsRunner{m}, map[string]func(){"archil-launch": main})
}

type nsRunner struct{ m *testing.M }

func (r nsRunner) Run() int { return mountns.Run(r.m, mountns.TmpfsOn("/run")) }

func TestScripts(t *testing.T) {
	fake := testkit.Build(t, "./cmd/archil-fake", filepath.Join(t.TempDir(), "archil"))
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("ARCHIL_FAKE", fake)
			// The double keeps its state in the script's directory, never
			// in its default under /var/lib.
			state := filepath.Join(env.WorkDir, "fake-state")
			env.Setenv("ARCHIL_FAKE_STATE", state)
			env.Setenv("TOKEN", "tok-Fixture-9f8e7d6c5b4a")
			env.Defer(func() { unmountLeft(env.T(), fake, state, env.WorkDir) })
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mkconfig":  cmdMkconfig,
			"waitmount": cmdWaitMount,
			"gone":      cmdGone,
		},
	})
}

// cmdMkconfig writes a mount config: mkconfig FILE key=value...
// Values true/false become booleans, digits integers, [a,b] lists.
func cmdMkconfig(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: mkconfig FILE key=value...")
	}
	cfg := map[string]any{}
	for _, kv := range args[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			ts.Fatalf("mkconfig: %q is not key=value", kv)
		}
		switch n, err := strconv.Atoi(v); {
		case v == "true" || v == "false":
			cfg[k] = v == "true"
		case err == nil:
			cfg[k] = n
		case strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]"):
			list := []string{}
			if inner := strings.Trim(v, "[]"); inner != "" {
				list = strings.Split(inner, ",")
			}
			cfg[k] = list
		default:
			cfg[k] = v
		}
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}

// cmdWaitMount waits until an archil mount is (or, negated, is no longer)
// at PATH: waitmount PATH.
func cmdWaitMount(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: waitmount PATH")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if isArchilMount(path) != neg {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("waitmount: %s archil mount state did not become %v", path, !neg)
}

// cmdGone checks that no process whose pid FILE lists (one a line, as a
// stand-in client records them) is alive: gone FILE.
func cmdGone(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: gone FILE")
	}
	pids := map[int]bool{}
	for _, f := range strings.Fields(ts.ReadFile(args[0])) {
		pid, err := strconv.Atoi(f)
		ts.Check(err)
		pids[pid] = true
	}
	left, err := testkit.NoLive(func(p testkit.Proc) bool { return pids[p.Pid] }, 5*time.Second)
	ts.Check(err)
	if len(left) != 0 {
		ts.Fatalf("gone: still alive: %+v", left)
	}
}

// unmountLeft ends the double's mounts a failed script left under dir: a
// mount is flushed by `archil unmount` (which ends its server), else
// detached.
func unmountLeft(t testscript.T, fake, state, dir string) {
	data, err := os.ReadFile(mountinfo.Path)
	if err != nil {
		t.Log("cleanup: ", err)
		return
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		e, err := mountinfo.ParseLine(line)
		if err != nil || e.FSType != "fuse.archil" || !strings.HasPrefix(e.MountPoint, dir+"/") {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, fake, "unmount", e.MountPoint)
		cmd.Env = append(os.Environ(), "ARCHIL_FAKE_STATE="+state)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Log("cleanup: archil unmount ", e.MountPoint, ": ", err, ": ", string(out))
			_ = unix.Unmount(e.MountPoint, unix.MNT_DETACH)
		}
		cancel()
	}
}

func isArchilMount(path string) bool {
	top, err := mountinfo.CurrentTop(path)
	return err == nil && top != nil && top.FSType == "fuse.archil"
}

// TestExitCodes checks run's statuses in-process: 0 ok, 1 problem or bad
// config, 2 usage.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"name":"d","diskName":"o/d","mountPoint":"`+filepath.Join(dir, "mnt")+`","region":"aws-us-east-1","authMethod":"token","archil":"/bin/sh"}`), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"name":"d"}`), 0o644)
	cases := []struct {
		args []string
		want int
	}{
		{[]string{"--version"}, 0},
		{[]string{"--help"}, 0},
		{[]string{}, 2},
		{[]string{"--bogus"}, 2},
		{[]string{"--json"}, 2},
		{[]string{"--version", "--config", good}, 2},
		{[]string{"--config", good, "--config", good}, 2},
		{[]string{"--config", good, "extra"}, 2},
		{[]string{"--config", bad}, 1},
		{[]string{"--config", filepath.Join(dir, "absent.json")}, 1},
		{[]string{"--check", "--config", bad}, 1},
		{[]string{"--check", "--config", good}, 1}, // no credential anywhere
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		if got := run(c.args, &stdout, &stderr); got != c.want {
			t.Errorf("%q: exit %d, want %d (stderr %q)", c.args, got, c.want, stderr.String())
		}
		if c.want != 0 && c.args != nil && len(c.args) > 0 && c.args[0] != "--check" {
			if lines := strings.Count(stderr.String(), "\n"); lines != 1 {
				t.Errorf("%q: want one line on stderr, got %q", c.args, stderr.String())
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "mnt")); !os.IsNotExist(err) {
		t.Fatal("a failed run or --check created the mount point")
	}
}
