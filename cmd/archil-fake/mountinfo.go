package main

import (
	"slices"
	"syscall"
	"time"

	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// mountFS is go-fuse's fs.Mount without its closing probe, which opens a
// file in the new mount (WaitMount's "poll hack"). The double never opens
// a file in its own mount, which is all that hack guards against, and the
// probe is harmful here: a test that covers or detaches the mount as soon
// as it shows makes it fail, and a server that exits (is killed) while
// holding that file open hangs for good in the kernel, flushing it to
// itself. With DirectMount the mount stands once NewServer returns;
// requests wait in the kernel until Serve answers INIT. It returns the
// device of the new mount (empty if it has gone already), found as the
// mount id that was not at mp before.
func mountFS(mp string, root fs.InodeEmbedder, opts *fs.Options) (*fuse.Server, string, error) {
	before, err := mountinfo.CurrentStack(mp)
	if err != nil {
		return nil, "", err
	}
	srv, err := fuse.NewServer(fs.NewNodeFS(root, opts), mp, &opts.MountOptions)
	if err != nil {
		return nil, "", err
	}
	dev := ""
	if after, err := mountinfo.CurrentStack(mp); err == nil {
		for _, e := range after {
			if e.FSType == "fuse.archil" && !slices.ContainsFunc(before, func(b mountinfo.Entry) bool { return b.ID == e.ID }) {
				dev = e.Dev
			}
		}
	}
	go srv.Serve()
	return srv, dev, nil
}

// onTop reports whether our own mount is on top at the mount point.
// Unmounting by path reaches only the top mount: with another mount over
// ours (even another archil one), that would be someone else's.
func (srv *server) onTop() bool {
	top, err := mountinfo.CurrentTop(srv.args.mountPoint)
	return err == nil && top != nil && top.FSType == "fuse.archil" && top.Dev == srv.dev
}

// fuseOptions are the mount options of a.
func (a *mountArgs) fuseOptions() *fs.Options {
	zero := time.Duration(0)
	opts := &fs.Options{
		MountOptions: fuse.MountOptions{
			Name:        "archil",
			FsName:      a.fsName(),
			DirectMount: true,
			// Like a system mount: every user, kernel permission checks.
			AllowOther: true,
			Options:    []string{"default_permissions"},
			Debug:      logLevel == 0,
			// Off, go-fuse answers ENOSYS and the kernel tells callers
			// EOPNOTSUPP, as a client without xattrs does.
			DisableXAttrs: !a.xattrs,
		},
		EntryTimeout: &zero,
		AttrTimeout:  &zero,
	}
	if a.readOnly {
		// Read-only in the kernel: writes fail with EROFS before they
		// reach us. "ro" is for the fusermount fallback.
		opts.DirectMountFlags = syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_RDONLY
		opts.Options = append(opts.Options, "ro")
	}
	return opts
}
