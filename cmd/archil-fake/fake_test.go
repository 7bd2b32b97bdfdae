package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
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
	s := &fgServer{done: make(chan struct{})}
	s.cmd = f.command(context.Background(), "--log-level", "debug", "mount", disk, f.mp, "--region", region, "--no-fork")
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	f.t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
	waitFor(f.t, "mount", func() bool { return mounted(f.mp) || s.exited() })
	if !mounted(f.mp) {
		f.t.Fatalf("server exited before mounting: %v\n%s", s.cmd.ProcessState, &s.stderr)
	}
	return s
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

// TestFake builds archil-fake once and runs every scenario against it.
func TestFake(t *testing.T) {
	bin := testkit.Build(t, "./cmd/archil-fake", filepath.Join(t.TempDir(), "archil-fake"))
	for _, tc := range []struct {
		name string
		test func(t *testing.T, f *fake)
	}{
		{"Version", testVersion},
		{"Usage", testUsage},
		{"NoForkUnmountFlushes", testNoForkUnmount},
		{"Daemon", testDaemon},
		{"PlainUmountLosesPendingWrites", testPlainUmountLoses},
		{"FlushDelayElapses", testFlushDelayElapses},
		{"SigtermLosesPendingWrites", testSigterm},
		{"IgnoreSigterm", testIgnoreSigterm},
		{"CrashAfterLeavesDeadMount", testCrashAfter},
		{"DropAfter", testDropAfter},
		{"UnmountHang", testUnmountHang},
		{"UnmountNotMounted", testUnmountNotMounted},
		{"MountDelay", testMountDelay},
		{"FailMount", testFailMount},
		{"FailFirst", testFailFirst},
		{"Token", testToken},
		{"IAM", testIAM},
		{"CallLog", testCallLog},
		{"LongStatePath", testLongStatePath},
		{"DaemonChildError", testDaemonChildError},
		{"LogDir", testLogDir},
		{"Busy", testBusy},
		{"SigtermAfterLazyDetach", testSigtermAfterDetach},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, newFake(t, bin))
		})
	}
}

func testVersion(t *testing.T, f *fake) {
	out, err := f.command(context.Background(), "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "archil-fake 0.0.0-test" {
		t.Errorf("--version printed %q", got)
	}
}

func testUsage(t *testing.T, f *fake) {
	for _, args := range [][]string{
		{"mount", disk, f.mp, "--region", region, "--no-such-flag"},
		{"mount", disk, f.mp},
		{"mount", disk, "--region", region},
		{"mount", disk, f.mp, "--region", region, "--log-level", "info"}, // global flag after subcommand
		{"frobnicate"},
		{},
	} {
		if stderr, code := f.run(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, stderr)
		}
	}
	writeFile(t, filepath.Join(f.mp, "x"), "x")
	stderr, code := f.run("mount", disk, f.mp, "--region", region, "--no-fork")
	if code != 1 || !strings.Contains(stderr, "not empty") {
		t.Errorf("non-empty mount point: exit %d\n%s", code, stderr)
	}
	stderr, code = f.run("mount", disk, filepath.Join(f.mp, "x"), "--region", region)
	if code != 1 || !strings.Contains(stderr, "not a directory") {
		t.Errorf("file as mount point: exit %d\n%s", code, stderr)
	}
}

func testNoForkUnmount(t *testing.T, f *fake) {
	s := f.startServer()
	fstype, source, _ := mountEntry(f.mp)
	if fstype != "fuse.archil" || source != disk+"["+region+"]" {
		t.Errorf("mountinfo: fstype %q source %q", fstype, source)
	}
	writeFile(t, filepath.Join(f.mp, "hello.txt"), "hello")
	if err := os.MkdirAll(filepath.Join(f.mp, "d", "e"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(f.mp, "d", "e", "f"), "deep")
	if got := readFile(t, filepath.Join(f.mp, "hello.txt")); got != "hello" {
		t.Errorf("read back %q", got)
	}
	// flush-delay 0: durable at close.
	if got := readFile(t, f.backing("hello.txt")); got != "hello" {
		t.Errorf("backing has %q right after close", got)
	}
	if err := os.Rename(filepath.Join(f.mp, "d"), filepath.Join(f.mp, "g")); err != nil {
		t.Fatal(err)
	}
	if exists(f.backing("d")) || readFile(t, f.backing("g/e/f")) != "deep" {
		t.Error("rename not flushed")
	}
	if err := os.Remove(filepath.Join(f.mp, "hello.txt")); err != nil {
		t.Fatal(err)
	}
	if exists(f.backing("hello.txt")) {
		t.Error("unlink not flushed")
	}
	f.mustRun("unmount", f.mp)
	if mounted(f.mp) {
		t.Error("still mounted after unmount returned")
	}
	if s.alive() {
		t.Error("unmount returned before the server exited")
	}
	if code := s.wait(t); code != 0 {
		t.Errorf("server exit %d\n%s", code, &s.stderr)
	}
}

func testDaemon(t *testing.T, f *fake) {
	f.mount("--shared", "--max-cache-mb", "100", "--target-cache-mb", "50", "--disable-xattrs", "--statistics")
	writeFile(t, filepath.Join(f.mp, "a"), "daemon")
	f.mustRun("unmount", f.mp)
	if mounted(f.mp) {
		t.Error("still mounted after unmount")
	}
	if got := readFile(t, f.backing("a")); got != "daemon" {
		t.Errorf("backing has %q", got)
	}
	if entries, _ := os.ReadDir(filepath.Join(f.state, "ctl")); len(entries) != 0 {
		t.Errorf("control socket left behind: %v", entries)
	}
	// A new mount starts from backing.
	f.mount()
	if got := readFile(t, filepath.Join(f.mp, "a")); got != "daemon" {
		t.Errorf("remount reads %q", got)
	}
	f.mustRun("unmount", f.mp)
}

func testPlainUmountLoses(t *testing.T, f *fake) {
	f.knob("flush-delay", "5")
	f.mount()
	writeFile(t, filepath.Join(f.mp, "kept"), "kept")
	if exists(f.backing("kept")) {
		t.Error("write reached backing before flush-delay")
	}
	f.mustRun("unmount", f.mp)
	if got := readFile(t, f.backing("kept")); got != "kept" {
		t.Errorf("archil-fake unmount did not flush: backing has %q", got)
	}

	s := f.startServer()
	writeFile(t, filepath.Join(f.mp, "lost"), "lost")
	if err := syscall.Unmount(f.mp, 0); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t); code != 0 {
		t.Errorf("server exit %d after plain umount\n%s", code, &s.stderr)
	}
	if exists(f.backing("lost")) {
		t.Error("plain umount flushed a pending write")
	}
	f.mount()
	if exists(filepath.Join(f.mp, "lost")) || !exists(filepath.Join(f.mp, "kept")) {
		t.Error("remount does not show backing")
	}
	f.mustRun("unmount", f.mp)
}

func testFlushDelayElapses(t *testing.T, f *fake) {
	f.env["ARCHIL_FAKE_FLUSH_DELAY"] = "2" // env wins over the file
	f.knob("flush-delay", "100")
	f.mount()
	writeFile(t, filepath.Join(f.mp, "later"), "later")
	if exists(f.backing("later")) {
		t.Error("write reached backing at once")
	}
	waitFor(t, "the delayed flush", func() bool { return exists(f.backing("later")) })
	f.mustRun("unmount", f.mp)
}

func testSigterm(t *testing.T, f *fake) {
	f.knob("flush-delay", "5")
	s := f.startServer()
	writeFile(t, filepath.Join(f.mp, "lost"), "lost")
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t); code != 0 {
		t.Errorf("exit %d after SIGTERM\n%s", code, &s.stderr)
	}
	if mounted(f.mp) {
		t.Error("still mounted after SIGTERM")
	}
	if exists(f.backing("lost")) {
		t.Error("SIGTERM flushed a pending write")
	}
}

func testIgnoreSigterm(t *testing.T, f *fake) {
	f.knob("ignore-sigterm", "")
	s := f.startServer()
	s.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	if !s.alive() || !mounted(f.mp) {
		t.Fatal("SIGTERM was not ignored")
	}
	s.cmd.Process.Kill()
	s.wait(t)
	if _, err := os.Stat(f.mp); !errors.Is(err, syscall.ENOTCONN) {
		t.Errorf("after KILL: stat gives %v, want ENOTCONN", err)
	}
}

func testCrashAfter(t *testing.T, f *fake) {
	f.knob("crash-after", "0.3")
	f.mount()
	waitFor(t, "ENOTCONN", func() bool {
		_, err := os.Stat(f.mp)
		return errors.Is(err, syscall.ENOTCONN)
	})
	if fstype, _, _ := mountEntry(f.mp); fstype != "fuse.archil" {
		t.Errorf("dead mount has fstype %q in mountinfo", fstype)
	}
	stderr, code := f.run("unmount", f.mp)
	if code != 1 || !strings.Contains(stderr, "dead") {
		t.Errorf("unmount of a dead mount: exit %d\n%s", code, stderr)
	}
	if !mounted(f.mp) {
		t.Error("unmount detached the dead mount itself")
	}
	stderr, code = f.run("mount", disk, f.mp, "--region", region)
	if code != 1 {
		t.Errorf("mount over a dead mount: exit %d\n%s", code, stderr)
	}
}

func testDropAfter(t *testing.T, f *fake) {
	f.knob("drop-after", "1") // long enough for startServer to see the mount
	s := f.startServer()
	// Read before mounting: clearing it once mounted changes nothing.
	if err := os.Remove(filepath.Join(f.state, "knobs", "drop-after")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the mount to vanish", func() bool { return !mounted(f.mp) })
	time.Sleep(200 * time.Millisecond)
	if !s.alive() {
		t.Fatalf("server exited after drop\n%s", &s.stderr)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t); code != 0 {
		t.Errorf("exit %d after SIGTERM\n%s", code, &s.stderr)
	}
}

func testUnmountHang(t *testing.T, f *fake) {
	s := f.startServer()
	f.env["ARCHIL_FAKE_UNMOUNT_HANG"] = "1"
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := f.command(ctx, "unmount", f.mp).Run()
	if ctx.Err() == nil {
		t.Fatalf("unmount returned: %v", err)
	}
	if !mounted(f.mp) || !s.alive() {
		t.Error("hanging unmount unmounted")
	}
	delete(f.env, "ARCHIL_FAKE_UNMOUNT_HANG")
	f.mustRun("unmount", f.mp)
}

func testUnmountNotMounted(t *testing.T, f *fake) {
	stderr, code := f.run("unmount", f.mp)
	if code != 1 || !strings.Contains(stderr, "not mounted") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}

func testMountDelay(t *testing.T, f *fake) {
	f.knob("mount-delay", "0.7")
	start := time.Now()
	f.mount()
	if d := time.Since(start); d < 700*time.Millisecond {
		t.Errorf("mounted after %v", d)
	}
	f.mustRun("unmount", f.mp)
}

func testFailMount(t *testing.T, f *fake) {
	f.env["ARCHIL_FAKE_FAIL_MOUNT"] = "1"
	for _, mode := range []string{"--no-fork", "--shared"} {
		stderr, code := f.run("mount", disk, f.mp, "--region", region, mode)
		if code != 1 || stderr != "error: mount failed: simulated failure\n" {
			t.Errorf("%s: exit %d, stderr %q", mode, code, stderr)
		}
	}
	if mounted(f.mp) {
		t.Error("mounted")
	}
}

func testFailFirst(t *testing.T, f *fake) {
	f.knob("fail-first", "2")
	for i := range 2 {
		stderr, code := f.run("mount", disk, f.mp, "--region", region)
		if code != 1 || !strings.Contains(stderr, "simulated failure") {
			t.Errorf("attempt %d: exit %d\n%s", i+1, code, stderr)
		}
	}
	f.mount()
	f.mustRun("unmount", f.mp)
	if got := strings.TrimSpace(readFile(t, filepath.Join(f.state, "attempts"))); got != "3" {
		t.Errorf("attempts = %q", got)
	}
}

func testToken(t *testing.T, f *fake) {
	if err := os.MkdirAll(f.state, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(f.state, "expect-token"), token)
	f.env["ARCHIL_MOUNT_TOKEN"] = token + "x"
	stderr, code := f.run("mount", disk, f.mp, "--region", region, "--no-fork")
	if code != 1 || !strings.Contains(stderr, "authentication failed") {
		t.Errorf("wrong token: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, token) {
		t.Error("token printed")
	}
	f.env["ARCHIL_MOUNT_TOKEN"] = ""
	if _, code := f.run("mount", disk, f.mp, "--region", region); code != 1 {
		t.Errorf("empty token: exit %d", code)
	}
	f.env["ARCHIL_MOUNT_TOKEN"] = token
	f.mount()
	f.mustRun("unmount", f.mp)
}

func testIAM(t *testing.T, f *fake) {
	var role atomic.Value
	role.Store("archil-role")
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			w.Write([]byte("imds-token"))
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/" &&
			r.Header.Get("X-aws-ec2-metadata-token") == "imds-token" && role.Load() != "":
			w.Write([]byte(role.Load().(string) + "\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer imds.Close()
	delete(f.env, "ARCHIL_MOUNT_TOKEN")
	f.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.URL
	f.mount()
	f.mustRun("unmount", f.mp)

	role.Store("")
	stderr, code := f.run("mount", disk, f.mp, "--region", region)
	if code != 1 || !strings.HasPrefix(stderr, "error: no IAM role: ") {
		t.Errorf("no role: exit %d\n%s", code, stderr)
	}
	f.knob("iam-skip", "")
	f.mount()
	f.mustRun("unmount", f.mp)
}

func testCallLog(t *testing.T, f *fake) {
	f.env["SOME_SECRET_HOLDER"] = "not-logged-value"
	f.run("mount", disk, f.mp, "--region", region, "--auth-token", "argv-token", "-f", "--no-fork", "--bogus")
	f.mount()
	f.mustRun("unmount", f.mp)
	raw := readFile(t, filepath.Join(f.state, "calls.log"))
	for _, secret := range []string{token, "not-logged-value", "argv-token"} {
		if strings.Contains(raw, secret) {
			t.Errorf("call log contains %q", secret)
		}
	}
	var calls []call
	for line := range strings.Lines(raw) {
		var c call
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		calls = append(calls, c)
	}
	// The daemon child of the second mount is part of that call.
	if len(calls) != 3 {
		t.Fatalf("got %d calls, want 3:\n%s", len(calls), raw)
	}
	first := calls[0]
	if !slices.Contains(first.Argv, "--auth-token") || !slices.Contains(first.Argv, "-f") {
		t.Errorf("argv %q lacks the flags passed", first.Argv)
	}
	if first.TokenLen != len(token) || first.PID == 0 || first.Time == "" {
		t.Errorf("call %+v", first)
	}
	if !slices.Contains(first.Env, "ARCHIL_MOUNT_TOKEN") || !slices.Contains(first.Env, "SOME_SECRET_HOLDER") || !slices.IsSorted(first.Env) {
		t.Errorf("env names %q", first.Env)
	}
	if got := calls[2].Argv[1:]; !slices.Equal(got, []string{"unmount", f.mp}) {
		t.Errorf("third call argv %q", got)
	}
}

// A state directory too long for a unix socket address still works.
func testLongStatePath(t *testing.T, f *fake) {
	f.state = filepath.Join(f.state, strings.Repeat("s", 60), strings.Repeat("t", 60))
	f.env["ARCHIL_FAKE_STATE"] = f.state
	s := f.startServer()
	writeFile(t, filepath.Join(f.mp, "a"), "a")
	f.mustRun("unmount", f.mp)
	if code := s.wait(t); code != 0 {
		t.Errorf("server exit %d\n%s", code, &s.stderr)
	}
	if got := readFile(t, f.backing("a")); got != "a" {
		t.Errorf("backing has %q", got)
	}
}

// An error in the daemon child reaches the caller of mount.
func testDaemonChildError(t *testing.T, f *fake) {
	if err := os.MkdirAll(f.state, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(f.state, "cache"), "not a directory")
	stderr, code := f.run("mount", disk, f.mp, "--region", region)
	if code != 1 || !strings.Contains(stderr, "failed to create disk directory") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
	if mounted(f.mp) {
		t.Error("mounted")
	}
}

func testLogDir(t *testing.T, f *fake) {
	logDir := filepath.Join(t.TempDir(), "logs")
	f.mount("--log-dir", logDir)
	f.mustRun("unmount", f.mp)
	log := readFile(t, filepath.Join(logDir, "archil-fake.log"))
	for _, event := range []string{"mounted", "unmounting", "flushed", "exiting"} {
		if !strings.Contains(log, event) {
			t.Errorf("daemon log lacks %q:\n%s", event, log)
		}
	}
}

// A busy mount: unmount fails and the server keeps serving, with the
// pending writes flushed; once the file is closed unmount works.
func testBusy(t *testing.T, f *fake) {
	f.knob("flush-delay", "5")
	s := f.startServer()
	file, err := os.Create(filepath.Join(f.mp, "open"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if _, err := file.WriteString("busy"); err != nil {
		t.Fatal(err)
	}
	if err := file.Sync(); err != nil {
		t.Fatal(err)
	}
	stderr, code := f.run("unmount", f.mp)
	if code != 1 || !mounted(f.mp) || !s.alive() {
		t.Fatalf("unmount of a busy mount: exit %d, mounted %v\n%s", code, mounted(f.mp), stderr)
	}
	if got := readFile(t, f.backing("open")); got != "busy" {
		t.Errorf("backing has %q after the failed unmount", got)
	}
	file.Close()
	f.mustRun("unmount", f.mp)
	if code := s.wait(t); code != 0 {
		t.Errorf("server exit %d\n%s", code, &s.stderr)
	}
}

// The launcher's last resort: lazy detach while busy, then SIGTERM.
func testSigtermAfterDetach(t *testing.T, f *fake) {
	s := f.startServer()
	file, err := os.Open(f.mp)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if err := syscall.Unmount(f.mp, syscall.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(t); code != 0 {
		t.Errorf("exit %d after SIGTERM\n%s", code, &s.stderr)
	}
}
