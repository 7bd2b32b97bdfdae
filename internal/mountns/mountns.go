// Package mountns runs a test binary inside a private mount namespace, so
// that no mount or unmount a test makes can reach the host's mount table.
//
// Tests that mount call Main from TestMain. The first run re-executes the
// test binary with CLONE_NEWNS; Go's runtime then marks every mount in the
// new namespace private (MS_REC|MS_PRIVATE) before the child runs, so mounts
// made by the tests, and by any process they start, stay inside it.
package mountns

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// marker is set in the re-executed binary's environment to the mount
// namespace it was started from, which it must not be in.
const marker = "ARCHIL_TEST_PRIVATE_MOUNTNS"

// Main runs m inside a private mount namespace and exits with its status.
func Main(m *testing.M, opts ...Option) { os.Exit(Run(m, opts...)) }

// Option prepares the private namespace before the tests run.
type Option func() error

// TmpfsOn mounts an empty tmpfs on dir inside the namespace: tests of a
// program that writes under a system directory (the launcher's locks in
// /run) then leave the host's untouched.
func TmpfsOn(dir string) Option {
	return func() error {
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=0755"); err != nil {
			return fmt.Errorf("failed to mount a tmpfs on %s: %w", dir, err)
		}
		return nil
	}
}

// Run runs m inside a private mount namespace and returns its status. It
// fails loudly (status 1) when the namespace cannot be made: mount tests
// must never fall back to running on the host.
func Run(m interface{ Run() int }, opts ...Option) int {
	if outer := os.Getenv(marker); outer != "" {
		if err := checkPrivate(outer); err != nil {
			fmt.Fprintf(os.Stderr, "mountns: %v\n", err)
			return 1
		}
		for _, opt := range opts {
			if err := opt(); err != nil {
				fmt.Fprintf(os.Stderr, "mountns: %v\n", err)
				return 1
			}
		}
		return m.Run()
	}
	outer, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		fmt.Fprintf(os.Stderr, "mountns: failed to read own mount namespace: %v\n", err)
		return 1
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), marker+"="+outer)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		fmt.Fprintf(os.Stderr, "mountns: cannot start the tests in a private mount namespace (root and CLONE_NEWNS needed): %v\n", err)
		return 1
	}
}

// checkPrivate verifies that this process is not in the namespace outer
// it was started from and that "/" propagates to no peer group. Processes
// the tests start (fuzz workers, commands) inherit both.
func checkPrivate(outer string) error {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return fmt.Errorf("failed to read own mount namespace: %w", err)
	}
	if self == outer {
		return errors.New("still in the mount namespace the tests were started from")
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("failed to read mountinfo: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 7 && fields[4] == "/" {
			for _, opt := range fields[6:] {
				if opt == "-" {
					break
				}
				if strings.HasPrefix(opt, "shared:") {
					return errors.New("/ is still a shared mount")
				}
			}
		}
	}
	return sc.Err()
}
