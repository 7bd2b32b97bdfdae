package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/archil-nix/archil-launch/internal/mountns"
	"github.com/archil-nix/archil-launch/internal/testkit"
)

// Every test runs in a private mount namespace: nothing it mounts can
// reach the host.
func TestMain(m *testing.M) { mountns.Main(m) }

const (
	disk   = "org/disk"
	region = "aws-us-east-1"
	token  = "s3cr3t-T0KEN-value"
)

// fake is one archil-fake setup: a state directory and a mount point, both
// under the test's temp directory.
type fake struct {
	t     *testing.T
	bin   string
	state string
	mp    string
	env   map[string]string
}

func newFake(t *testing.T, bin string) *fake {
	t.Helper()
	dir := t.TempDir()
	f := &fake{
		t:     t,
		bin:   bin,
		state: filepath.Join(dir, "state"),
		mp:    filepath.Join(dir, "mnt"),
		env: map[string]string{
			"PATH":               os.Getenv("PATH"),
			"ARCHIL_FAKE_STATE":  filepath.Join(dir, "state"),
			"ARCHIL_MOUNT_TOKEN": token,
		},
	}
	if err := os.Mkdir(f.mp, 0o755); err != nil {
		t.Fatal(err)
	}
	// Registered after TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		for mounted(f.mp) {
			syscall.Unmount(f.mp, syscall.MNT_DETACH)
		}
	})
	return f
}

func (f *fake) environ() []string {
	var env []string
	for k, v := range f.env {
		env = append(env, k+"="+v)
	}
	return env
}

func (f *fake) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, f.bin, args...)
	cmd.Env = f.environ()
	return cmd
}

// run runs the fake to completion and returns its stderr and exit status.
func (f *fake) run(args ...string) (string, int) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := f.command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stderr.String(), 0
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		return stderr.String(), exit.ExitCode()
	default:
		f.t.Fatalf("%v: %v\n%s", args, err, stderr.String())
		return "", -1
	}
}

// mustRun runs the fake and fails the test unless it exits 0.
func (f *fake) mustRun(args ...string) {
	f.t.Helper()
	if stderr, code := f.run(args...); code != 0 {
		f.t.Fatalf("%v: exit %d\n%s", args, code, stderr)
	}
}

func (f *fake) mount(extra ...string) {
	f.t.Helper()
	f.mustRun(append([]string{"mount", disk, f.mp, "--region", region}, extra...)...)
	if !mounted(f.mp) {
		f.t.Fatal("mount returned 0 but nothing is mounted")
	}
}

// fgServer is a foreground (--no-fork) mount process.
type fgServer struct {
	cmd    *exec.Cmd
	stderr testkit.Buffer
	done   chan struct{}
}

// startServer starts `mount --no-fork` and waits for the mount.
func (f *fake) startServer() *fgServer {
	f.t.Helper()
	return f.startAt(f.mp)
}

// startAt starts `mount --no-fork` at mp with extra arguments and waits
// for the mount.
func (f *fake) startAt(mp string, extra ...string) *fgServer {
	f.t.Helper()
	s := f.spawn(append([]string{"--log-level", "debug", "mount", disk, mp, "--region", region, "--no-fork"}, extra...)...)
	waitFor(f.t, "mount", func() bool { return mounted(mp) || s.exited() })
	if !mounted(mp) {
		f.t.Fatalf("server exited before mounting: %v\n%s", s.cmd.ProcessState, &s.stderr)
	}
	return s
}

// spawn starts the fake with args, killed when the test ends.
func (f *fake) spawn(args ...string) *fgServer {
	f.t.Helper()
	s := &fgServer{done: make(chan struct{})}
	s.cmd = f.command(context.Background(), args...)
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	f.t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
	return s
}

// mountPoint makes another empty mount point, detached when the test ends.
func (f *fake) mountPoint(name string) string {
	f.t.Helper()
	mp := filepath.Join(filepath.Dir(f.mp), name)
	if err := os.Mkdir(mp, 0o755); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		for mounted(mp) {
			syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	})
	return mp
}

func (s *fgServer) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// alive reports whether the server process is still running (neither a
// zombie nor reaped).
func (s *fgServer) alive() bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// wait waits for the server to exit and returns its exit status.
func (s *fgServer) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		t.Fatalf("server still running\n%s", &s.stderr)
		return -1
	}
}

func (f *fake) knob(name, value string) {
	f.t.Helper()
	dir := filepath.Join(f.state, "knobs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fake) backing(name string) string {
	return filepath.Join(f.state, "backing", "org_disk", name)
}

// mountEntry returns the fstype and source of the mount at mp, if any.
func mountEntry(mp string) (fstype, source string, ok bool) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", "", false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		i := slices.Index(fields, "-")
		if len(fields) > 4 && fields[4] == mp && i > 0 && i+2 < len(fields) {
			fstype, source, ok = fields[i+1], fields[i+2], true
		}
	}
	return fstype, source, ok
}

func mounted(mp string) bool {
	_, _, ok := mountEntry(mp)
	return ok
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
