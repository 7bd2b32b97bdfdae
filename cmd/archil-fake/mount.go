package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// mountArgs is the parsed command line of `archil-fake mount`.
type mountArgs struct {
	disk, mountPoint, region string
	noFork                   bool
	logDir                   string
	shared, readOnly, force  bool
	xattrs                   bool // served: 0.8 with --enable-xattrs; before 0.8 unless --disable-xattrs
	writebackCache           bool
	logMetrics               bool
}

func parseMountArgs(g gen, args []string) (*mountArgs, error) {
	p, err := parseArgs(mountFlags, g, args)
	if err != nil {
		return nil, err
	}
	if err := p.positional("<DISK>", "<MOUNTPOINT>"); err != nil {
		return nil, err
	}
	a := mountArgs{
		disk:           p.pos[0],
		region:         p.vals["region"],
		noFork:         p.on("no-fork"),
		logDir:         p.vals["log-dir"],
		shared:         p.on("shared"),
		readOnly:       p.on("read-only"),
		force:          p.on("force"),
		xattrs:         p.on("enable-xattrs") || g == genOld && !p.on("disable-xattrs"),
		writebackCache: p.on("writeback-cache"),
		logMetrics:     p.on("log-metrics"),
	}
	if _, ok := p.vals["region"]; !ok {
		return nil, usageErr("the following required arguments were not provided:\n  --region <REGION>")
	}
	mp, err := filepath.Abs(p.pos[1])
	if err != nil {
		return nil, fmt.Errorf("mount point %q: %w", p.pos[1], err)
	}
	a.mountPoint = mp
	return &a, nil
}

// mode names how the mount uses its disk, for logs and status.
func (a *mountArgs) mode() string {
	switch {
	case a.readOnly:
		return "read-only"
	case a.shared:
		return "shared"
	}
	return "read-write"
}

// takesDelegation reports whether the mount checks out the disk's root:
// only a mount that is neither shared nor read-only does.
func (a *mountArgs) takesDelegation() bool { return !a.shared && !a.readOnly }

// runMount checks the request, then mounts in the foreground (--no-fork)
// or through a daemon child.
func runMount(st *state, g gen, args []string) error {
	a, err := parseMountArgs(g, args)
	if err != nil {
		return err
	}
	if a.readOnly && st.knobOn(knobIgnoreReadOnly) {
		logf("warn", "--read-only ignored: mounting read-write (knob %s)", knobIgnoreReadOnly)
		a.readOnly = false
	}
	if err := checkMountPoint(a.mountPoint); err != nil {
		return err
	}
	if !isDaemonChild() {
		if err := st.authenticate(); err != nil {
			return err
		}
		if st.knobOn(knobFailMount) {
			return errors.New("mount failed: simulated failure")
		}
		fail, err := st.failFirst()
		if err != nil {
			return err
		}
		if fail {
			return errors.New("mount failed: simulated failure")
		}
		if !a.noFork {
			return daemonize(st, a)
		}
	}
	return serve(st, a)
}

// checkMountPoint requires an existing, empty directory.
func checkMountPoint(mp string) error {
	fi, err := os.Stat(mp)
	if errors.Is(err, syscall.ENOTCONN) {
		return fmt.Errorf("mount point %s: %w (dead FUSE mount)", mp, syscall.ENOTCONN)
	}
	if err != nil {
		return fmt.Errorf("mount point: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("mount point %s is not a directory", mp)
	}
	entries, err := os.ReadDir(mp)
	if err != nil {
		return fmt.Errorf("mount point: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("mount point %s is not empty", mp)
	}
	return nil
}

// seconds reads a duration knob, logging and ignoring a bad value.
func (s *state) seconds(name string) (time.Duration, bool) {
	d, ok, err := s.knobSeconds(name)
	if err != nil {
		logf("warn", "%v (ignored)", err)
	}
	return d, ok
}

// fsName is the mount source shown in mountinfo.
func (a *mountArgs) fsName() string {
	return a.disk + "[" + a.region + "]"
}
