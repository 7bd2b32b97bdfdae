package probe

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// killGrace is how long a killed probe may take to die before Run
	// stops waiting for it: a process SIGKILL does not end at once is
	// stuck in the kernel, and would hold the caller as long as it is.
	killGrace = 250 * time.Millisecond
	// pipeGrace bounds the wait for the end of the output once the group
	// is dead: a process that left it (setsid) may keep the pipe open.
	pipeGrace = 100 * time.Millisecond
)

// Run runs c until it exits or ctx is done, then kills whatever is left of
// its process group and reaps it. It never waits longer than ctx allows
// plus killGrace and pipeGrace.
func Run(ctx context.Context, c Command) Result {
	start := time.Now()
	out := &capped{max: MaxOutput}
	cmd := exec.Command(c.Path, c.Args...)
	// os/exec reads a nil Env as "inherit everything": never nil.
	cmd.Env = append([]string{}, c.Env...)
	cmd.Dir = "/"
	// cmd.Stdin stays nil, which os/exec opens as /dev/null: a probe that
	// reads its input meets EOF instead of waiting on the caller's terminal.
	cmd.Stdout, cmd.Stderr = out, out // one pipe: the order of the lines kept
	cmd.WaitDelay = pipeGrace
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return Result{State: Failed, Err: fmt.Errorf("failed to start %s: %w", c.Path, err), Took: time.Since(start)}
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- waitExit(pid) }()

	r := Result{State: OK}
	var err error
	select {
	case err = <-exited:
	case <-ctx.Done():
		r.State = TimedOut
		killGroup(pid)
		select {
		case err = <-exited:
		case <-time.After(killGrace):
			r.Stuck = true
		}
	}
	// Also after an exit in time: the probe may have left a child behind.
	// The leader is not reaped yet (a zombie at worst), so the group id is
	// still its own and the signal can reach no stranger.
	killGroup(pid)
	switch {
	case r.Stuck:
		go func() {
			<-exited
			_ = cmd.Wait()
		}()
	case err != nil:
		// Not known to be gone; killed, it is reaped once it is.
		go func() { _ = cmd.Wait() }()
		r.State, r.Err = Failed, err
	default:
		// A pipe held past pipeGrace gives exec.ErrWaitDelay; the status
		// is in ProcessState either way.
		_ = cmd.Wait()
		r.Exit = cmd.ProcessState.String()
		if r.State == OK && !cmd.ProcessState.Success() {
			r.State = Failed
		}
	}
	r.Output, r.Truncated = out.snapshot()
	r.Took = time.Since(start)
	return r
}

// waitExit waits until the process has exited, without reaping it.
func waitExit(pid int) error {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			if err != nil {
				return fmt.Errorf("failed to wait for pid %d: %w", pid, err)
			}
			return nil
		}
	}
}

// killGroup SIGKILLs the process group led by pid, and pid itself, which
// may have moved to another group.
func killGroup(pid int) {
	_ = unix.Kill(-pid, unix.SIGKILL)
	_ = unix.Kill(pid, unix.SIGKILL)
}
