package launcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/archil-nix/archil-launch/internal/testkit"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// TestLifecycle runs the launcher against cmd/archil-fake, a real FUSE
// mount, in the test's private mount namespace, one case per path of
// DESIGN.md's lifecycle.
func TestLifecycle(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("no /dev/fuse: %v", err)
	}
	bin := buildFake(t, t.TempDir())
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, bin string)
	}{
		{"StartStop", testStartStop},
		{"ReadOnly", testReadOnly},
		{"ReadOnlyOldClient", testReadOnlyOldClient},
		{"ReaderBesideWriter", testReaderBesideWriter},
		{"FlushOnStop", testFlushOnStop},
		{"UnmountReturnsEarly", testUnmountReturnsEarly},
		{"StopDuringMountDelay", testStopDuringMountDelay},
		{"StopBeforeMounting", testStopBeforeMounting},
		{"StopWhileResolving", testStopWhileResolving},
		{"ReadyTimeout", testReadyTimeout},
		{"ChildFails", testChildFails},
		{"WrongToken", testWrongToken},
		{"ChildKilled", testChildKilled},
		{"ChildKilledStuck", testChildKilledStuck},
		{"ChildCrashes", testChildCrashes},
		{"MountDropped", testMountDropped},
		{"MountDroppedIgnoreSigterm", testMountDroppedIgnoreSigterm},
		{"UnmountHangs", testUnmountHangs},
		{"Watchdog", testWatchdog},
		{"RefuseFile", testRefuseFile},
		{"RefuseNonEmptyDir", testRefuseNonEmptyDir},
		{"RefuseOtherMount", testRefuseOtherMount},
		{"RefuseSymlink", testRefuseSymlink},
		{"RefuseSymlinkParent", testRefuseSymlinkParent},
		{"CoveredMount", testCoveredMount},
		{"CoveredByArchil", testCoveredByArchil},
		{"StaleDeadMount", testStaleDeadMount},
		{"StaleLiveMount", testStaleLiveMount},
		{"StaleHungMount", testStaleHungMount},
		{"Cycles", testCycles},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, bin) })
	}
}

func testStartStop(t *testing.T, bin string) {
	f := newFixture(t, bin)
	f.knob("mount-delay", "0.2")
	r := f.start()
	r.waitReady() // asserts the mount answers when READY=1 arrives

	fi, err := os.Stat(filepath.Dir(f.cfg.MountPoint))
	testkit.Must(t, err)
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("created parent has mode %v, want 0755", fi.Mode().Perm())
	}

	// The token is in the client's environment, not its command line.
	pid := f.mountPid()
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	testkit.Must(t, err)
	if strings.Contains(string(cmdline), f.token) {
		t.Errorf("token in the client's command line")
	}
	environ, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	testkit.Must(t, err)
	env := strings.Split(strings.TrimRight(string(environ), "\x00"), "\x00")
	if !slices.Contains(env, tokenEnv+"="+f.token) {
		t.Errorf("token not in the client's environment")
	}
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name == "NOTIFY_SOCKET" || name == "CREDENTIALS_DIRECTORY" || strings.HasPrefix(name, "WATCHDOG_") {
			t.Errorf("client inherited %s", name)
		}
	}
	want := []string{bin, "mount", "acme/data", f.cfg.MountPoint, "--no-fork", "--region", "aws-us-east-1"}
	if got := f.calls()[0].Argv; !slices.Equal(got, want) {
		t.Errorf("argv = %q, want %q", got, want)
	}

	testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "hello.txt"), []byte("hello"), 0o644))
	r.stopClean()
	if n := r.waitNote("STOPPING=1"); n == "" {
		t.Error("no STOPPING=1")
	}
	b, err := os.ReadFile(filepath.Join(f.state, "backing", "acme_data", "hello.txt"))
	if err != nil || string(b) != "hello" {
		t.Errorf("backing store has %q, %v; want hello", b, err)
	}
	if !strings.Contains(f.out.String(), "archil unmount finished") {
		t.Errorf("log does not show the archil unmount:\n%s", f.out)
	}
}

func testReadOnly(t *testing.T, bin string) {
	f := newFixture(t, bin)
	f.cfg.ReadOnly = true
	// A client that takes --read-only but mounts read-write: the
	// launcher's own per-mount flag must still refuse every write.
	f.knob("ignore-read-only", "1")
	testkit.Must(t, os.MkdirAll(filepath.Join(f.state, "backing", "acme_data"), 0o755))
	testkit.Must(t, os.WriteFile(filepath.Join(f.state, "backing", "acme_data", "old.txt"), []byte("old"), 0o644))
	r := f.start()
	r.waitReady()
	if !slices.Contains(f.calls()[0].Argv, "--read-only") {
		t.Errorf("the client was not given --read-only: %q", f.calls()[0].Argv)
	}
	if b, err := os.ReadFile(filepath.Join(f.cfg.MountPoint, "old.txt")); err != nil || string(b) != "old" {
		t.Errorf("read through the mount: %q, %v", b, err)
	}
	err := os.WriteFile(filepath.Join(f.cfg.MountPoint, "new.txt"), []byte("x"), 0o644)
	if !errors.Is(err, syscall.EROFS) {
		t.Errorf("write to a read-only mount: %v, want EROFS", err)
	}
	r.stopClean()
}

// An old client rejects --read-only: the launcher fails at once with the
// client's own words, it does not wait for a mount that never comes.
func testReadOnlyOldClient(t *testing.T, bin string) {
	f := newFixture(t, bin)
	f.cfg.ReadOnly = true
	f.knob("old-client", "1")
	err := f.start().wait()
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "--read-only") || !strings.Contains(err.Error(), "exited before the mount was ready") {
		t.Fatalf("err = %v (exit %d), want exit 1 quoting the client's refusal of --read-only", err, ExitCode(err))
	}
	f.assertClean(err)
}

// A reader (--read-only) and a writer of one disk, on two mount points:
// the reader takes no write delegation, so both come up; writes go
// through the writer only.
func testReaderBesideWriter(t *testing.T, bin string) {
	f := newFixture(t, bin)
	writer := f.start()
	writer.waitReady()
	reader := *f.cfg
	reader.Name, reader.ReadOnly = "reader", true
	reader.MountPoint = filepath.Join(f.dir, "mnt", "reader")
	rr := startWith(f, &reader)
	if err, ready := readyOrDone(t, rr); !ready {
		t.Fatalf("the reader did not come up beside the writer: %v\n%s", err, f.out)
	}
	testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "w.txt"), []byte("w"), 0o644))
	if err := os.WriteFile(filepath.Join(reader.MountPoint, "r.txt"), []byte("r"), 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("write through the reader: %v, want EROFS", err)
	}
	// A second writer of the disk is refused while the first holds it.
	second := *f.cfg
	second.Name, second.MountPoint = "second", filepath.Join(f.dir, "mnt", "second")
	err := startWith(f, &second).wait()
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "checked out by another client") {
		t.Errorf("a second writer of the disk: %v, want refused by the client", err)
	}
	if err := rr.stop(); err != nil {
		t.Errorf("reader stop: %v", err)
	}
	writer.stopClean()
}

func testFlushOnStop(t *testing.T, bin string) {
	f := newFixture(t, bin)
	f.knob("flush-delay", "600") // only `archil unmount` gets it to the backing store
	r := f.start()
	r.waitReady()
	testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "late.txt"), []byte("written just before stop"), 0o644))
	r.stopClean()
	b, err := os.ReadFile(filepath.Join(f.state, "backing", "acme_data", "late.txt"))
	if err != nil || string(b) != "written just before stop" {
		t.Errorf("backing store has %q, %v", b, err)
	}
}

// A client whose `archil unmount` returns once flushed, a moment before
// the kernel drops its mount: the stop waits for it, no fallback.
func testUnmountReturnsEarly(t *testing.T, bin string) {
	f := newFixture(t, bin)
	f.knob("flush-delay", "600")
	f.knob("unmount-lag", "0.3")
	r := f.start()
	r.waitReady()
	testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "late.txt"), []byte("late"), 0o644))
	err := r.stop()
	if err != nil {
		t.Fatalf("stop: %v, want a clean stop\n%s", err, f.out)
	}
	f.assertClean(err)
	if strings.Contains(f.out.String(), "umount(2)") {
		t.Errorf("fell back to umount(2):\n%s", f.out)
	}
	if b, err := os.ReadFile(filepath.Join(f.state, "backing", "acme_data", "late.txt")); err != nil || string(b) != "late" {
		t.Errorf("backing store has %q, %v", b, err)
	}
}

func testStopDuringMountDelay(t *testing.T, bin string) {
	f := newFixture(t, bin)
	f.knob("mount-delay", "600")
	r := f.start()
	r.waitNote("STATUS=Mounting") // the client runs
	err := r.stop()
	if err != nil {
		t.Fatalf("stop before READY: %v, want nil\n%s", err, f.out)
	}
	f.assertClean(err)
	if !strings.Contains(f.out.String(), "before the mount was ready") {
		t.Errorf("log does not say the mount was cancelled:\n%s", f.out)
	}
}

func testReadyTimeout(t *testing.T, bin string) {
	f := newFixture(t, bin)
	f.knob("mount-delay", "600")
	f.cfg.ReadyTimeout = 500 * time.Millisecond
	r := f.start()
	err := r.wait()
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "did not appear within") {
		t.Fatalf("err = %v (exit %d), want a ready timeout with exit 1", err, ExitCode(err))
	}
	f.assertClean(err)
	if n := r.waitNote("STATUS=Failed"); !strings.Contains(n, "did not appear within") {
		t.Errorf("status %q, want the reason", n)
	}
}

func testChildFails(t *testing.T, bin string) {
	f := newFixture(t, bin)
	f.knob("fail-mount", "1")
	err := f.start().wait()
	if ExitCode(err) != 1 {
		t.Errorf("exit %d, want 1", ExitCode(err))
	}
	if err == nil || !strings.Contains(err.Error(), "exit status 1") ||
		!strings.Contains(err.Error(), "simulated failure") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %q, want one line with the status and the client's last stderr", err)
	}
	f.assertClean(err)
}

func testWrongToken(t *testing.T, bin string) {
	f := newFixture(t, bin)
	testkit.Must(t, os.WriteFile(filepath.Join(f.state, "expect-token"), []byte("another-token"), 0o600))
	err := f.start().wait()
	if err == nil || ExitCode(err) == 0 {
		t.Fatalf("err = %v, want a failure", err)
	}
	f.assertClean(err)
}

func testChildKilled(t *testing.T, bin string) {
	f := newFixture(t, bin)
	r := f.start()
	r.waitReady()
	testkit.Must(t, syscall.Kill(f.mountPid(), syscall.SIGKILL))
	err := r.wait()
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "signal: killed") {
		t.Errorf("err = %v (exit %d), want exit 1 naming the signal", err, ExitCode(err))
	}
	f.assertClean(err) // the dead mount was detached
}

// testChildKilledStuck kills a client that holds a file of its own mount
// open. Its exit then hangs in the kernel, flushing that file to itself:
// a zombie that no pidfd reports. The launcher must notice it anyway (a
// test with stuckCheck at 5 s took 5 s) and free it by aborting the
// connection.
func testChildKilledStuck(t *testing.T, bin string) {
	old := stuckCheck
	stuckCheck = 100 * time.Millisecond
	t.Cleanup(func() { stuckCheck = old })
	f := newFixture(t, bin)
	f.knob("hold-own-file", "1")
	r := f.start()
	r.waitReady()
	f.waitLogged("holding a file of its own mount open")
	testkit.Must(t, syscall.Kill(f.mountPid(), syscall.SIGKILL))
	err := r.wait()
	if ExitCode(err) != 1 {
		t.Errorf("err = %v (exit %d), want exit 1", err, ExitCode(err))
	}
	if !strings.Contains(f.out.String(), "aborted the FUSE connection") {
		t.Errorf("the launcher did not abort the stuck client's connection:\n%s", f.out)
	}
	f.assertClean(err)
}

// failsAlone runs the launcher with the double's knobs set (name, value
// pairs), calls act (if any) once the mount is ready, and waits until the
// launcher ends on its own; then it checks the exit status, that the error
// holds want, and that nothing is left behind.
func failsAlone(t *testing.T, bin string, act func(*fixture), code int, want string, knobs ...string) {
	f := newFixture(t, bin)
	for i := 0; i+1 < len(knobs); i += 2 {
		f.knob(knobs[i], knobs[i+1])
	}
	r := f.start()
	if act != nil {
		r.waitReady()
		act(f)
	}
	err := r.wait()
	if ExitCode(err) != code || err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v (exit %d), want exit %d with %q", err, ExitCode(err), code, want)
	}
	f.assertClean(err)
}

// The client's exit status, and its last stderr line in the error.
func testChildCrashes(t *testing.T, bin string) {
	failsAlone(t, bin, nil, 3, "crashing", "crash-after", "1")
}

// The test detaches the mount after READY rather than setting the
// double's drop-after knob: a slow start could let the knob's timer win.
func testMountDropped(t *testing.T, bin string) {
	failsAlone(t, bin, (*fixture).drop, 1, "disappeared")
}

// A client that ignores SIGTERM is killed after the grace period.
func testMountDroppedIgnoreSigterm(t *testing.T, bin string) {
	failsAlone(t, bin, (*fixture).drop, 1, "signal: killed", "ignore-sigterm", "1")
}

func testUnmountHangs(t *testing.T, bin string) {
	f := newFixture(t, bin)
	f.knob("unmount-hang", "1")
	f.cfg.StopTimeout = time.Second
	r := f.start()
	r.waitReady()
	err := r.stop()
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "did not finish within 1s") {
		t.Errorf("err = %v (exit %d), want exit 1 for a hung unmount", err, ExitCode(err))
	}
	if !strings.Contains(f.out.String(), "pending writes may be lost") {
		t.Errorf("log does not warn about lost writes:\n%s", f.out)
	}
	f.assertClean(err)
}

func testWatchdog(t *testing.T, bin string) {
	f := newFixture(t, bin)
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	r := f.start()
	if n := r.waitNote("READY=1"); !strings.Contains(n, "WATCHDOG=1") {
		t.Errorf("READY without a watchdog ping: %q", n)
	}
	for range 3 {
		r.waitNote("WATCHDOG=1")
	}
	r.stopClean()
}

// A stop that comes before the client starts (during preflight):
// STOPPING=1, no client started, exit 0.
func testStopBeforeMounting(t *testing.T, bin string) {
	f := newFixture(t, bin)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := run(ctx, nil, f.cfg, f.logger(), f.result()); err != nil {
		t.Fatalf("stop before mounting: %v\n%s", err, f.out)
	}
	if len(f.calls()) != 0 {
		t.Errorf("the client was run: %+v", f.calls())
	}
	f.expectNote("STOPPING=1")
	f.assertClean(nil)
}

// A stop while the IAM probe waits for a metadata service that does not
// answer: STOPPING=1, nothing started or created, exit 0.
func testStopWhileResolving(t *testing.T, bin string) {
	f := newFixture(t, bin)
	hold := make(chan struct{})
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hold }))
	defer imds.Close()
	defer close(hold)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	f.cfg.AuthMethod, f.cfg.IMDSTimeout = config.AuthIAM, time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := Run(ctx, nil, f.cfg, f.logger()); err != nil {
		t.Fatalf("stop while resolving: %v\n%s", err, f.out)
	}
	f.expectNote("STOPPING=1")
	if !strings.Contains(f.out.String(), "stop requested while resolving") || len(f.calls()) != 0 {
		t.Errorf("want a stop before anything ran:\n%s", f.out)
	}
	if _, err := os.Stat(f.cfg.MountPoint); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("mount point created: %v", err)
	}
}

// refused runs the launcher on the fixture's prepared mount point and
// checks that it failed with want and that nothing was started.
func refused(t *testing.T, f *fixture, want string) {
	t.Helper()
	err := f.start().wait()
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v (exit %d), want exit 1 with %q", err, ExitCode(err), want)
	}
	if len(f.calls()) != 0 {
		t.Errorf("the client was run: %+v", f.calls())
	}
	f.assertClean(err)
}

func testRefuseFile(t *testing.T, bin string) {
	f := newFixture(t, bin)
	testkit.Must(t, os.MkdirAll(filepath.Dir(f.cfg.MountPoint), 0o755))
	testkit.Must(t, os.WriteFile(f.cfg.MountPoint, []byte("keep me"), 0o600))
	refused(t, f, "is not a directory")
	if b, err := os.ReadFile(f.cfg.MountPoint); err != nil || string(b) != "keep me" {
		t.Errorf("file changed: %q, %v", b, err)
	}
}

func testRefuseNonEmptyDir(t *testing.T, bin string) {
	f := newFixture(t, bin)
	testkit.Must(t, os.MkdirAll(f.cfg.MountPoint, 0o700))
	testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "keep"), []byte("keep me"), 0o600))
	refused(t, f, "is not empty")
	if b, err := os.ReadFile(filepath.Join(f.cfg.MountPoint, "keep")); err != nil || string(b) != "keep me" {
		t.Errorf("file changed: %q, %v", b, err)
	}
	if fi, err := os.Stat(f.cfg.MountPoint); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("mount point changed: %v, %v", fi.Mode(), err)
	}
}

func testRefuseOtherMount(t *testing.T, bin string) {
	f := newFixture(t, bin)
	testkit.Must(t, os.MkdirAll(f.cfg.MountPoint, 0o755))
	testkit.Must(t, unix.Mount("tmpfs", f.cfg.MountPoint, "tmpfs", 0, "size=1m"))
	testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "theirs"), []byte("x"), 0o644))
	refused(t, f, "already has a tmpfs mount")
	top, err := mountinfo.CurrentTop(f.cfg.MountPoint)
	testkit.Must(t, err)
	if top == nil || top.FSType != "tmpfs" {
		t.Fatalf("the tmpfs is gone: %+v", top)
	}
	if _, err := os.Stat(filepath.Join(f.cfg.MountPoint, "theirs")); err != nil {
		t.Errorf("tmpfs content changed: %v", err)
	}
	testkit.Must(t, unix.Unmount(f.cfg.MountPoint, 0))
}

func testRefuseSymlink(t *testing.T, bin string) {
	f := newFixture(t, bin)
	target := filepath.Join(f.dir, "elsewhere")
	testkit.Must(t, os.MkdirAll(target, 0o755))
	testkit.Must(t, os.MkdirAll(filepath.Dir(f.cfg.MountPoint), 0o755))
	testkit.Must(t, os.Symlink(target, f.cfg.MountPoint))
	refused(t, f, "is a symlink")
}

// A link in the parent path would mount under the resolved path, where
// the launcher could not find its own mount.
func testRefuseSymlinkParent(t *testing.T, bin string) {
	f := newFixture(t, bin)
	real := filepath.Join(f.dir, "real")
	testkit.Must(t, os.MkdirAll(real, 0o755))
	link := filepath.Join(f.dir, "link")
	testkit.Must(t, os.Symlink(real, link))
	f.cfg.MountPoint = filepath.Join(link, "deeper", "mnt")
	refused(t, f, link+" is not a real directory (it is a symlink); every directory above a mount point")
	if _, err := os.Lstat(filepath.Join(real, "deeper")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("something was created behind the link: %v", err)
	}
}

// Someone mounts a tmpfs over the live mount: the launcher exits non-zero
// and never touches the tmpfs.
func testCoveredMount(t *testing.T, bin string) {
	f := newFixture(t, bin)
	r := f.start()
	r.waitNote("READY=1")

	// Covered and uncovered while running: the archil mount stays, the
	// launcher keeps supervising it, and a stop after is clean.
	testkit.Must(t, unix.Mount("tmpfs", f.cfg.MountPoint, "tmpfs", 0, "size=1m"))
	f.waitLogged("another mount covers the archil mount")
	testkit.Must(t, unix.Unmount(f.cfg.MountPoint, 0))
	f.waitLogged("the archil mount is on top again")
	select {
	case err := <-r.done:
		t.Fatalf("launcher ended while its mount was covered: %v\n%s", err, f.out)
	default:
	}
	f.assertMounted()
	testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "kept"), []byte("kept"), 0o644))

	// Stopped while covered: `archil unmount <path>` would reach the
	// other mount, so it is not run; the exit says the flush was missed,
	// and the other mount is left exactly as it was.
	testkit.Must(t, unix.Mount("tmpfs", f.cfg.MountPoint, "tmpfs", 0, "size=1m"))
	testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "theirs"), []byte("x"), 0o644))
	f.waitLoggedTimes("another mount covers the archil mount", 2)
	err := r.stop()
	if ExitCode(err) == 0 {
		t.Errorf("exit 0 with the archil mount covered, want non-zero: %v", err)
	}
	top, terr := mountinfo.CurrentTop(f.cfg.MountPoint)
	testkit.Must(t, terr)
	if top == nil || top.FSType != "tmpfs" {
		t.Fatalf("the tmpfs is gone: %+v\n%s", top, f.out)
	}
	if _, err := os.Stat(filepath.Join(f.cfg.MountPoint, "theirs")); err != nil {
		t.Errorf("tmpfs content changed: %v", err)
	}
	// Once the other mount is gone, the next start clears what is left of
	// ours under it (a dead mount: its client was stopped).
	testkit.Must(t, unix.Unmount(f.cfg.MountPoint, 0))
	r = f.start()
	r.waitReady()
	r.stopClean()
}

// Another archil client's mount over ours: a stop must neither run
// `archil unmount` on that one nor unmount it; ours stays under it.
func testCoveredByArchil(t *testing.T, bin string) {
	f := newFixture(t, bin)
	r := f.start()
	r.waitReady()
	ours, err := mountinfo.CurrentTop(f.cfg.MountPoint)
	testkit.Must(t, err)
	other := startOrphan(t, f)
	var top *mountinfo.Entry
	for deadline := time.Now().Add(hangGuard); ; time.Sleep(5 * time.Millisecond) {
		top, err = mountinfo.CurrentTop(f.cfg.MountPoint)
		testkit.Must(t, err)
		if top.ID != ours.ID && strings.Count(f.out.String(), "info: mounted") == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second client did not mount over ours:\n%s", f.out)
		}
	}
	if err := r.stop(); ExitCode(err) == 0 {
		t.Errorf("exit 0 with the archil mount covered, want non-zero: %v", err)
	}
	now, err := mountinfo.CurrentTop(f.cfg.MountPoint)
	testkit.Must(t, err)
	if now == nil || now.ID != top.ID {
		t.Fatalf("the other client's mount was touched: %+v, was %+v\n%s", now, top, f.out)
	}
	if n := len(f.calls()); n != 2 {
		t.Errorf("want two mount calls and no unmount, got %+v", f.calls())
	}
	other.terminate(killGrace)
	_, _ = detachArchil(f.cfg.MountPoint, anyArchil, logline.Discard())
}

// startOrphan starts a client the way a killed launcher would have left
// it: mounted, with nobody supervising it.
func startOrphan(t *testing.T, f *fixture) *proc {
	t.Helper()
	return startClientAt(t, f, f.cfg.MountPoint)
}

// startClientAt starts the fixture's client on mount point mp, unsupervised,
// and waits until it has mounted.
func startClientAt(t *testing.T, f *fixture, mp string) *proc {
	t.Helper()
	cfg := *f.cfg
	cfg.MountPoint = mp
	testkit.Must(t, os.MkdirAll(mp, 0o755))
	env := childEnv(os.Environ(), cfg.AuthMethod, cfg.PassEnv, f.token)
	p, err := startProc(cfg.Archil, mountArgs(&cfg), env)
	testkit.Must(t, err)
	t.Cleanup(func() { p.terminate(killGrace) })
	w, err := newWatch(t.Context())
	testkit.Must(t, err)
	defer w.close()
	deadline := time.Now().Add(hangGuard)
	for {
		top, err := w.top(mp)
		testkit.Must(t, err)
		if isArchil(top) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("orphan did not mount\n%s", f.out)
		}
		_, err = w.wait(time.Until(deadline))
		testkit.Must(t, err)
	}
	return p
}

// freeze stops pid with SIGSTOP and waits until every thread of it has
// stopped: kill(2) returns before that, and a thread still running could
// yet answer a FUSE request.
func freeze(t *testing.T, pid int) {
	t.Helper()
	testkit.Must(t, syscall.Kill(pid, syscall.SIGSTOP))
	deadline := time.Now().Add(hangGuard)
	for !allStopped(t, pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not stop", pid)
		}
		time.Sleep(time.Millisecond)
	}
}

// allStopped reports whether every thread of pid is in state T.
func allStopped(t *testing.T, pid int) bool {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	testkit.Must(t, err)
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // a thread that just exited
		}
		testkit.Must(t, err)
		// pid (comm) state ...: comm may hold spaces and parentheses.
		rest := b[bytes.LastIndexByte(b, ')')+1:]
		if f := bytes.Fields(rest); len(f) == 0 || string(f[0]) != "T" {
			return false
		}
	}
	return len(stats) > 0
}

// reapOrphan waits for an orphan to exit and reaps it.
func reapOrphan(t *testing.T, p *proc) {
	t.Helper()
	if ok, err := p.waitExit(hangGuard); !ok || err != nil {
		t.Fatalf("orphan did not exit: %v", err)
	}
	p.reap()
}

func testStaleDeadMount(t *testing.T, bin string) {
	f := newFixture(t, bin)
	orphan := startOrphan(t, f)
	testkit.Must(t, orphan.cmd.Process.Kill())
	reapOrphan(t, orphan)
	if _, err := os.Stat(f.cfg.MountPoint); !errors.Is(err, syscall.ENOTCONN) {
		t.Fatalf("stat of the killed client's mount: %v, want ENOTCONN", err)
	}
	r := f.start()
	r.waitReady()
	if !strings.Contains(f.out.String(), "detaching dead archil mount") {
		t.Errorf("log does not show the detach:\n%s", f.out)
	}
	if archilMounts(t) != 1 {
		t.Errorf("%d archil mounts, want 1 (the dead one detached)", archilMounts(t))
	}
	r.stopClean()
}

func testStaleLiveMount(t *testing.T, bin string) {
	f := newFixture(t, bin)
	f.knob("flush-delay", "600")
	orphan := startOrphan(t, f)
	testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "orphan.txt"), []byte("pending"), 0o644))
	r := f.start()
	// The flush may outlast the unit's start timeout: systemd is told.
	want := extendTimeout(f.cfg.StopTimeout + leaveGrace + killGrace + f.cfg.ReadyTimeout + startMargin)
	if n := r.waitNote("EXTEND_TIMEOUT_USEC="); n != want {
		t.Errorf("notification %q, want %q", n, want)
	}
	r.waitReady()
	reapOrphan(t, orphan)
	out := f.out.String()
	if !strings.Contains(out, "found a live archil mount") || !strings.Contains(out, "archil unmount") {
		t.Errorf("log does not show the orphan's unmount:\n%s", out)
	}
	// The orphan's pending write was flushed by `archil unmount`.
	b, err := os.ReadFile(filepath.Join(f.state, "backing", "acme_data", "orphan.txt"))
	if err != nil || string(b) != "pending" {
		t.Errorf("backing store has %q, %v", b, err)
	}
	r.stopClean()
}

// testStaleHungMount leaves a mount whose client is stopped (SIGSTOP):
// nothing answers, not even `archil unmount`. The launcher must bound it,
// abort the connection, detach the mount, and mount anew.
func testStaleHungMount(t *testing.T, bin string) {
	f := newFixture(t, bin)
	f.cfg.StopTimeout = time.Second
	orphan := startOrphan(t, f)
	freeze(t, orphan.Pid())
	r := f.start()
	r.waitReady()
	out := f.out.String()
	if !strings.Contains(out, "did not finish within 1s") || !strings.Contains(out, "aborted the FUSE connection") {
		t.Errorf("log does not show the bounded unmount and the abort:\n%s", out)
	}
	testkit.Must(t, syscall.Kill(orphan.Pid(), syscall.SIGKILL))
	reapOrphan(t, orphan)
	r.stopClean()
}

func testCycles(t *testing.T, bin string) {
	f := newFixture(t, bin)
	cycles := 50
	if testing.Short() {
		cycles = 5
	}
	fds := -1
	for i := range cycles {
		r := f.start()
		r.waitReady()
		name := "f" + strconv.Itoa(i)
		testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, name), []byte(name), 0o644))
		err := r.stop()
		if err != nil {
			t.Fatalf("cycle %d: %v\n%s", i, err, f.out)
		}
		f.assertClean(err)
		if i == 0 {
			fds = openFds(t) // after the first run: lazily opened runtime fds
		} else if n := openFds(t); n != fds {
			t.Errorf("cycle %d: %d open fds, %d after the first", i, n, fds)
		}
	}
	entries, err := os.ReadDir(filepath.Join(f.state, "backing", "acme_data"))
	testkit.Must(t, err)
	if len(entries) != cycles {
		t.Errorf("%d files in the backing store, want %d", len(entries), cycles)
	}
}
