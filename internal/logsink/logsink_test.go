package logsink

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A stream that stalls (a pipe nobody reads) does not block the writer:
// what fits is queued, the rest dropped, and once the stream drains again
// the queued bytes and a notice of the dropped ones arrive.
func TestStalledStreamNeverBlocks(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := New(w)
	line := []byte(strings.Repeat("x", 1023) + "\n")
	done := make(chan struct{})
	go func() {
		for range 4 * queueBytes / len(line) { // four queues' worth
			if n, err := s.Write(line); err != nil || n > len(line) {
				t.Errorf("Write = %d, %v", n, err)
			}
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("writes blocked on a stalled stream")
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	waitLine(t, lines, "bytes of log output dropped")
	s.Write([]byte("last\n"))
	waitLine(t, lines, "last")
}

// waitLine reads lines until one contains want.
func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l := <-lines:
			if strings.Contains(l, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no line with %q", want)
		}
	}
}

type failing struct{ calls chan struct{} }

func (f failing) Write(p []byte) (int, error) {
	f.calls <- struct{}{}
	return 0, errors.New("broken pipe")
}

// A stream that fails every write costs the writer nothing.
func TestFailingStreamIsIgnored(t *testing.T) {
	f := failing{calls: make(chan struct{}, 100)}
	s := New(f)
	for range 10 {
		if n, err := s.Write([]byte("line\n")); n != 5 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if !s.Flush(10 * time.Second) {
		t.Fatal("Flush did not return")
	}
	if len(f.calls) == 0 {
		t.Fatal("the stream was never written")
	}
}

// To a regular file and to a socket that takes the bytes, a write is made
// at once, in the caller; a socket that takes no more gets the rest
// queued, and the caller still never waits.
func TestDirectWrites(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := NewFile(f)
	s.Write([]byte("one\n"))
	if b, _ := os.ReadFile(f.Name()); string(b) != "one\n" || s.started {
		t.Fatalf("file has %q (goroutine started: %v), want the line written at once", b, s.started)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s = NewFile(w)
	s.Write([]byte("two\n"))
	buf := make([]byte, 16)
	if n, _ := r.Read(buf); string(buf[:n]) != "two\n" || s.started {
		t.Fatalf("pipe has %q (goroutine started: %v), want the line written at once", buf[:n], s.started)
	}

	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	peer := os.NewFile(uintptr(fds[1]), "peer")
	defer peer.Close()
	s = NewFile(os.NewFile(uintptr(fds[0]), "sock"))
	line := []byte(strings.Repeat("y", 1023) + "\n")
	done := make(chan struct{})
	go func() {
		for range 2 * queueBytes / len(line) { // more than the socket buffer takes
			s.Write(line)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("writes to a full socket blocked")
	}
	if !s.started {
		t.Fatal("nothing was queued once the socket was full")
	}
}
