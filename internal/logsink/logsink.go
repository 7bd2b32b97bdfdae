// Package logsink is a Writer that never blocks its caller and never
// fails: the launcher's own log and the client's output go through one to
// the journal. A write to a closed stream (journald restarted, a pipe
// reader gone) or to one that stalls must neither kill the launcher before
// its flush nor stop it draining the client's output, which would block
// the client. Bytes are queued, up to a bound, for a goroutine that writes
// them on; what does not fit, or cannot be written, is dropped and
// counted, and the count is written once the stream takes writes again.
package logsink

import (
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// queueBytes bounds what a Writer holds while its stream does not take
// writes: ample for the log lines of a stop, small for the process.
const queueBytes = 256 << 10

// Writer queues writes for w.
type Writer struct {
	w       io.Writer
	direct  func([]byte) int // a write that cannot block, tried first (bytes written); nil: none
	mu      sync.Mutex
	ready   *sync.Cond // queue not empty, or nothing in flight any more
	queue   []byte
	busy    bool // a write to w is in flight
	dropped int  // bytes dropped since the last notice
	started bool
}

// New returns a Writer for w. Its goroutine starts with the first write.
func New(w io.Writer) *Writer {
	s := &Writer{w: w}
	s.ready = sync.NewCond(&s.mu)
	return s
}

// NewFile is New for an open file, with writes that cannot block made at
// once, in the caller: to a regular file or /dev/null, to a socket with
// MSG_DONTWAIT (the journal stream under systemd), to a pipe with
// RWF_NOWAIT. No goroutine then, and no thread woken for a log line,
// which kept an idle launcher's runtime awake for seconds after its
// start. What such a write cannot take is queued.
func NewFile(f *os.File) *Writer {
	fd := int(f.Fd())
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil {
		return New(f)
	}
	s := New(rawFile{fd: fd, socket: st.Mode&syscall.S_IFMT == syscall.S_IFSOCK})
	switch {
	case st.Mode&syscall.S_IFMT == syscall.S_IFREG, st.Mode&syscall.S_IFMT == syscall.S_IFCHR && st.Rdev == devNull:
		s.direct = func(p []byte) int {
			n, _ := syscall.Write(fd, p)
			return max(n, 0)
		}
	case st.Mode&syscall.S_IFMT == syscall.S_IFSOCK:
		s.direct = func(p []byte) int {
			n, _ := syscall.SendmsgN(fd, p, nil, nil, syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL)
			return max(n, 0)
		}
	case st.Mode&syscall.S_IFMT == syscall.S_IFIFO:
		// RWF_NOWAIT: this write alone does not block, the pipe's other
		// users keep their blocking mode. A kernel without it for pipes
		// says so once, and the queue takes over.
		s.direct = func(p []byte) int {
			n, err := unix.Pwritev2(fd, [][]byte{p}, -1, unix.RWF_NOWAIT)
			if err == unix.EOPNOTSUPP || err == unix.EINVAL {
				s.direct = nil
			}
			return max(n, 0)
		}
	}
	return s
}

// rawFile writes to fd with plain system calls, all of p, waiting for room
// when the descriptor is non-blocking. Not os.File: it turns EPIPE on
// descriptors 1 and 2 into a fatal SIGPIPE unless the process catches
// SIGPIPE, which the launcher does only once its client runs.
type rawFile struct {
	fd     int
	socket bool
}

func (r rawFile) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		var m int
		var err error
		if r.socket {
			m, err = syscall.SendmsgN(r.fd, p[n:], nil, nil, syscall.MSG_NOSIGNAL)
		} else {
			m, err = syscall.Write(r.fd, p[n:])
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			_, _ = unix.Poll([]unix.PollFd{{Fd: int32(r.fd), Events: unix.POLLOUT}}, -1)
			continue
		case err != nil:
			return n, err
		}
		n += m
	}
	return n, nil
}

// devNull is /dev/null's device number (1:3).
const devNull = 1<<8 | 3

var (
	stdout = sync.OnceValue(func() *Writer { return NewFile(os.Stdout) })
	stderr = sync.OnceValue(func() *Writer { return NewFile(os.Stderr) })
)

// Stdout and Stderr are the process's own streams, one Writer each, so
// that the launcher's lines and the client's keep their order.
func Stdout() *Writer { return stdout() }
func Stderr() *Writer { return stderr() }

// Write queues p and returns len(p), nil, whatever becomes of it.
func (s *Writer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(p)
	// In order: only when nothing is queued or in flight.
	if s.direct != nil && len(s.queue) == 0 && !s.busy && s.dropped == 0 {
		if p = p[s.direct(p):]; len(p) == 0 {
			return n, nil
		}
	}
	if !s.started {
		s.started = true
		go s.run()
	}
	room := queueBytes - len(s.queue)
	if room < len(p) {
		s.dropped += len(p) - max(room, 0)
		p = p[:max(room, 0)]
	}
	s.queue = append(s.queue, p...)
	s.ready.Broadcast()
	return n, nil
}

// Flush waits up to d until what was queued has been written (or
// dropped) and reports whether it was.
func (s *Writer) Flush(d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		s.mu.Lock()
		for len(s.queue) > 0 || s.busy {
			s.ready.Wait()
		}
		s.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func (s *Writer) run() {
	s.mu.Lock()
	for {
		for len(s.queue) == 0 {
			s.ready.Wait()
		}
		chunk := s.queue
		s.queue = nil
		dropped := s.dropped
		s.dropped = 0
		s.busy = true
		s.mu.Unlock()
		if dropped > 0 {
			if _, err := fmt.Fprintf(s.w, "archil-launch: %d bytes of log output dropped (the log stream did not take them)\n", dropped); err != nil {
				// The stream still fails: this round's bytes are lost too.
				s.mu.Lock()
				s.dropped += dropped + len(chunk)
				s.mu.Unlock()
				chunk = nil
			}
		}
		if _, err := s.w.Write(chunk); err != nil {
			// Gone for good, or for now: count it, keep draining.
			s.mu.Lock()
			s.dropped += len(chunk)
			s.mu.Unlock()
		}
		s.mu.Lock()
		s.busy = false
		s.ready.Broadcast()
	}
}
