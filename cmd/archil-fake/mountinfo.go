package main

import "github.com/archil-nix/archil-launch/internal/mountinfo"

// archilOnTop reports whether the mount on top at mountPoint is a
// fuse.archil mount. Unmounting by path reaches only the top mount: with
// another mount over ours, that would be someone else's.
func archilOnTop(mountPoint string) bool {
	top, err := mountinfo.CurrentTop(mountPoint)
	return err == nil && top != nil && top.FSType == "fuse.archil"
}
