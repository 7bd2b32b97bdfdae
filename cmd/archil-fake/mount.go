package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
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
}

func parseMountArgs(args []string) (*mountArgs, error) {
	fl := flag.NewFlagSet("mount", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	var a mountArgs
	fl.StringVar(&a.region, "region", "", "")
	fl.BoolVar(&a.noFork, "no-fork", false, "")
	fl.StringVar(&a.logDir, "log-dir", "", "")
	fl.Bool("shared", false, "")
	fl.Uint("max-cache-mb", 0, "")
	fl.Uint("target-cache-mb", 0, "")
	fl.Uint("max-log-size-mb", 0, "")
	fl.Bool("disable-xattrs", false, "")
	fl.Bool("statistics", false, "")
	// 0.8 flags, accepted (the launcher sets the read-only flag itself).
	fl.Bool("read-only", false, "")
	fl.Bool("enable-xattrs", false, "")
	fl.Bool("writeback-cache", false, "")
	// Accepted like the real client; the call log shows they were passed.
	fl.String("auth-token", "", "")
	fl.Bool("force", false, "")
	fl.Bool("f", false, "")

	// Positional arguments may come before, between or after flags.
	var pos []string
	for {
		if err := fl.Parse(args); err != nil {
			return nil, usageErr("mount: %v", err)
		}
		args = fl.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != 2 {
		return nil, usageErr("mount: want <DISK> <MOUNTPOINT>, got %d arguments", len(pos))
	}
	if a.region == "" {
		return nil, usageErr("mount: --region is required")
	}
	a.disk = pos[0]
	mp, err := filepath.Abs(pos[1])
	if err != nil {
		return nil, fmt.Errorf("mount point %q: %w", pos[1], err)
	}
	a.mountPoint = mp
	return &a, nil
}

// runMount checks the request, then mounts in the foreground (--no-fork)
// or through a daemon child.
func runMount(st *state, args []string) error {
	a, err := parseMountArgs(args)
	if err != nil {
		return err
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
