package launcher

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"log/slog"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/broker"
	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/archil-nix/archil-launch/internal/testkit"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// hangGuard bounds every wait of a test. It is a guard against a hung
// test, never a measurement: nothing asserts how fast anything happens.
const hangGuard = 60 * time.Second

// buildFake builds cmd/archil-fake into dir as "archil".
func buildFake(t testing.TB, dir string) string {
	return testkit.Build(t, "./cmd/archil-fake", filepath.Join(dir, "archil"))
}

// buildLauncher builds cmd/archil-launch into dir.
func buildLauncher(t testing.TB, dir string) string {
	return testkit.Build(t, "./cmd/archil-launch", filepath.Join(dir, "archil-launch"))
}

// startBinary runs the archil-launch binary on the fixture's mount the way
// systemd would: a JSON config, the token in a credentials directory;
// extra files are inherited as descriptors 3 and up.
func (f *fixture) startBinary(launch string, extra ...*os.File) *exec.Cmd {
	f.t.Helper()
	cmd := f.startBinaryCmd(launch)
	cmd.ExtraFiles = extra
	return f.run(cmd)
}

// run starts cmd and kills it at the test's end if it still runs.
func (f *fixture) run(cmd *exec.Cmd) *exec.Cmd {
	f.t.Helper()
	testkit.Must(f.t, cmd.Start())
	f.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// startBinaryCmd is the command startBinary runs, not started, with args
// after --config FILE.
func (f *fixture) startBinaryCmd(launch string, args ...string) *exec.Cmd {
	f.t.Helper()
	creds := filepath.Join(f.dir, "creds")
	testkit.Must(f.t, os.MkdirAll(creds, 0o700))
	testkit.Must(f.t, os.WriteFile(filepath.Join(creds, "archil-token"), []byte(f.token+"\n"), 0o400))
	js, err := json.Marshal(map[string]any{
		"name": "test", "diskName": f.cfg.DiskName, "mountPoint": f.cfg.MountPoint,
		"region": f.cfg.Region, "authMethod": "token", "archil": f.cfg.Archil,
		"passEnv": []string{"ARCHIL_FAKE_STATE"},
	})
	testkit.Must(f.t, err)
	cfg := filepath.Join(f.dir, "mount.json")
	testkit.Must(f.t, os.WriteFile(cfg, js, 0o644))
	argv := append(append(append([]string{}, f.wrapper...), launch, "--config", cfg), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "CREDENTIALS_DIRECTORY="+creds)
	cmd.Stdout, cmd.Stderr = f.out, f.out
	return cmd
}

// waitBinary waits for a launcher from startBinary to exit, bounded by
// hangGuard: one that ignores its signal fails the test with its output
// instead of hanging the suite until go test's timeout.
func (f *fixture) waitBinary(cmd *exec.Cmd) error {
	f.t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(hangGuard):
		_ = cmd.Process.Kill()
		<-done
		f.t.Fatalf("archil-launch still running after %s\n%s", hangGuard, f.out)
		return nil
	}
}

// waitNoteOnly waits for a notify message containing want.
func waitNoteOnly(t testing.TB, f *fixture, want string) {
	t.Helper()
	timeout := time.After(hangGuard)
	for {
		select {
		case n := <-f.notes:
			if strings.Contains(n, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q\n%s", want, f.out)
		}
	}
}

// fixture is one mount under a test's temp directory: the fake's state,
// a notify socket, a config and captured output.
type fixture struct {
	t      testing.TB
	dir    string
	state  string
	token  string
	cfg    *config.Config
	out    *testkit.Buffer // launcher log and client output
	notes  chan string     // messages received on NOTIFY_SOCKET
	sockFd *net.UnixConn
	// wrapper runs the launcher binary through a command, e.g. nohup.
	wrapper []string
}

func newFixture(t testing.TB, bin string) *fixture {
	t.Helper()
	dir := t.TempDir()
	// Registered after TempDir, so it runs before its removal: nothing
	// may be mounted under dir when it is deleted.
	t.Cleanup(func() { detachUnder(t, dir) })
	f := &fixture{
		t:     t,
		dir:   dir,
		state: filepath.Join(dir, "state"),
		token: fmt.Sprintf("tok-%d-SECRETVALUE-%d", os.Getpid(), time.Now().UnixNano()),
		out:   &testkit.Buffer{},
		notes: make(chan string, 1024),
	}
	testkit.Must(t, os.MkdirAll(filepath.Join(f.state, "knobs"), 0o755))
	testkit.Must(t, os.WriteFile(filepath.Join(f.state, "expect-token"), []byte(f.token), 0o600))
	t.Setenv("ARCHIL_FAKE_STATE", f.state)
	f.cfg = &config.Config{
		Name:         "test",
		DiskName:     "acme/data",
		MountPoint:   filepath.Join(dir, "mnt", "data"),
		Region:       "aws-us-east-1",
		AuthMethod:   config.AuthToken,
		Archil:       bin,
		Credential:   "archil-token",
		PassEnv:      []string{"ARCHIL_FAKE_STATE"},
		ReadyTimeout: 30 * time.Second,
		StopTimeout:  20 * time.Second,
		IMDSTimeout:  time.Second,
	}

	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	testkit.Must(t, err)
	t.Cleanup(func() { conn.Close() })
	f.sockFd = conn
	t.Setenv("NOTIFY_SOCKET", sock)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(f.notes)
				return
			}
			f.notes <- string(buf[:n])
		}
	}()

	oldOut, oldErr := childStdout, childStderr
	childStdout, childStderr = f.out, f.out
	t.Cleanup(func() { childStdout, childStderr = oldOut, oldErr })
	return f
}

// knob sets one of the fake's fault knobs.
func (f *fixture) knob(name, value string) {
	testkit.Must(f.t, os.WriteFile(filepath.Join(f.state, "knobs", name), []byte(value), 0o644))
}

func (f *fixture) logger() *logline.Logger {
	return logline.New(f.out, "", slog.LevelDebug)
}

// running is a launcher run in a goroutine.
type running struct {
	f      *fixture
	cancel context.CancelFunc
	done   chan error
}

// drop detaches the mount while its client keeps serving it: a mount that
// vanishes from the mount point while in use. The open directory keeps
// the detached mount, and with it the client's FUSE connection, alive, so
// the client does not see the drop and exit on its own.
func (f *fixture) drop() {
	f.t.Helper()
	dir, err := os.Open(f.cfg.MountPoint)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { dir.Close() })
	if err := unix.Unmount(f.cfg.MountPoint, unix.MNT_DETACH); err != nil {
		f.t.Fatal(err)
	}
}

// start runs the launcher as Run does after the credential was resolved.
func (f *fixture) start() *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{f: f, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- run(ctx, nil, f.cfg, f.logger(), f.result()) }()
	f.t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(hangGuard):
		}
	})
	return r
}

// result is the resolved credential run gets: the fixture's token.
func (f *fixture) result() *broker.Result {
	return &broker.Result{Method: config.AuthToken, Token: broker.NewSecret([]byte(f.token)), Source: "test", Location: "fixture"}
}

// expectNote checks that the next notify message, within 5 s, holds want;
// for a run that has already returned.
func (f *fixture) expectNote(want string) {
	f.t.Helper()
	select {
	case n := <-f.notes:
		if !strings.Contains(n, want) {
			f.t.Errorf("notification %q, want %s", n, want)
		}
	case <-time.After(5 * time.Second):
		f.t.Errorf("no %s", want)
	}
}

// waitLogged waits until the launcher's log or the client's output holds
// want.
func (f *fixture) waitLogged(want string) {
	f.t.Helper()
	f.waitLoggedTimes(want, 1)
}

// waitLoggedTimes waits until the output holds want n times.
func (f *fixture) waitLoggedTimes(want string, n int) {
	f.t.Helper()
	deadline := time.Now().Add(hangGuard)
	for strings.Count(f.out.String(), want) < n {
		if time.Now().After(deadline) {
			f.t.Fatalf("%q not %d times in the output within %s\n%s", want, n, hangGuard, f.out)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitNote waits for a notify message containing want and returns it.
func (r *running) waitNote(want string) string {
	r.f.t.Helper()
	timeout := time.After(hangGuard)
	for {
		select {
		case n := <-r.f.notes:
			if strings.Contains(n, want) {
				return n
			}
		case err := <-r.done:
			// Whatever it sent is in the socket; give the reader a moment
			// to hand it over, then give up.
			r.done <- err
			select {
			case n := <-r.f.notes:
				if strings.Contains(n, want) {
					return n
				}
				continue
			case <-time.After(5 * time.Second):
			}
			r.f.t.Fatalf("launcher ended before %q: %v\n%s", want, err, r.f.out)
		case <-timeout:
			r.f.t.Fatalf("no %q within %s\n%s", want, hangGuard, r.f.out)
		}
	}
}

// waitReady waits for READY=1 and checks that the mount answered by then.
func (r *running) waitReady() {
	r.f.t.Helper()
	r.waitNote("READY=1")
	r.f.assertMounted()
}

// wait waits for the launcher to return.
func (r *running) wait() error {
	r.f.t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(hangGuard):
		r.f.t.Fatalf("launcher did not return within %s\n%s", hangGuard, r.f.out)
		return nil
	}
}

// stop cancels the run (SIGTERM in main) and waits for it.
func (r *running) stop() error {
	r.cancel()
	return r.wait()
}

// stopClean stops the run and checks it ended cleanly, nothing left.
func (r *running) stopClean() {
	r.f.t.Helper()
	if err := r.stop(); err != nil {
		r.f.t.Fatalf("stop: %v\n%s", err, r.f.out)
	}
	r.f.assertClean(nil)
}

// assertMounted checks that the mount point is a fuse.archil mount whose
// statfs answers from FUSE.
func (f *fixture) assertMounted() {
	f.t.Helper()
	top, err := mountinfo.CurrentTop(f.cfg.MountPoint)
	testkit.Must(f.t, err)
	if !isArchil(top) {
		f.t.Fatalf("mount point has %+v on top, want fuse.archil", top)
	}
	var st unix.Statfs_t
	testkit.Must(f.t, unix.Statfs(f.cfg.MountPoint, &st))
	if st.Type != fuseSuperMagic {
		f.t.Fatalf("statfs type %#x, want FUSE", st.Type)
	}
}

// assertClean checks that nothing of the mount is left: no archil mount
// anywhere, no child process, and no token in any output.
func (f *fixture) assertClean(err error) {
	f.t.Helper()
	if n := archilMounts(f.t); n != 0 {
		f.t.Errorf("%d fuse.archil mounts left", n)
	}
	if kids := children(f.t); len(kids) != 0 {
		f.t.Errorf("child processes left: %v", kids)
	}
	f.assertNoToken(err)
}

// assertNoToken checks the launcher's log, the client's output, the call
// log, the error and the test's own command line for the token.
func (f *fixture) assertNoToken(err error) {
	f.t.Helper()
	places := map[string]string{"output": f.out.String()}
	if err != nil {
		places["error"] = err.Error()
	}
	if b, e := os.ReadFile(filepath.Join(f.state, "calls.log")); e == nil {
		places["calls.log"] = string(b)
	}
	if b, e := os.ReadFile("/proc/self/cmdline"); e == nil {
		places["launcher cmdline"] = string(b)
	}
	for where, text := range places {
		if strings.Contains(text, f.token) {
			f.t.Errorf("token found in %s", where)
		}
	}
}

// call is a line of the fake's calls.log.
type call struct {
	PID      int      `json:"pid"`
	Argv     []string `json:"argv"`
	Env      []string `json:"env"`
	TokenLen int      `json:"tokenLen"`
}

func (f *fixture) calls() []call {
	f.t.Helper()
	file, err := os.Open(filepath.Join(f.state, "calls.log"))
	if os.IsNotExist(err) {
		return nil
	}
	testkit.Must(f.t, err)
	defer file.Close()
	var calls []call
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var c call
		testkit.Must(f.t, json.Unmarshal(sc.Bytes(), &c))
		calls = append(calls, c)
	}
	return calls
}

// mountPid is the pid of the last `archil mount` call.
func (f *fixture) mountPid() int {
	f.t.Helper()
	calls := f.calls()
	for i := len(calls) - 1; i >= 0; i-- {
		for _, a := range calls[i].Argv {
			if a == "mount" {
				return calls[i].PID
			}
		}
	}
	f.t.Fatal("no mount call in calls.log")
	return 0
}

// archilMounts counts fuse.archil mounts in this namespace.
func archilMounts(t testing.TB) int {
	t.Helper()
	data, err := os.ReadFile(mountinfo.Path)
	testkit.Must(t, err)
	return strings.Count(string(data), " - "+archilFSType+" ")
}

// children lists the processes whose parent is this process.
func children(t testing.TB) []testkit.Proc {
	t.Helper()
	self := os.Getpid()
	kids, err := testkit.Procs(func(p testkit.Proc) bool { return p.PPid == self })
	testkit.Must(t, err)
	return kids
}

// openFds counts this process's open file descriptors.
func openFds(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	testkit.Must(t, err)
	return len(entries)
}

// detachUnder lazily detaches every mount under dir, deepest first, so
// that removing dir can never reach through a mount.
func detachUnder(t testing.TB, dir string) {
	data, err := os.ReadFile(mountinfo.Path)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	var mps []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		e, err := mountinfo.ParseLine(line)
		if err == nil && strings.HasPrefix(e.MountPoint, dir+"/") {
			mps = append(mps, e.MountPoint)
		}
	}
	for i := len(mps) - 1; i >= 0; i-- {
		_ = unix.Unmount(mps[i], unix.MNT_DETACH)
	}
}
