package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// The control socket of a mount point's server is $STATE/ctl/<hash>.sock,
// the hash being that of the absolute mount point. Protocol: one request
// line, one answer line.
//
//	unmount [force|<lag>]  "ok <N>\n" (N files flushed, or dropped with
//	                       force), then the server exits, which closes the
//	                       connection; with <lag> seconds it answers once
//	                       flushed and unmounts that much later
//	status                 "ok <statusInfo JSON>\n"
//	metrics [reset]        "ok <metricsSnapshot JSON>\n"
//
// A failure is answered "error <message>\n".

// maxSunPath is what fits in sockaddr_un.sun_path with its final NUL.
const maxSunPath = 107

// ctlAddr returns a path for the control socket of mountPoint short enough
// for a unix socket address: the real path when it fits, else the same
// file reached through /proc/self/fd/<dir>. The returned func releases the
// directory.
func (s *state) ctlAddr(mountPoint string, create bool) (string, func(), error) {
	dir := s.path("ctl")
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", nil, fmt.Errorf("failed to create control directory: %w", err)
		}
	}
	name := ctlName(mountPoint)
	if p := filepath.Join(dir, name); len(p) <= maxSunPath {
		return p, func() {}, nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return "", nil, fmt.Errorf("failed to open control directory: %w", err)
	}
	return fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), name), func() { d.Close() }, nil
}

// ctlListener is a server's control socket.
type ctlListener struct {
	*net.UnixListener
	file string // real path of the socket
	ino  uint64 // its inode, so we never remove another server's socket
	done func()
}

// listenCtl creates the control socket of mountPoint, replacing a stale one.
func (s *state) listenCtl(mountPoint string) (*ctlListener, error) {
	addr, done, err := s.ctlAddr(mountPoint, true)
	if err != nil {
		return nil, err
	}
	file := s.path("ctl", ctlName(mountPoint))
	os.Remove(file)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		done()
		return nil, fmt.Errorf("failed to listen on control socket: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	var st syscall.Stat_t
	if err := syscall.Stat(file, &st); err != nil {
		ln.Close()
		done()
		return nil, fmt.Errorf("failed to stat control socket: %w", err)
	}
	return &ctlListener{UnixListener: ln, file: file, ino: st.Ino, done: done}, nil
}

// Close stops listening and removes the socket if it is still ours.
func (l *ctlListener) Close() error {
	err := l.UnixListener.Close()
	var st syscall.Stat_t
	if syscall.Stat(l.file, &st) == nil && st.Ino == l.ino {
		os.Remove(l.file)
	}
	l.done()
	return err
}

// dialCtl connects to the server of mountPoint.
func (s *state) dialCtl(mountPoint string) (*net.UnixConn, error) {
	addr, done, err := s.ctlAddr(mountPoint, false)
	if err != nil {
		return nil, err
	}
	defer done()
	return net.DialUnix("unix", nil, &net.UnixAddr{Name: addr, Net: "unix"})
}

// readLine reads one answer or request line.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return line[:len(line)-1], nil
}
