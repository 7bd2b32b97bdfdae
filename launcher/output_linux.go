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

// attach gives cmd the pipes.
func (o *clientOutput) attach(cmd *exec.Cmd) {
	cmd.Stdout, cmd.Stderr = o.stdoutW, o.stderrW
	cmd.ExtraFiles = []*os.File{o.stdoutR, o.stderrR}
}

// started closes the launcher's copies of the write ends (so that a drain
// ends when the client and whatever inherited its output are gone) and
// starts draining.
func (o *clientOutput) started() {
	o.stdoutW.Close()
	o.stderrW.Close()
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
	for _, f := range []*os.File{o.stdoutR, o.stdoutW, o.stderrR, o.stderrW} {
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
