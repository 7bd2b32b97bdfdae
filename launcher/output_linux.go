package launcher

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/logsink"
)

// Where the clients' output goes: the launcher's own stdout and stderr
// (the journal), each through a logsink.Writer, which never blocks nor
// fails. Tests capture them.
var (
	childStdout io.Writer = logsink.Stdout()
	childStderr io.Writer = logsink.Stderr()
)

// pipeBytes is the size asked for each output pipe: after a launcher is
// killed nobody drains them (see clientOutput), and a client flushing for
// the stop hook must not block on a full pipe while it logs.
const pipeBytes = 1 << 20

// clientOutput is a client's stdout and stderr: two pipes the launcher
// drains into childStdout and childStderr, stderr also into a lineTail
// (quoted when the client fails). The client also inherits the read end
// of each (as descriptors 3 and 4, which it never uses): a launcher killed
// outright then leaves pipes that still have a reader, so the client's
// next log line neither kills it (SIGPIPE) nor fails while it flushes for
// the stop hook.
type clientOutput struct {
	stdoutR, stdoutW *os.File
	stderrR, stderrW *os.File
	childR           []*os.File // the client's copies of the read ends
	tail             *lineTail
	drained          sync.WaitGroup
}

// drainWait bounds how long a reaped client's output may take to drain: a
// grandchild that inherited the pipes can keep them open for good.
const drainWait = 2 * time.Second

func newClientOutput() (*clientOutput, error) {
	o := &clientOutput{tail: &lineTail{}}
	var err error
	if o.stdoutR, o.stdoutW, err = pipe(); err != nil {
		return nil, err
	}
	if o.stderrR, o.stderrW, err = pipe(); err != nil {
		o.closeAll()
		return nil, err
	}
	return o, nil
}

func pipe() (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create a pipe for the client's output: %w", err)
	}
	_, _ = unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeBytes) // best effort: 64 KiB otherwise
	return r, w, nil
}

// attach gives cmd the pipes. The read ends go to the client as copies:
// os/exec makes what it passes blocking, which for the launcher's own
// *os.File would make each read hold a thread for good instead of waiting
// in the runtime's poller. (The flag belongs to the pipe's open file,
// shared by the copies: started sets it back.)
func (o *clientOutput) attach(cmd *exec.Cmd) error {
	cmd.Stdout, cmd.Stderr = o.stdoutW, o.stderrW
	for _, r := range []*os.File{o.stdoutR, o.stderrR} {
		fd, err := unix.FcntlInt(r.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("failed to copy a pipe for the client's output: %w", err)
		}
		o.childR = append(o.childR, os.NewFile(uintptr(fd), r.Name()))
	}
	cmd.ExtraFiles = o.childR
	return nil
}

// started closes the launcher's copies of the write ends (so that a drain
// ends when the client and whatever inherited its output are gone) and
// starts draining.
func (o *clientOutput) started() {
	o.stdoutW.Close()
	o.stderrW.Close()
	for _, f := range o.childR {
		f.Close()
	}
	for _, r := range []*os.File{o.stdoutR, o.stderrR} {
		if rc, err := r.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) { _ = unix.SetNonblock(int(fd), true) })
		}
	}
	o.drained.Add(2)
	go o.drain(o.stdoutR, childStdout)
	go o.drain(o.stderrR, io.MultiWriter(o.tail, childStderr))
}

// wait waits, up to drainWait, until the output of a client that exited
// is drained: then its tail holds its last lines.
func (o *clientOutput) wait() {
	done := make(chan struct{})
	go func() {
		defer recoverStop()
		o.drained.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(drainWait):
	}
}

// closeAll is for a client that did not start.
func (o *clientOutput) closeAll() {
	for _, f := range append([]*os.File{o.stdoutR, o.stdoutW, o.stderrR, o.stderrW}, o.childR...) {
		if f != nil {
			f.Close()
		}
	}
}

// drain copies r to w until the last writer is gone. w never fails (a
// lineTail, a logsink.Writer or a test's buffer), so the copy never stops
// early and the client is never blocked by the launcher.
func (o *clientOutput) drain(r *os.File, w io.Writer) {
	defer recoverStop()
	defer o.drained.Done()
	defer r.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			_, _ = w.Write(buf[:n])
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(childStderr, "archil-launch: reading the client's output failed: %v\n", err)
			}
			return
		}
	}
}
