package main

import "github.com/archil-nix/archil-launch/internal/mountinfo"

// onTop reports whether our own mount is on top at the mount point.
// Unmounting by path reaches only the top mount: with another mount over
// ours (even another archil one), that would be someone else's.
func (srv *server) onTop() bool {
	top, err := mountinfo.CurrentTop(srv.args.mountPoint)
	return err == nil && top != nil && top.FSType == "fuse.archil" && top.Dev == srv.dev
}
