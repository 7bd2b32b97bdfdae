package launcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/mountinfo"
)

// pollFds waits with poll(2) until one of pfds is ready, or timeout passes
// (negative: no limit); it fills in each Revents.
func pollFds(pfds []unix.PollFd, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ms := -1
		if timeout >= 0 {
			// Round up so a short wait does not become a busy loop.
			ms = int((time.Until(deadline) + time.Millisecond - 1) / time.Millisecond)
			ms = max(ms, 0)
		}
		_, err := unix.Poll(pfds, ms)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("failed to poll: %w", err)
		}
		return nil
	}
}

// watch waits for what the launcher reacts to while the client runs: a
// change of the mount table, the client's exit, and the stop request.
type watch struct {
	mountinfo *os.File
	pidfd     int
	wake      int // eventfd, made readable when ctx is done
	stopWake  func() bool
}

// event says what woke a watch.
type event struct {
	mounts    bool // the mount table changed (or this is the first look)
	exited    bool // the client exited
	cancelled bool // ctx is done
}

// newWatch opens the mount table for poll(2). /proc/self/mountinfo reports
// POLLPRI|POLLERR once for every change after it was opened, so a change
// between opening and the first read is not lost. The caller sets pidfd
// (the client's leader pidfd) once the client runs.
func newWatch(ctx context.Context) (*watch, error) {
	// Not os.Open: it would register the file with Go's netpoller, whose
	// epoll consumes the change events before our poll(2) can see them.
	// A blocking fd wrapped by os.NewFile stays out of the netpoller.
	fd, err := unix.Open(mountinfo.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("failed to open mountinfo: %w", err)
	}
	f := os.NewFile(uintptr(fd), mountinfo.Path)
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("failed to create an eventfd: %w", err)
	}
	w := &watch{mountinfo: f, pidfd: -1, wake: wake}
	w.stopWake = context.AfterFunc(ctx, func() {
		defer recoverStop()
		_, _ = unix.Write(wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	})
	return w, nil
}

// wait blocks until something happens or timeout passes (negative: no
// limit); a zero event means the timeout.
func (w *watch) wait(timeout time.Duration) (event, error) {
	// mountinfo is always readable; only POLLPRI (and POLLERR) mean a change.
	pfds := []unix.PollFd{
		{Fd: int32(w.mountinfo.Fd()), Events: unix.POLLPRI},
		{Fd: int32(w.pidfd), Events: unix.POLLIN},
		{Fd: int32(w.wake), Events: unix.POLLIN},
	}
	if err := pollFds(pfds, timeout); err != nil {
		return event{}, err
	}
	return event{
		mounts:    pfds[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0,
		exited:    pfds[1].Revents != 0,
		cancelled: pfds[2].Revents != 0,
	}, nil
}

// top reads the mount table and returns the top mount at path.
func (w *watch) top(path string) (*mountinfo.Entry, error) {
	data, err := readMountinfo(w.mountinfo)
	if err != nil {
		return nil, err
	}
	return mountinfo.Top(data, path)
}

// stack reads the mount table and returns every mount at path, bottom
// first.
func (w *watch) stack(path string) ([]mountinfo.Entry, error) {
	data, err := readMountinfo(w.mountinfo)
	if err != nil {
		return nil, err
	}
	return mountinfo.Stack(data, path)
}

func (w *watch) close() {
	w.stopWake()
	w.mountinfo.Close()
	unix.Close(w.wake)
}
