package launcher

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// proc is a client process (`archil mount` or `archil unmount`) in its own
// process group, watched through pidfds so its exit can wake poll(2).
//
// A FUSE server killed while one of its own threads waits on its own
// mount leaves that thread stuck in the kernel, and the process a zombie
// leader whose group never finishes exiting until the connection is
// aborted; no pidfd reports that state. So exited also reads the leader's
// state from /proc, and reap never blocks on a process that is not gone.
type proc struct {
	cmd    *exec.Cmd
	pidfd  int
	tail   *lineTail // last lines of its stderr
	out    *clientOutput
	reaped bool
}

// startProc execs path with args and env (an empty env is an empty
// environment, never the launcher's): no shell, its own process group, its
// output through a clientOutput. The client must outlive a launcher killed
// outright (no parent-death signal): the stop hook then flushes its mount
// through it, which a client killed with the launcher could not do.
func startProc(path string, args, env []string) (*proc, error) {
	out, err := newClientOutput()
	if err != nil {
		return nil, err
	}
	p := &proc{pidfd: -1, tail: out.tail, out: out}
	cmd := exec.Command(path, args...)
	// os/exec reads a nil Env as "inherit everything": never nil.
	cmd.Env = append([]string{}, env...)
	cmd.Dir = "/"
	if err := out.attach(cmd); err != nil {
		out.closeAll()
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, PidFD: &p.pidfd}
	err = cmd.Start()
	if err != nil {
		out.closeAll()
		return nil, fmt.Errorf("failed to start %s: %w", path, err)
	}
	out.started()
	p.cmd = cmd
	if p.pidfd < 0 {
		// No CLONE_PIDFD. Until it is reaped the pid cannot be reused,
		// so pidfd_open is safe.
		fd, err := unix.PidfdOpen(cmd.Process.Pid, unix.PIDFD_NONBLOCK)
		if err != nil {
			p.kill()
			return nil, fmt.Errorf("failed to open a pidfd for %s (Linux 5.3 or later needed): %w", path, err)
		}
		p.pidfd = fd
	}
	restoreOOMScore(p.Pid())
	return p, nil
}

// Pid is the process id, which is also its process group id.
func (p *proc) Pid() int { return p.cmd.Process.Pid }

// waitExit waits until the process has exited or timeout passed
// (negative: no limit) and reports whether it exited. It does not reap.
func (p *proc) waitExit(timeout time.Duration) (bool, error) {
	if p.reaped {
		return true, nil
	}
	pfds := []unix.PollFd{{Fd: int32(p.pidfd), Events: unix.POLLIN}}
	if err := pollFds(pfds, timeout); err != nil {
		return false, fmt.Errorf("failed to wait for pid %d: %w", p.Pid(), err)
	}
	return pfds[0].Revents != 0, nil
}

// waitGone is waitExit without the error: whether the process is gone, so
// that reap does not block.
func (p *proc) waitGone(timeout time.Duration) bool {
	ok, err := p.waitExit(timeout)
	return ok && err == nil
}

// exited reports, without waiting, whether the process exited or at least
// its main thread did (see proc).
func (p *proc) exited() bool {
	return p.waitGone(0) || p.leaderDead()
}

// leaderDead reads the main thread's state while the pidfd says the
// process lives: a zombie or dead leader means another thread is stuck; a
// SIGKILL pending on the leader (sent, or queued by exit_group) means the
// leader itself is the stuck one. Either way the process is dying.
func (p *proc) leaderDead() bool {
	if p.reaped {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid()) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch name {
		case "State":
			if strings.HasPrefix(value, "Z") || strings.HasPrefix(value, "X") {
				return true
			}
		case "SigPnd", "ShdPnd":
			if mask, err := strconv.ParseUint(value, 16, 64); err == nil && mask&(1<<(unix.SIGKILL-1)) != 0 {
				return true
			}
		}
	}
	return false
}

// signalGroup sends sig to the process group. It is only called before the
// reap: until then the (possibly zombie) leader keeps the group id from
// being reused, so the signal cannot hit a stranger.
func (p *proc) signalGroup(sig syscall.Signal) {
	if p.reaped {
		return
	}
	if err := unix.Kill(-p.Pid(), sig); errors.Is(err, unix.ESRCH) {
		_ = unix.Kill(p.Pid(), sig)
	}
}

// reap collects a process that is gone and kills what is left of its
// group. It reports false, without blocking, if the process is not gone.
func (p *proc) reap() bool {
	if p.reaped {
		return true
	}
	if !p.waitGone(0) {
		return false
	}
	p.signalGroup(syscall.SIGKILL)
	_ = p.cmd.Wait() // the status is in cmd.ProcessState
	p.out.wait()
	p.reaped = true
	p.closeFds()
	return true
}

// terminate ends the process: SIGTERM to its group, SIGKILL after grace,
// then reap. It reports whether SIGKILL was needed; p.reaped says whether
// it is gone (a process stuck in the kernel may outlive even SIGKILL).
func (p *proc) terminate(grace time.Duration) (killed bool) {
	if p.reaped {
		return false
	}
	if !p.exited() {
		p.signalGroup(syscall.SIGTERM)
		if ok, _ := p.waitExit(grace); !ok && !p.leaderDead() {
			killed = true
		}
	}
	if killed || !p.waitGone(0) {
		// Also for a dead leader: its other threads may be alive.
		p.signalGroup(syscall.SIGKILL)
	}
	if p.waitGone(grace) {
		p.reap()
	}
	return killed
}

// kill is terminate without grace, for start-up failures.
func (p *proc) kill() {
	p.signalGroup(syscall.SIGKILL)
	_ = p.cmd.Wait()
	p.out.wait()
	p.reaped = true
	p.closeFds()
}

func (p *proc) closeFds() {
	if p.pidfd >= 0 {
		_ = unix.Close(p.pidfd)
		p.pidfd = -1
	}
}

// exitCode is what the launcher exits with after the client failed: its
// own non-zero status, or 1 when it exited 0, was killed by a signal, or
// has not been reaped.
func (p *proc) exitCode() int {
	if st := p.cmd.ProcessState; st != nil && st.ExitCode() > 0 {
		return st.ExitCode()
	}
	return 1
}

// describe says how the process ended and quotes its last stderr lines.
func (p *proc) describe() string {
	s := "has not exited"
	if st := p.cmd.ProcessState; st != nil {
		s = st.String() // "exit status 3", "signal: killed"
	} else if p.exited() {
		s = "exited, but is stuck in the kernel"
	}
	if last := oneLine(p.tail.Lines()); last != "" {
		s += "; last stderr: " + last
	}
	return s
}
