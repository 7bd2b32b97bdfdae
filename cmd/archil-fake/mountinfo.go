package main

import (
	"slices"

	"github.com/archil-nix/archil-launch/internal/mountinfo"
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// mountFS is go-fuse's fs.Mount, made as robust as a real client: the
// mount stands once mount(2) returned (DirectMount), so a failure of
// go-fuse's probe that follows (it opens a file in the mount) is only
// logged. The probe fails when another mount covers ours, or ours was
// detached, right after it appeared; tests do both at once. It returns
// the device of the new mount (empty if it has gone already), found as
// the mount id that was not at mp before.
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
	if err := srv.WaitMount(); err != nil {
		logf("warn", "probe of the new mount failed (covered or detached already?): %v", err)
	}
	return srv, dev, nil
}

// onTop reports whether our own mount is on top at the mount point.
// Unmounting by path reaches only the top mount: with another mount over
// ours (even another archil one), that would be someone else's.
func (srv *server) onTop() bool {
	top, err := mountinfo.CurrentTop(srv.args.mountPoint)
	return err == nil && top != nil && top.FSType == "fuse.archil" && top.Dev == srv.dev
}
