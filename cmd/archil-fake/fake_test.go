package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/archil-nix/archil-launch/internal/testkit"
)

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
		// The 0.8 client and the old one.
		{"Generations", testGenerations},
		{"GetoptValue", testGetoptValue},
		{"LauncherOrder", testLauncherOrder},
		{"ProbeKnobs", testProbeKnobs},
		{"VersionSubcommand", testVersionSubcommand},
		{"Status", testStatus},
		{"Metrics", testMetrics},
		{"UnmountForce", testUnmountForce},
		{"Xattrs", testXattrs},
		{"QuietVerbose", testQuietVerbose},
		{"IgnoreReadOnly", testIgnoreReadOnly},
		// The root write delegation.
		{"Coexist", testCoexist},
		{"KilledHolder", testKilledHolder},
		{"TakeOver", testTakeOver},
		{"StrictDelegation", testStrictDelegation},
		{"WriterRace", testWriterRace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, newFake(t, bin))
		})
	}
}

func testVersion(t *testing.T, f *fake) {
	for _, tc := range []struct{ oldClient, want string }{
		{"0", "archil-fake " + version08},
		{"1", "archil-fake " + versionOld},
	} {
		f.env["ARCHIL_FAKE_OLD_CLIENT"] = tc.oldClient
		out, err := f.command(context.Background(), "--version").Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("old-client=%s: --version printed %q, want %q", tc.oldClient, got, tc.want)
		}
	}
}

// Usage errors: stderr names the problem, a hint follows, exit 1 (not
// clap's 2: archil-cli.md says errors exit 1).
func testUsage(t *testing.T, f *fake) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"mount", disk, f.mp, "--region", region, "--no-such-flag"}, "unexpected argument '--no-such-flag' found"},
		{[]string{"mount", disk, f.mp}, "required arguments were not provided:\n  --region <REGION>"},
		{[]string{"mount", disk, "--region", region}, "required arguments were not provided:\n  <MOUNTPOINT>"},
		{[]string{"mount", disk, f.mp, "x", "--region", region}, "unexpected argument 'x' found"},
		{[]string{"mount", disk, f.mp, "--region", region, "--log-level", "info"}, "unexpected argument '--log-level' found"}, // global flag after subcommand
		{[]string{"mount", disk, f.mp, "--region"}, "a value is required for '--region <REGION>'"},
		{[]string{"mount", disk, f.mp, "--region", region, "--max-cache-mb", "lots"}, "invalid value 'lots' for '--max-cache-mb <N>'"},
		{[]string{"mount", disk, f.mp, "--region", region, "--shared=yes"}, "unexpected value 'yes' for '--shared'"},
		{[]string{"--log-level", "loud", "mount", disk, f.mp, "--region", region}, "invalid value 'loud' for '--log-level <LEVEL>'"},
		{[]string{"frobnicate"}, "unrecognized subcommand 'frobnicate'"},
		{[]string{"unmount"}, "required arguments were not provided:\n  <MOUNTPOINT>"},
		{[]string{"status"}, "required arguments were not provided:\n  <MOUNTPOINT>"},
		{[]string{"version", "x"}, "unexpected argument 'x' found"},
		{[]string{}, "requires a subcommand"},
	} {
		stderr, code := f.run(tc.args...)
		if code != 1 || !strings.HasPrefix(stderr, "error: ") || !strings.Contains(stderr, tc.want) || !strings.HasSuffix(stderr, "For more information, try '--help'.\n") {
			t.Errorf("%q: exit %d, want 1 and %q\n%s", tc.args, code, tc.want, stderr)
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
	f.mount("--shared", "--max-cache-mb", "100", "--target-cache-mb", "50", "--enable-xattrs", "--writeback-cache",
		"--log-metrics", "--statistics", "--dentry-ttl-secs", "5", "--sts-region", "us-east-1")
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
