package launcher

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/logline"
	"github.com/archil-nix/archil-launch/internal/testkit"
	"github.com/archil-nix/archil-launch/launcher/config"
)

// TestDeath covers what must not cost a write when the launcher's own
// process, or its output, goes wrong.
func TestDeath(t *testing.T) {
	dir := t.TempDir()
	bin := buildFake(t, dir)
	launch := buildLauncher(t, dir)

	// Finding 3: a closed stdout and stderr (journald restarted, a pipe
	// reader gone). The launcher logs on, writes fail, it is not killed
	// by SIGPIPE, and its stop still runs `archil unmount`.
	t.Run("SIGPIPE", func(t *testing.T) {
		f := newFixture(t, bin)
		f.knob("flush-delay", "600")
		r, w, err := os.Pipe()
		testkit.Must(t, err)
		cmd := f.startBinaryTo(launch, w)
		w.Close()
		waitNoteOnly(t, f, "READY=1")
		testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "pending"), []byte("kept"), 0o644))
		r.Close() // every later write of the launcher's gets EPIPE
		testkit.Must(t, cmd.Process.Signal(syscall.SIGTERM))
		err = f.waitBinary(cmd)
		if err != nil {
			t.Fatalf("archil-launch with its output closed: %v, want exit 0 (141 or a signal is SIGPIPE)", err)
		}
		assertUnmountCalled(t, f)
		assertBacking(t, f, "pending", "kept")
	})

	// Before the handlers are installed too (they come once the client
	// runs): a launcher that fails its preflight with its output closed
	// exits 1, not by SIGPIPE.
	t.Run("SIGPIPEBeforeHandlers", func(t *testing.T) {
		f := newFixture(t, bin)
		testkit.Must(t, os.MkdirAll(f.cfg.MountPoint, 0o755))
		testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "keep"), nil, 0o644)) // not empty: refused
		r, w, err := os.Pipe()
		testkit.Must(t, err)
		r.Close()
		cmd := f.startBinaryTo(launch, w)
		w.Close()
		var exit *exec.ExitError
		if err := f.waitBinary(cmd); !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("archil-launch refusing with its output closed: %v, want exit status 1", err)
		}
	})

	// Finding 10: with a hard core limit of 0 the launcher cannot set 1,
	// and says so loudly; it still runs.
	t.Run("CoreLimitZero", func(t *testing.T) {
		f := newFixture(t, bin)
		f.wrapper = []string{"prlimit", "--core=0:0"}
		cmd := f.startBinary(launch)
		waitNoteOnly(t, f, "READY=1")
		testkit.Must(t, cmd.Process.Signal(syscall.SIGTERM))
		testkit.Must(t, f.waitBinary(cmd))
		if !strings.Contains(f.out.String(), "CORE DUMPS NOT FULLY DISABLED") {
			t.Errorf("no loud warning about the core limit:\n%s", f.out)
		}
	})

	// The launcher exempts itself from the OOM killer when it may
	// (CAP_SYS_RESOURCE), and the client keeps the score it would have
	// had; where it may not, it says so.
	t.Run("OOMScore", func(t *testing.T) {
		f := newFixture(t, bin)
		cmd := f.startBinary(launch)
		waitNoteOnly(t, f, "READY=1")
		own, client := oomScore(t, cmd.Process.Pid), oomScore(t, f.mountPid())
		mine := oomScore(t, os.Getpid())
		switch {
		case own == -1000 && client != mine:
			t.Errorf("client oom_score_adj %d, want the launcher's own before it exempted itself (%d)", client, mine)
		case own != -1000 && !strings.Contains(f.out.String(), "the OOM killer may take the launcher"):
			t.Errorf("oom_score_adj %d and no warning:\n%s", own, f.out)
		}
		t.Logf("launcher oom_score_adj %d, client %d (the tests' own %d)", own, client, mine)
		testkit.Must(t, cmd.Process.Signal(syscall.SIGTERM))
		testkit.Must(t, f.waitBinary(cmd))
	})

	// The launcher SIGKILLed with a write pending: its client lives on
	// (no parent-death signal), and the stop hook flushes the mount.
	t.Run("StopHookAfterSIGKILL", func(t *testing.T) {
		f := newFixture(t, bin)
		f.knob("flush-delay", "600")
		cmd := f.startBinary(launch)
		waitNoteOnly(t, f, "READY=1")
		client := f.mountPid()
		testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "pending"), []byte("kept"), 0o644))
		testkit.Must(t, cmd.Process.Kill())
		_ = f.waitBinary(cmd)
		if err := syscall.Kill(client, 0); err != nil {
			t.Fatalf("the client died with its launcher: %v", err)
		}
		hook := f.runStopHook(launch)
		if err := f.waitBinary(hook); err != nil {
			t.Fatalf("stop hook: %v\n%s", err, f.out)
		}
		assertBacking(t, f, "pending", "kept")
		if !strings.Contains(f.out.String(), "archil unmount flushed the leftover mount") {
			t.Errorf("the hook did not flush:\n%s", f.out)
		}
		if n := archilMounts(t); n != 0 {
			t.Errorf("%d archil mounts left after the hook", n)
		}
		// After a clean stop the hook finds nothing and exits 0.
		hook = f.runStopHook(launch)
		testkit.Must(t, f.waitBinary(hook))
		if !strings.Contains(f.out.String(), "nothing to flush") {
			t.Errorf("second hook:\n%s", f.out)
		}
	})
}

// startBinaryTo is startBinary with the launcher's stdout and stderr on w.
func (f *fixture) startBinaryTo(launch string, w *os.File) *exec.Cmd {
	f.t.Helper()
	cmd := f.startBinaryCmd(launch)
	cmd.Stdout, cmd.Stderr = w, w
	return f.run(cmd)
}

// runStopHook runs `archil-launch --config <the fixture's config> --stop`.
func (f *fixture) runStopHook(launch string) *exec.Cmd {
	f.t.Helper()
	return f.run(f.startBinaryCmd(launch, "--stop"))
}

func assertUnmountCalled(t *testing.T, f *fixture) {
	t.Helper()
	for _, c := range f.calls() {
		if slices.Contains(c.Argv, "unmount") {
			return
		}
	}
	t.Errorf("no archil unmount call: %+v", f.calls())
}

func assertBacking(t *testing.T, f *fixture, name, want string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.state, "backing", "acme_data", name))
	if err != nil || string(b) != want {
		t.Errorf("backing store has %q, %v; want %q", b, err, want)
	}
}

func oomScore(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid))
	testkit.Must(t, err)
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	testkit.Must(t, err)
	return n
}

// A panic in any goroutine runs the stop sequence: the pending write is
// flushed by `archil unmount` before the process exits 1.
func TestPanicRunsStop(t *testing.T) {
	bin := buildFake(t, t.TempDir())
	f := newFixture(t, bin)
	f.knob("flush-delay", "600")
	exited := catchExit(t)
	r := f.start()
	r.waitReady()
	testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "pending"), []byte("kept"), 0o644))
	go func() {
		defer recoverStop()
		panic("injected")
	}()
	stoppedAfterPanic(t, f, exited)
	if !strings.Contains(f.out.String(), "panic; stopping the mount") || !strings.Contains(f.out.String(), "injected") {
		t.Errorf("the panic is not in the log:\n%s", f.out)
	}
	r.cancel()
}

// catchExit replaces the launcher's exit after a panic for the test: the
// status arrives on the channel, and the goroutine that exits stops there.
func catchExit(t *testing.T) <-chan int {
	exited := make(chan int, 1)
	old := exit
	exit = func(code int) { exited <- code; select {} }
	t.Cleanup(func() { exit = old })
	return exited
}

// stoppedAfterPanic waits for the exit after a panic and checks that it
// was 1 and came after `archil unmount` flushed the fixture's pending
// write.
func stoppedAfterPanic(t *testing.T, f *fixture, exited <-chan int) {
	t.Helper()
	select {
	case code := <-exited:
		if code != 1 {
			t.Errorf("exit %d after a panic, want 1", code)
		}
	case <-time.After(hangGuard):
		t.Fatalf("no exit after the panic\n%s", f.out)
	}
	assertUnmountCalled(t, f)
	assertBacking(t, f, "pending", "kept")
}

// panicky is a log output that panics, once armed, at the first line
// holding trigger (once): a panic on the goroutine that logs it.
type panicky struct {
	out     *testkit.Buffer
	trigger string
	armed   atomic.Bool
}

func (p *panicky) Write(b []byte) (int, error) {
	if strings.Contains(string(b), p.trigger) && p.armed.CompareAndSwap(true, false) {
		panic("injected at " + p.trigger)
	}
	return p.out.Write(b)
}

// A panic on Run's own goroutine (here while it logs the stop) stops the
// mount too, before run's own deferred clean-up lets go of it.
func TestPanicOnRunsGoroutineRunsStop(t *testing.T) {
	bin := buildFake(t, t.TempDir())
	f := newFixture(t, bin)
	f.knob("flush-delay", "600")
	exited := catchExit(t)
	out := &panicky{out: f.out, trigger: "stopping"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = run(ctx, nil, f.cfg, logline.New(out, "", slog.LevelInfo), f.result()) }()
	waitNoteOnly(t, f, "READY=1")
	testkit.Must(t, os.WriteFile(filepath.Join(f.cfg.MountPoint, "pending"), []byte("kept"), 0o644))
	out.armed.Store(true)
	cancel()
	stoppedAfterPanic(t, f, exited)
	if !strings.Contains(f.out.String(), "stopped cleanly after the panic") {
		t.Errorf("the log does not show the stop after the panic:\n%s", f.out)
	}
}

// Every goroutine the launcher starts defers recoverStop first, and so
// does Run: a panic anywhere reaches the stop sequence.
func TestEveryGoroutineRecovers(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	testkit.Must(t, err)
	n := 0
	for _, pkg := range pkgs {
		var files []*ast.File
		for _, file := range pkg.Files {
			files = append(files, file)
		}
		for _, file := range pkg.Files {
			ast.Inspect(file, func(node ast.Node) bool {
				var body *ast.BlockStmt
				switch s := node.(type) {
				case *ast.GoStmt:
					body = goBody(files, s.Call.Fun)
				case *ast.CallExpr: // context.AfterFunc(ctx, func() {...})
					if sel, ok := s.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "AfterFunc" && len(s.Args) == 2 {
						if lit, ok := s.Args[1].(*ast.FuncLit); ok {
							body = lit.Body
						}
					}
					if body == nil {
						return true
					}
				case *ast.FuncDecl:
					if s.Name.Name != "Run" {
						return true
					}
					body = s.Body
				default:
					return true
				}
				n++
				if body == nil || !defersRecoverStop(body) {
					t.Errorf("%s: goroutine or Run without `defer recoverStop()` first", fset.Position(node.Pos()))
				}
				return true
			})
		}
	}
	if n < 6 {
		t.Fatalf("found %d goroutines, fewer than the launcher starts: the test looks in the wrong place", n)
	}
}

// goBody is the body of the function a go statement starts: a literal or
// a method or function of this package (in any of its files).
func goBody(files []*ast.File, fun ast.Expr) *ast.BlockStmt {
	if lit, ok := fun.(*ast.FuncLit); ok {
		return lit.Body
	}
	name := ""
	switch f := fun.(type) {
	case *ast.Ident:
		name = f.Name
	case *ast.SelectorExpr:
		name = f.Sel.Name
	}
	for _, file := range files {
		for _, d := range file.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == name {
				return fd.Body
			}
		}
	}
	return nil
}

// defersRecoverStop: a `defer recoverStop()` among the first two
// statements (after setRunning in Run).
func defersRecoverStop(body *ast.BlockStmt) bool {
	for i, st := range body.List {
		if i > 1 {
			break
		}
		if d, ok := st.(*ast.DeferStmt); ok {
			if id, ok := d.Call.Fun.(*ast.Ident); ok && id.Name == "recoverStop" {
				return true
			}
		}
	}
	return false
}

// Finding 7: an empty allow-listed environment is an empty environment,
// never the launcher's (os/exec reads a nil Env as "inherit").
func TestEmptyEnvironmentIsEmpty(t *testing.T) {
	if env := childEnv([]string{"NOTIFY_SOCKET=/x", "CREDENTIALS_DIRECTORY=/y", "LISTEN_FDS=1", "SECRET=1"}, config.AuthToken, nil, ""); env == nil || len(env) != 0 {
		t.Fatalf("childEnv = %#v, want an empty, non-nil list", env)
	}
	out := &testkit.Buffer{}
	old := childStdout
	childStdout = out
	t.Cleanup(func() { childStdout = old })
	t.Setenv("NOTIFY_SOCKET", "/run/notify")
	for _, env := range [][]string{nil, {}} {
		p, err := startProc("/usr/bin/env", nil, env)
		testkit.Must(t, err)
		if ok, err := p.waitExit(hangGuard); !ok || err != nil {
			t.Fatalf("env did not exit: %v", err)
		}
		p.reap()
		if s := out.String(); s != "" {
			t.Fatalf("the child's environment with %#v: %q, want nothing", env, s)
		}
	}
}

// Finding 9: a FUSE ancestor that does not answer (its server stopped)
// bounds preflight and --check's look; neither hangs.
func TestHungAncestorIsBounded(t *testing.T) {
	bin := buildFake(t, t.TempDir())
	f := newFixture(t, bin)
	anc := filepath.Join(f.dir, "anc")
	p := startClientAt(t, f, anc)
	freeze(t, p.Pid())
	t.Cleanup(func() {
		_ = syscall.Kill(p.Pid(), syscall.SIGKILL)
		_ = unix.Unmount(anc, unix.MNT_DETACH)
	})
	cfg := preflightConfig(filepath.Join(anc, "sub", "mnt"))
	done := make(chan error, 1)
	go func() { done <- Preflight(cfg, logline.Discard(), nil) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no answer in time") {
			t.Errorf("preflight under a hung FUSE mount: %v, want a timeout", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("preflight hangs under a hung FUSE mount")
	}
	st := InspectMountPoint(context.Background(), cfg.MountPoint)
	if st.OK || !strings.Contains(st.Detail, "no answer in time") {
		t.Errorf("InspectMountPoint under a hung FUSE mount: %+v", st)
	}
	// A FIFO where the mount point should be fails at once, it does not
	// block an open.
	fifo := filepath.Join(f.dir, "fifo")
	testkit.Must(t, unix.Mkfifo(fifo, 0o600))
	if err := Preflight(preflightConfig(fifo), logline.Discard(), nil); err == nil || !strings.Contains(err.Error(), "it is a FIFO") {
		t.Errorf("preflight on a FIFO: %v", err)
	}
}
