package probe

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/mountns"
	"github.com/archil-nix/archil-launch/internal/testkit"
)

// The stuck-probe test mounts a FUSE filesystem: in a private mount
// namespace, under a temporary directory.
func TestMain(m *testing.M) { mountns.Main(m) }

// silentFUSE mounts at dir a FUSE filesystem whose server answers INIT,
// then takes one request and answers it never: the process that asked is
// blocked in the kernel where not even SIGKILL ends it, as a client's
// `status` is on the mount of a client that hangs. got is closed when the
// request was taken; release ends the connection, which fails the request.
func silentFUSE(t *testing.T, dir string) (got <-chan struct{}, release func()) {
	t.Helper()
	fd, err := unix.Open("/dev/fuse", unix.O_RDWR|unix.O_CLOEXEC, 0)
	testkit.Must(t, err)
	opts := fmt.Sprintf("fd=%d,rootmode=40000,user_id=0,group_id=0", fd)
	if err := unix.Mount("silent", dir, "fuse.silent", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		unix.Close(fd)
		t.Fatalf("mount fuse: %v", err)
	}
	buf := make([]byte, 1<<17)
	n, err := unix.Read(fd, buf)
	testkit.Must(t, err)
	const fuseInit = 26
	if n < 40 || binary.LittleEndian.Uint32(buf[4:]) != fuseInit {
		t.Fatalf("first request is not INIT: %x", buf[:n])
	}
	// fuse_out_header, then fuse_init_out: 7.31, max_write 4 KiB.
	reply := make([]byte, 16+64)
	binary.LittleEndian.PutUint32(reply[0:], uint32(len(reply)))
	copy(reply[8:16], buf[8:16]) // unique
	binary.LittleEndian.PutUint32(reply[16:], 7)
	binary.LittleEndian.PutUint32(reply[20:], 31)
	binary.LittleEndian.PutUint32(reply[24:], 4096) // max_readahead
	binary.LittleEndian.PutUint32(reply[36:], 4096) // max_write
	binary.LittleEndian.PutUint32(reply[40:], 1)    // time_gran
	_, err = unix.Write(fd, reply)
	testkit.Must(t, err)
	taken := make(chan struct{})
	go func() {
		_, _ = unix.Read(fd, buf)
		close(taken)
	}()
	return taken, func() {
		// No read holds fd once the request was taken: closing it aborts
		// the connection.
		unix.Close(fd)
		_ = unix.Unmount(dir, unix.MNT_DETACH)
	}
}

// A probe that SIGKILL cannot end does not hold Run past its budget and
// the kill grace: Run reports it stuck and reaps it once it can die.
func TestRunStuckInKernel(t *testing.T) {
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	testkit.Must(t, os.Mkdir(mnt, 0o755))
	taken, release := silentFUSE(t, mnt)
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	path := script(t, "exec stat "+mnt)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r := Run(ctx, Command{Path: path, Env: []string{"PATH=" + os.Getenv("PATH")}})
	t.Logf("stuck probe: %s, stuck %v, returned after %s", r.State, r.Stuck, r.Took)
	select {
	case <-taken:
	default:
		t.Fatal("the probe never reached the mount")
	}
	if r.State != TimedOut || !r.Stuck || r.Exit != "" {
		t.Fatalf("got %+v", r)
	}
	pid := readPid(t, path+".pid")
	if left, _ := testkit.NoLive(func(p testkit.Proc) bool { return p.Pid == pid }, 0); len(left) != 1 || left[0].State != "D" {
		t.Fatalf("want the probe blocked in the kernel, got %+v", left)
	}
	release()
	released = true
	assertGroupGone(t, pid)
	// Reaped, not a zombie: the pid is gone from /proc.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d was not reaped", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
