package main

import (
	"slices"
	"strings"

	"github.com/archil-nix/archil-launch/internal/fakedisk"
)

// daemon is one real FUSE file system from Debian, run in the foreground
// over a backing directory.
type daemon struct {
	stack  string // what it is built on, for the logs
	binary string
	// argv mounts backing at mp, in the foreground, with the fstype
	// fuse.archil the launcher waits for.
	argv func(backing, mp string, readOnly bool) []string
	// unmount is the helper its stack unmounts with (`<unmount> -u mp`).
	unmount string
	// pathPrefix goes first on the daemon's PATH (the subtype helper).
	pathPrefix string
}

var daemons = map[string]daemon{
	// libfuse2: mounts with mount(2) itself as root; its stack's helper is
	// fusermount (in trixie a link to fusermount3).
	"bindfs": {
		stack:  "libfuse2",
		binary: "/usr/bin/bindfs",
		argv: func(backing, mp string, ro bool) []string {
			return []string{"bindfs", "-f", "-o", opts("subtype=archil", ro), backing, mp}
		},
		unmount: "/usr/bin/fusermount",
	},
	// libfuse3: mounts with mount(2) itself as root, then updates mtab
	// through a setuid(0) child.
	"convmvfs": {
		stack:  "libfuse3",
		binary: "/usr/bin/convmvfs",
		argv: func(backing, mp string, ro bool) []string {
			return []string{"convmvfs", "-f", "-o",
				opts("srcdir="+backing+",icharset=UTF-8,ocharset=UTF-8,subtype=archil", ro), mp}
		},
		unmount: fusermount3,
	},
	// Go (bazil.org/fuse): always mounts through the helper, found on PATH
	// as fusermount, with subtype=rclone and no option to change it: the
	// subtype helper (subtype.go) sits first on its PATH.
	"rclone": {
		stack:  "Go, bazil.org/fuse",
		binary: "/usr/bin/rclone",
		argv: func(backing, mp string, ro bool) []string {
			argv := []string{"rclone", "--config", "/dev/null", "mount", backing, mp}
			if ro {
				argv = append(argv, "--read-only")
			}
			return argv
		},
		unmount:    fusermount3,
		pathPrefix: subtypeDir,
	},
}

func opts(o string, readOnly bool) string {
	if readOnly {
		return o + ",ro"
	}
	return o
}

func daemonNames() string {
	var n []string
	for k := range daemons {
		n = append(n, k)
	}
	slices.Sort(n)
	return strings.Join(n, ", ")
}

// backingDir is the disk's backing store: archil-fake's, so the tests look
// in one place whichever client served the mount.
func backingDir(disk string) string { return fakedisk.Backing(state, disk) }
