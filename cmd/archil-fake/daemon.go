package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// daemonEnv marks the re-executed daemon child; readyFD is the pipe on
// which it reports "ok" or its error to the parent.
const (
	daemonEnv = "ARCHIL_FAKE_DAEMON_CHILD"
	readyFD   = 3
)

func isDaemonChild() bool { return os.Getenv(daemonEnv) == "1" }

// daemonize re-executes the command as a daemon child in a new session, with
// stdio on a log file, and returns once the child's mount is up (nil) or
// the child failed (its error).
func daemonize(st *state, a *mountArgs) error {
	logPath := st.path("daemon.log")
	if a.logDir != "" {
		if err := os.MkdirAll(a.logDir, 0o755); err != nil {
			return fmt.Errorf("failed to create log directory: %w", err)
		}
		logPath = filepath.Join(a.logDir, "archil-fake.log")
	}
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("failed to open daemon log: %w", err)
	}
	defer logFile.Close()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", os.DevNull, err)
	}
	defer devNull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("failed to create pipe: %w", err)
	}
	defer r.Close()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("failed to find own executable: %w", err)
	}
	// The child serves in the foreground because it is the daemon child
	// (daemonEnv), not because of an added --no-fork: after a `--` or as
	// the value of a flag, that would mean something else.
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, logFile, logFile
	cmd.ExtraFiles = []*os.File{w} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("failed to start daemon: %w", err)
	}
	w.Close()
	msg, _ := io.ReadAll(r)
	answer := strings.TrimSpace(string(msg))
	if answer == "ok" {
		cmd.Process.Release()
		return nil
	}
	if answer != "" {
		cmd.Wait()
		return errors.New(answer)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("daemon exited before mounting: %w (log: %s)", err, logPath)
	}
	return fmt.Errorf("daemon exited before mounting (log: %s)", logPath)
}

// signalReady tells the parent of a daemon child that the mount is up
// (err nil) or failed. Outside a daemon child it does nothing.
func signalReady(err error) {
	if !isDaemonChild() {
		return
	}
	f := os.NewFile(readyFD, "ready")
	if f == nil {
		return
	}
	if err != nil {
		fmt.Fprintf(f, "%v\n", err)
	} else {
		fmt.Fprintln(f, "ok")
	}
	f.Close()
	os.Unsetenv(daemonEnv)
}
