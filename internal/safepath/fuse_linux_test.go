package safepath

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/archil-nix/archil-launch/internal/mountns"
	"github.com/archil-nix/archil-launch/internal/testkit"
)

// The FUSE test mounts: in a private mount namespace only.
func TestMain(m *testing.M) { mountns.Main(m) }

// A directory on the way that a user's FUSE filesystem serves is refused,
// though its server says it is root's and 0755 (here a loopback of root's
// own directories): a user's server could answer the next lookup with a
// link anywhere. The same filesystem mounted for root passes.
func TestUserFUSEAncestorRefused(t *testing.T) {
	for _, owner := range []int{65534, 0} {
		src := t.TempDir()
		testkit.Must(t, os.Mkdir(filepath.Join(src, "sub"), 0o755))
		mp := filepath.Join(t.TempDir(), "userfs")
		testkit.Must(t, os.Mkdir(mp, 0o755))
		mountLoopback(t, src, mp, owner)
		_, err := Walk(filepath.Join(mp, "sub", "mnt"))
		switch want := fmt.Sprintf("%s is on a FUSE filesystem mounted by uid %d", mp, owner); {
		case owner != 0 && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("owner %d: %v, want an error containing %q", owner, err, want)
		case owner == 0 && err != nil:
			t.Errorf("root's own FUSE mount: %v", err)
		}
	}
}

// mountLoopback mounts a FUSE loopback of src on mp as uid owner's mount
// (the kernel's user_id), the way fusermount mounts for a user.
func mountLoopback(t *testing.T, src, mp string, owner int) {
	t.Helper()
	fd, err := unix.Open("/dev/fuse", unix.O_RDWR|unix.O_CLOEXEC, 0)
	testkit.Must(t, err)
	opts := fmt.Sprintf("fd=%d,rootmode=40000,user_id=%d,group_id=%d,allow_other", fd, owner, owner)
	testkit.Must(t, unix.Mount("loopback", mp, "fuse.loopback", unix.MS_NOSUID|unix.MS_NODEV, opts))
	root, err := fs.NewLoopbackRoot(src)
	testkit.Must(t, err)
	srv, err := fuse.NewServer(fs.NewNodeFS(root, &fs.Options{}), fmt.Sprintf("/dev/fd/%d", fd), &fuse.MountOptions{})
	testkit.Must(t, err)
	go srv.Serve()
	testkit.Must(t, srv.WaitMount())
	t.Cleanup(func() { _ = unix.Unmount(mp, unix.MNT_DETACH) })
}
